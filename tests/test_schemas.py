"""Data contracts (notebook 12): confluent-kafka's real serializers, the mock:// registry, live topics."""
import json
import time

import pytest

pytest.importorskip("fastavro")
from confluent_kafka.schema_registry import Schema  # noqa: E402
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer  # noqa: E402
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer  # noqa: E402
from confluent_kafka.schema_registry.error import SchemaRegistryError  # noqa: E402
from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError  # noqa: E402
from fastavro.read import SchemaResolutionError  # noqa: E402

from labkit import schemas  # noqa: E402
from labkit.errors import LabError  # noqa: E402

V1 = {"type": "record", "name": "Order", "fields": [{"name": "id", "type": "int"},
                                                      {"name": "item", "type": "string"}]}
V2 = {**V1, "fields": V1["fields"] + [{"name": "qty", "type": "int", "default": 1}]}  # compatible
V3 = {**V1, "fields": V1["fields"] + [{"name": "qty", "type": "int"}]}  # no default: incompatible


def _consume_raw(lab, topic, n):
    c = lab.consumer(f"schemas-{topic}-{time.monotonic_ns()}", auto_offset_reset="earliest")
    try:
        c.subscribe([topic])
        got, deadline = [], time.monotonic() + 20
        while len(got) < n and time.monotonic() < deadline:
            msg = c.poll(0.5)
            if msg is not None and not msg.error():
                got.append(msg.value())
        return got
    finally:
        c.close()


def test_avro_records_round_trip_with_wire_header(lab):
    topic = lab.fresh_topic("schemas-orders", partitions=1)
    sr = schemas.registry()
    ctx = SerializationContext(topic, MessageField.VALUE)
    ser = AvroSerializer(sr, json.dumps(V1))
    with lab.producer() as p:
        for i in range(3):
            p.produce(topic, ser({"id": i, "item": f"tea-{i}"}, ctx))
        assert p.flush(15) == 0
    raw = _consume_raw(lab, topic, 3)
    schema_id = sr.get_latest_version(f"{topic}-value").schema_id
    assert [schemas.wire_header(r) for r in raw] == [(0, schema_id)] * 3
    assert raw[0][:5] == b"\x00" + schema_id.to_bytes(4, "big")
    de = AvroDeserializer(sr)
    assert [de(r, ctx) for r in raw] == [{"id": i, "item": f"tea-{i}"} for i in range(3)]
    assert sr.get_subjects() == [f"{topic}-value"]


def test_evolution_verdicts_and_what_the_client_says(lab):
    sr = schemas.registry()
    ctx = SerializationContext("schemas-evolve", MessageField.VALUE)
    old = AvroSerializer(sr, json.dumps(V1))({"id": 1, "item": "tea"}, ctx)
    assert schemas.avro_compatibility(V2, V1) == (True, [])
    ok, why = schemas.avro_compatibility(V3, V1)
    assert not ok and why == ["qty"]
    # compatible: a consumer on V2 reads V1's records, the new field takes its default
    assert AvroDeserializer(sr, json.dumps(V2))(old, ctx) == {"id": 1, "item": "tea", "qty": 1}
    # incompatible: the consumer on V3 cannot read them
    with pytest.raises(SchemaResolutionError, match="No default value for field qty"):
        AvroDeserializer(sr, json.dumps(V3))(old, ctx)
    # the mock registers V3 anyway (a real registry answers 409) and cannot test compatibility
    subject = "schemas-evolve-value"
    sr.register_schema(subject, Schema(json.dumps(V2), "AVRO"))
    sr.register_schema(subject, Schema(json.dumps(V3), "AVRO"))
    assert [v for v, _ in schemas.subject_versions(sr, subject)] == [1, 2, 3]
    with pytest.raises(Exception, match="mock://"):
        sr.test_compatibility(subject, Schema(json.dumps(V3), "AVRO"))


def test_json_schema_validates_before_sending(lab):
    sr = schemas.registry()
    payment = json.dumps({"$schema": "http://json-schema.org/draft-07/schema#", "title": "Payment",
                          "type": "object", "properties": {"id": {"type": "integer"}, "amount": {"type": "number"}},
                          "required": ["id", "amount"], "additionalProperties": False})
    ctx = SerializationContext("schemas-payments", MessageField.VALUE)
    ser = JSONSerializer(payment, sr)
    raw = ser({"id": 7, "amount": 2.5}, ctx)
    assert schemas.wire_header(raw)[0] == 0 and raw[5:] == b'{"id":7,"amount":2.5}'
    with pytest.raises(SerializationError, match="'amount' is a required property"):
        ser({"id": 8}, ctx)
    assert JSONDeserializer(payment, schema_registry_client=sr)(raw, ctx) == {"id": 7, "amount": 2.5}


def test_bad_input():
    with pytest.raises(LabError, match="magic byte"):
        schemas.wire_header(b"hello world")
    with pytest.raises(LabError, match="too short"):
        schemas.wire_header(b"\x00\x01")
    with pytest.raises(LabError, match="valid Avro"):
        schemas.avro_compatibility({"type": "record"}, V1)
    with pytest.raises(SchemaRegistryError):
        schemas.registry().get_latest_version("no-such-subject")
