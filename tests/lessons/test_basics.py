"""Checks of notebooks 00-03 against the live cluster: the right answer passes, each typical
wrong answer fails with a verdict that names the mistake."""
import time

from confluent_kafka.admin import NewTopic

from labkit import lessons as exercises
from helpers import produce, verdict


def test_first_message(lab, capsys):
    topic = lab.fresh_topic("ex-first", partitions=1)
    # wrong: the exercise cell as shipped, nothing made
    assert exercises.check_first_message(lab, topic, "hi", producer=None) is False
    assert "first_producer is still None" in verdict(capsys)
    # wrong: produced but never flushed, so the delivery report was never read
    p = lab.producer()
    p.produce(topic, b"hi")
    assert exercises.check_first_message(lab, topic, "hi", producer=p) is False
    assert "still wait inside first_producer" in verdict(capsys)
    p.flush(10)
    # wrong: the wrong value
    wrong = lab.fresh_topic("ex-first-wrong", partitions=1)
    q = lab.producer()
    q.produce(wrong, b"hello")
    q.flush(10)
    assert exercises.check_first_message(lab, wrong, "hi", producer=q) is False
    assert "none with the value 'hi'" in verdict(capsys)
    # wrong: nothing in the topic at all
    empty = lab.fresh_topic("ex-first-empty", partitions=1)
    assert exercises.check_first_message(lab, empty, "hi", producer=q) is False
    assert "holds no records yet" in verdict(capsys)
    # right
    assert exercises.check_first_message(lab, topic, "hi", producer=p) is True
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
    # a value the cluster's defaults give is not the learner's answer
    assert exercises.check_topic(lab, topic, 6, 2, {"cleanup.policy": "delete"}) is False
    assert "comes from the cluster's defaults" in verdict(capsys)


def test_check_topic_typical_mistakes(lab, capsys):
    """The learner's own create_topics calls, each with one typical mistake."""
    run = time.strftime("%H%M%S")
    admin = lab.admin()
    missing = f"ex-orders-missing-{run}"
    assert exercises.check_topic(lab, missing, 6, 2, {"retention.ms": "86400000"}) is False
    assert f"there is no topic '{missing}' yet" in verdict(capsys)
    no_rf, no_config = f"ex-orders-rf-{run}", f"ex-orders-cfg-{run}"
    futures = admin.create_topics([
        NewTopic(no_rf, 6, config={"retention.ms": "86400000"}),   # RF left to the cluster: 3
        NewTopic(no_config, 6, 2),                                   # retention left at 7 days
    ], operation_timeout=30)
    for future in futures.values():
        future.result(timeout=30)
    try:
        assert exercises.check_topic(lab, no_rf, 6, 2, {"retention.ms": "86400000"}) is False
        assert "replication factor [3]; the exercise asks for 2" in verdict(capsys)
        assert exercises.check_topic(lab, no_config, 6, 2, {"retention.ms": "86400000"}) is False
        assert "retention.ms=604800000; the exercise asks for 86400000" in verdict(capsys)
    finally:
        admin.delete_topics([no_rf, no_config], operation_timeout=30)


def test_in_order(lab, capsys):
    story = ["login", "view", "buy", "logout"]
    keyed = lab.fresh_topic("ex-order-keyed", partitions=3)
    produce(lab, keyed, [("ada", s) for s in story])
    assert exercises.check_in_order(lab, keyed, "ada", story) is True
    assert "in partition" in verdict(capsys)
    assert exercises.check_in_order(lab, keyed, "ada", list(reversed(story))) is False
    assert "the exercise expects" in verdict(capsys)

    # the cell's produce loop run twice without the fresh topic
    produce(lab, keyed, [("ada", s) for s in story])
    assert exercises.check_in_order(lab, keyed, "ada", story) is False
    assert "send each event once" in verdict(capsys)

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
    line = verdict(capsys)
    assert line.startswith("✔ correct") and "a resend by your code still can" in line
    assert exercises.check_safe_producer(lab, {}, topic) is False
    assert "settings is empty" in verdict(capsys)
    assert exercises.check_safe_producer(lab, {"enable.idempotence": True}, topic) is False
    assert "acks is not set" in verdict(capsys)
    assert exercises.check_safe_producer(lab, {"acks": "1", "enable.idempotence": False}, topic) is False
    assert "acks=1: the leader alone" in verdict(capsys)
    assert exercises.check_safe_producer(lab, {"acks": 0, "enable.idempotence": True}, topic) is False
    assert "acks=0: nobody" in verdict(capsys)
    assert exercises.check_safe_producer(lab, {"acks": "all"}, topic) is False
    assert "enable.idempotence is off" in verdict(capsys)
    assert exercises.check_safe_producer(lab, {"acks": "all", "enable.idempotence": "false"}, topic) is False
    assert "enable.idempotence is off" in verdict(capsys)
    assert exercises.check_safe_producer(lab, {"acks": "all", "enable_idempotence": True, "retries": 0},
                                         topic) is False
    assert "retries=0" in verdict(capsys)
    assert exercises.check_safe_producer(lab, [("acks", "all")], topic) is False
    assert "should be a dict" in verdict(capsys)
    assert len(exercises.read_all(lab, topic)) == 1  # only the right answer was sent
