"""The exercise checks against the live cluster: right answers pass, each typical wrong answer
fails with a verdict that names the mistake, and no check ever raises."""
import time

import pytest
from confluent_kafka import TopicPartition

from labkit import LabError

from labkit.lessons import checks as exercises


def verdict(capsys) -> str:
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1, f"a check prints exactly one line, got {lines}"
    return lines[0]


def produce(lab, topic, records, **settings):
    p = lab.producer(**settings)
    for key, value in records:
        p.produce(topic, key=None if key is None else key.encode(),
                  value=None if value is None else value.encode())
    assert p.flush(15) == 0


def settle(consumers, partitions, timeout=45):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for c in consumers:
            c.poll(0.1)
        owned = [len(c.assignment()) for c in consumers]
        if sum(owned) == partitions and sum(n > 0 for n in owned) == min(len(consumers), partitions):
            return owned
    raise AssertionError(f"group did not settle: {owned}")


def test_read_all_returns_every_record_in_offset_order(lab):
    topic = lab.fresh_topic("ex-read-all", partitions=2)
    produce(lab, topic, [(f"k{i}", str(i)) for i in range(20)])
    records = exercises.read_all(lab, topic)
    assert len(records) == 20
    for part in (0, 1):
        offsets = [r["offset"] for r in records if r["partition"] == part]
        assert offsets == list(range(len(offsets)))


def test_first_message(lab, capsys):
    topic = lab.fresh_topic("ex-first", partitions=1)
    assert exercises.check_first_message(lab, topic, "hi") is False
    assert "holds no records yet" in verdict(capsys)
    produce(lab, topic, [(None, "hello")])
    assert exercises.check_first_message(lab, topic, "hi") is False
    assert "none with the value 'hi'" in verdict(capsys)
    produce(lab, topic, [(None, "hi")])
    assert exercises.check_first_message(lab, topic, "hi") is True
    assert verdict(capsys).startswith("✔ correct")
    assert exercises.check_first_message(lab, "ex-no-such-topic", "hi") is False
    assert "there is no topic 'ex-no-such-topic'" in verdict(capsys)


def test_check_topic(lab, capsys):
    topic = lab.fresh_topic("ex-topic", partitions=6, replication_factor=2,
                            config={"retention.ms": 86400000})
    assert exercises.check_topic(lab, topic, 6, 2, {"retention.ms": "86400000"}) is True
    assert verdict(capsys).startswith("✔ correct")
    assert exercises.check_topic(lab, topic, 3, 2) is False
    assert "has 6 partition(s); the exercise asks for 3" in verdict(capsys)
    assert exercises.check_topic(lab, topic, 6, 3) is False
    assert "replication factor [2]" in verdict(capsys)
    assert exercises.check_topic(lab, topic, 6, 2, {"retention.ms": "1000"}) is False
    assert "retention.ms=86400000; the exercise asks for 1000" in verdict(capsys)
    assert exercises.check_topic(lab, topic, 6, 2, {"retention.hours": "24"}) is False
    assert "not a topic config" in verdict(capsys)


def test_in_order(lab, capsys):
    story = ["login", "view", "buy", "logout"]
    keyed = lab.fresh_topic("ex-order-keyed", partitions=3)
    produce(lab, keyed, [("ada", s) for s in story])
    assert exercises.check_in_order(lab, keyed, "ada", story) is True
    assert "in partition" in verdict(capsys)
    assert exercises.check_in_order(lab, keyed, "ada", list(reversed(story))) is False
    assert "the exercise expects" in verdict(capsys)

    unkeyed = lab.fresh_topic("ex-order-unkeyed", partitions=3)
    produce(lab, unkeyed, [(None, s) for s in story])
    assert exercises.check_in_order(lab, unkeyed, "ada", story) is False
    assert "have no key: pass key='ada'" in verdict(capsys)

    # CRC32 (librdkafka's default) and murmur2 (Java's) put 'ada' in different partitions of 3
    mixed = lab.fresh_topic("ex-order-mixed", partitions=3)
    produce(lab, mixed, [("ada", "login"), ("ada", "view")])
    produce(lab, mixed, [("ada", "buy"), ("ada", "logout")], partitioner="murmur2_random")
    assert exercises.check_in_order(lab, mixed, "ada", story) is False
    assert "spread over partitions" in verdict(capsys)


def test_safe_producer(lab, capsys):
    topic = lab.fresh_topic("ex-safe", partitions=1)
    assert exercises.check_safe_producer(lab, {"acks": "all", "enable.idempotence": True}, topic) is True
    assert verdict(capsys).startswith("✔ correct")
    assert exercises.check_safe_producer(lab, {"acks": "1", "enable.idempotence": False}, topic) is False
    assert "acks=1" in verdict(capsys)
    assert exercises.check_safe_producer(lab, {"acks": "all"}, topic) is False
    assert "enable.idempotence is off" in verdict(capsys)
    assert exercises.check_safe_producer(lab, {"acks": "all", "enable_idempotence": True, "retries": 0},
                                         topic) is False
    assert "retries=0" in verdict(capsys)
    assert len(exercises.read_all(lab, topic)) == 1  # only the right answer was sent


def _consume_and_commit(lab, group, topic, n, plus_one=True):
    c = lab.consumer(group, auto_offset_reset="earliest", enable_auto_commit=False)
    c.subscribe([topic])
    got, deadline = 0, time.monotonic() + 30
    while got < n and time.monotonic() < deadline:
        msg = c.poll(1.0)
        if msg is None or msg.error():
            continue
        got += 1
        offset = msg.offset() + 1 if plus_one else msg.offset()
        c.commit(offsets=[TopicPartition(topic, msg.partition(), offset)], asynchronous=False)
    c.close()
    assert got == n


def test_committed(lab, capsys):
    topic = lab.fresh_topic("ex-commit", partitions=2)
    produce(lab, topic, [(f"k{i}", str(i)) for i in range(10)])
    suffix = time.time_ns()
    _consume_and_commit(lab, f"ex-right-{suffix}", topic, 10)
    assert exercises.check_committed(lab, f"ex-right-{suffix}", topic) is True
    assert verdict(capsys).startswith("✔ correct")
    _consume_and_commit(lab, f"ex-off-by-one-{suffix}", topic, 10, plus_one=False)
    assert exercises.check_committed(lab, f"ex-off-by-one-{suffix}", topic) is False
    assert "commit offset + 1" in verdict(capsys)
    assert exercises.check_committed(lab, f"ex-never-{suffix}", topic) is False
    assert "no committed offset" in verdict(capsys)


def test_one_partition_each(lab, capsys):
    topic = lab.fresh_topic("ex-group", partitions=2)
    group = f"ex-group-{time.time_ns()}"
    consumers = []
    try:
        consumers.append(lab.consumer(group))
        consumers[0].subscribe([topic])
        settle(consumers, 2)
        assert exercises.check_one_partition_each(lab, group, topic) is False
        assert "some read several partitions" in verdict(capsys)
        consumers.append(lab.consumer(group))
        consumers[1].subscribe([topic])
        settle(consumers, 2)
        assert exercises.check_one_partition_each(lab, group, topic) is True
        assert verdict(capsys).startswith("✔ correct")
        consumers.append(lab.consumer(group))
        consumers[2].subscribe([topic])
        settle(consumers, 2)
        # the third member is in the group once the others have polled through the rebalance
        deadline, admin = time.monotonic() + 30, lab.admin()
        while time.monotonic() < deadline:
            desc = admin.describe_consumer_groups([group])[group].result(timeout=10)
            if len(desc.members) == 3:
                break
            for c in consumers:
                c.poll(0.1)
        assert exercises.check_one_partition_each(lab, group, topic) is False
        assert "sit idle" in verdict(capsys)
    finally:
        for c in consumers:
            c.close()
    assert exercises.check_one_partition_each(lab, group, topic) is False
    assert "no running consumer" in verdict(capsys)


def test_durable(lab, capsys):
    good = lab.fresh_topic("ex-durable", partitions=1, replication_factor=3,
                           config={"min.insync.replicas": 2})
    assert exercises.check_durable(lab, good, {"acks": "all"}) is True
    assert verdict(capsys).startswith("✔ correct")
    assert exercises.check_durable(lab, good, {"acks": 1}) is False
    assert "acks=1" in verdict(capsys)
    two = lab.fresh_topic("ex-durable-rf2", partitions=1, replication_factor=2)
    assert exercises.check_durable(lab, two, {"acks": "all"}) is False
    assert "replication factor 2" in verdict(capsys)
    weak = lab.fresh_topic("ex-durable-isr1", partitions=1, replication_factor=3,
                           config={"min.insync.replicas": 1})
    assert exercises.check_durable(lab, weak, {"acks": "all"}) is False
    assert "min.insync.replicas=1" in verdict(capsys)
    unclean = lab.fresh_topic("ex-durable-unclean", partitions=1, replication_factor=3,
                              config={"min.insync.replicas": 2, "unclean.leader.election.enable": "true"})
    assert exercises.check_durable(lab, unclean, {"acks": "all"}) is False
    assert "unclean.leader.election.enable=true" in verdict(capsys)


def test_tombstone(lab, capsys):
    topic = lab.fresh_topic("ex-compact", partitions=1, config={"cleanup.policy": "compact"})
    produce(lab, topic, [("bob", "bob@example.org")])
    assert exercises.check_tombstone(lab, topic, "bob") is False
    assert "produce key='bob' with value=None" in verdict(capsys)
    produce(lab, topic, [("bob", "")])
    assert exercises.check_tombstone(lab, topic, "bob") is False
    assert "empty string is still a value" in verdict(capsys)
    produce(lab, topic, [("bob", None)])
    assert exercises.check_tombstone(lab, topic, "bob") is True
    assert verdict(capsys).startswith("✔ correct")
    assert exercises.check_tombstone(lab, topic, "carol") is False
    assert "no record" in verdict(capsys)
    plain = lab.fresh_topic("ex-not-compacted", partitions=1)
    produce(lab, plain, [("bob", None)])
    assert exercises.check_tombstone(lab, plain, "bob") is False
    assert "cleanup.policy=delete" in verdict(capsys)


class _BrokenLab:
    """A lab whose cluster cannot be asked anything."""

    bootstrap_servers = "127.0.0.1:1"

    def __init__(self, exc):
        self.exc = exc

    def admin(self):
        raise self.exc


@pytest.mark.parametrize("exc, expected", [
    (LabError("No Kafka broker answers.", hint="start the lab cluster"), "✘ not yet: No Kafka broker answers."),
    (RuntimeError("boom"), "✘ could not check: RuntimeError: boom"),
])
def test_checks_never_raise(capsys, exc, expected):
    assert exercises.check_first_message(_BrokenLab(exc), "t", "v") is False
    assert verdict(capsys).startswith(expected)
    assert exercises.check_durable(_BrokenLab(exc), "t", {"acks": "all"}) is False
    assert verdict(capsys).startswith(expected)
