"""Data contracts with confluent-kafka's own Schema Registry serializers (notebook 12).

The serializers are confluent-kafka's (``AvroSerializer``, ``JSONSerializer``, ...); the registry
here is its in-process ``mock://`` client, because no Schema Registry server runs in this lab. A
real registry is a server (Confluent Schema Registry, Apicurio, Karapace): the same code points
at it with ``registry("http://host:8081")``.

What the mock does and does not do (checked in tests/test_schemas.py, confluent-kafka 2.16):

- it hands out schema ids and versions per subject (``orders-value``: TopicNameStrategy), so the
  bytes on the wire are the real Confluent wire format: magic byte 0, a 4-byte big-endian schema
  id, then the Avro or JSON body (``wire_header``);
- it does **not** check compatibility: it registers an incompatible schema like any other, and
  ``test_compatibility`` makes an HTTP call that fails (``UnsupportedProtocol 'mock://'``). A real
  registry refuses an incompatible schema with HTTP 409. ``avro_compatibility`` asks Apache Avro's
  own reader/writer checker (``avro.compatibility``), the rule a registry applies for BACKWARD.
"""
from __future__ import annotations

import json
import struct

from .errors import LabError

MAGIC = 0


def registry(url: str = "mock://lab"):
    """A Schema Registry client: the in-memory mock for ``mock://...``, a real one for ``http(s)://``.

    ``SchemaRegistryClient({"url": "mock://..."})`` (the plain constructor) would build the HTTP
    client and fail with UnsupportedProtocol; ``new_client`` picks the mock. Producer and consumer
    in one kernel must share the one mock object: its store lives in it.
    """
    try:
        from confluent_kafka.schema_registry import SchemaRegistryClient
    except ImportError as exc:  # the schemaregistry/avro/json extras are missing
        raise LabError(f"confluent-kafka's Schema Registry support is not installed ({exc}).",
                       hint='pip install "confluent-kafka[avro,json,schemaregistry]" (pyproject.toml lists it).') \
            from None
    return SchemaRegistryClient.new_client({"url": url})


def wire_header(raw: bytes) -> tuple[int, int]:
    """(magic byte, schema id) of a record serialized with a Schema Registry serializer."""
    if not isinstance(raw, (bytes, bytearray)) or len(raw) < 5:
        raise LabError(f"{raw!r:.40} is too short to carry a schema id (5 bytes: magic + id).",
                       hint="pass a record's raw value, as msg.value() returns it.")
    magic, schema_id = struct.unpack(">bI", bytes(raw[:5]))
    if magic != MAGIC:
        raise LabError(f"The first byte is {magic}, not the magic byte 0: this value was not written by a "
                       "Schema Registry serializer.", hint="was it produced as plain bytes or text?")
    return magic, schema_id


def avro_compatibility(reader: str | dict, writer: str | dict) -> tuple[bool, list[str]]:
    """Can a consumer using ``reader`` read records written with ``writer``? (Apache Avro's rules)

    BACKWARD compatibility (a registry's default) asks this with the new schema as reader and the
    latest registered one as writer. Returns (compatible, the incompatible fields or reasons).
    """
    import avro.schema
    from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

    def parse(schema):
        try:
            return avro.schema.parse(schema if isinstance(schema, str) else json.dumps(schema))
        except Exception as exc:  # avro raises several parse errors
            raise LabError(f"Not a valid Avro schema: {exc}", hint="see the Avro specification's "
                           "'Schema Declaration' section.") from None
    result = ReaderWriterCompatibilityChecker().get_compatibility(parse(reader), parse(writer))
    ok = result.compatibility is SchemaCompatibilityType.compatible
    return ok, sorted(str(m) for m in result.messages)


def subject_versions(sr, subject: str) -> list[tuple[int, int]]:
    """(version, schema id) of every schema registered under ``subject``, oldest first."""
    return [(v, sr.get_version(subject, v).schema_id) for v in sorted(sr.get_versions(subject))]
