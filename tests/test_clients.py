"""Clients: the real confluent-kafka classes with lab defaults, and readable failures."""
import socket
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from labkit import clients
from labkit.errors import ClusterDown, LabError


def test_clients_are_confluent_kafka_classes(lab):
    assert isinstance(lab.admin(), AdminClient)
    with lab.producer() as p:
        assert isinstance(p, Producer)
    with lab.consumer("test-types") as c:
        assert isinstance(c, Consumer)


def test_keyword_settings_map_to_kafka_names():
    conf = clients.merge("producer", "127.0.0.1:1", {"acks": "all"},
                         {"linger_ms": 5, "enable_idempotence": True, "on_delivery": print})
    assert conf["linger.ms"] == 5 and conf["enable.idempotence"] is True
    assert conf["on_delivery"] is print and conf["acks"] == "all"
    assert conf["message.timeout.ms"] == 30000  # a lab timeout, not librdkafka's 5 minutes


def test_round_trip(lab):
    topic = lab.fresh_topic("test-clients", partitions=3)
    acked = []
    with lab.producer(acks="all", linger_ms=5) as p:
        for i in range(30):
            p.produce(topic, key=f"k{i % 5}", value=f"v{i}",
                      on_delivery=lambda err, msg: acked.append(err is None))
        assert p.flush(30) == 0
    assert acked == [True] * 30
    got = []
    with lab.consumer("test-round-trip", auto_offset_reset="earliest") as c:
        c.subscribe([topic])
        for _ in range(60):
            msg = c.poll(0.5)
            if msg is not None and not msg.error():
                got.append(msg.value().decode())
            if len(got) == 30:
                break
    assert sorted(got) == sorted(f"v{i}" for i in range(30))


def test_fresh_topic_is_empty_on_rerun(lab):
    topic = lab.fresh_topic("test-fresh", partitions=2)
    with lab.producer() as p:
        p.produce(topic, b"old", partition=0)
        p.flush(30)
    lab.fresh_topic("test-fresh", partitions=2)
    with lab.consumer("test-fresh") as c:
        from confluent_kafka import TopicPartition
        assert c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10) == (0, 0)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_cluster_is_a_lab_error_at_once():
    bootstrap = f"127.0.0.1:{_free_port()}"
    t0 = time.monotonic()
    for make in (lambda: clients.producer(bootstrap), lambda: clients.admin(bootstrap),
                 lambda: clients.consumer(bootstrap, "g")):
        with pytest.raises(ClusterDown) as err:
            make()
        assert "labkit up" in err.value.hint
    assert time.monotonic() - t0 < 5


def test_admin_errors_carry_hints(lab):
    admin = lab.admin()
    with pytest.raises(LabError) as err:
        clients.result(admin.create_topics([NewTopic("test-rf-too-high", 1, 5)])["test-rf-too-high"],
                       "Creating topic")
    assert "INVALID_REPLICATION_FACTOR" in err.value.message
    assert "live brokers" in err.value.hint


def test_quiet_admin_closes_what_it_opens():
    with clients.quiet_admin(f"127.0.0.1:{_free_port()}") as admin:
        assert isinstance(admin, AdminClient)
    with pytest.raises(RuntimeError, match="closed"):
        admin.list_topics(timeout=1)


def test_an_unanswered_admin_future_is_a_lab_error():
    """Admin futures raise concurrent.futures.TimeoutError: a distinct class before Python 3.11."""
    import concurrent.futures
    never = concurrent.futures.Future()
    t0 = time.monotonic()
    with pytest.raises(LabError) as err:
        clients.result(never, "Describing nothing", timeout=0.2)
    assert "got no answer" in err.value.message and err.value.hint
    assert time.monotonic() - t0 < 5


def test_a_kip848_consumer_leaves_session_settings_to_the_broker(lab):
    """group.protocol=consumer (notebook 05): librdkafka refuses session/heartbeat settings."""
    from labkit import clients
    c = lab.consumer("kip848-defaults", group_protocol="consumer")  # raised before: a refused setting
    c.close()
    conf = clients.merge("consumer", lab.bootstrap_servers, {"group.protocol": "consumer"}, {})
    assert "session.timeout.ms" not in conf
    assert clients.merge("consumer", lab.bootstrap_servers, {}, {})["session.timeout.ms"] == 10000


def test_a_moving_coordinator_is_transient_and_a_refusal_is_not():
    """Read loops (notebooks 08 and 09) carry on past what librdkafka retries itself, never past a refusal."""
    assert clients.transient(KafkaError(KafkaError.NOT_COORDINATOR))  # seen in CI, notebook 09
    assert clients.transient(KafkaError(KafkaError.COORDINATOR_LOAD_IN_PROGRESS))
    assert not clients.transient(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED))
    assert not clients.transient(KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART))
