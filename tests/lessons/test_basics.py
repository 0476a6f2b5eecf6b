"""Checks of notebooks 00-03 against the live cluster: the right answer passes, each typical
wrong answer fails with a verdict that names the mistake."""
from labkit import lessons as exercises
from helpers import produce, verdict


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
