"""Checks of notebooks 06-07 against the live cluster: the right answer passes, each typical
wrong answer fails with a verdict that names the mistake."""
from labkit import lessons as exercises
from helpers import produce, verdict

DURABLE = {"min.insync.replicas": 2, "unclean.leader.election.enable": "false"}


def test_durable_right_answer(lab, capsys):
    good = lab.fresh_topic("ex-durable", partitions=3, replication_factor=3, config=DURABLE)
    assert exercises.check_durable(lab, good, {"acks": "all", "enable.idempotence": True}) is True
    assert verdict(capsys).startswith("✔ correct")
    assert exercises.check_durable(lab, good, {"acks": -1}) is True  # -1 is acks=all's number
    assert verdict(capsys).startswith("✔ correct")


def test_durable_wrong_producer(lab, capsys):
    good = lab.fresh_topic("ex-durable-p", partitions=1, replication_factor=3, config=DURABLE)
    assert exercises.check_durable(lab, good, {}) is False  # librdkafka's default is all, but unsaid
    assert "do not say acks" in verdict(capsys)
    assert exercises.check_durable(lab, good, {"acks": 1}) is False
    assert "acks=1" in verdict(capsys)
    assert exercises.check_durable(lab, good, {"acks": "all", "linger.msec": 5}) is False
    assert "Invalid client setting" in verdict(capsys)


def test_durable_cluster_defaults_do_not_count(lab, capsys):
    # the lab's cluster says min.insync.replicas=2 and unclean=false: the topic must say so itself
    bare = lab.fresh_topic("ex-durable-bare", partitions=3, replication_factor=3)
    assert exercises.check_durable(lab, bare, {"acks": "all"}) is False
    line = verdict(capsys)
    assert "min.insync.replicas=2" in line and "not from the topic" in line
    half = lab.fresh_topic("ex-durable-half", partitions=1, replication_factor=3,
                           config={"min.insync.replicas": 2})
    assert exercises.check_durable(lab, half, {"acks": "all"}) is False
    assert "unclean.leader.election.enable=false" in verdict(capsys)


def test_durable_wrong_topic(lab, capsys):
    two = lab.fresh_topic("ex-durable-rf2", partitions=1, replication_factor=2, config=DURABLE)
    assert exercises.check_durable(lab, two, {"acks": "all"}) is False
    assert "replication factor 2" in verdict(capsys)
    weak = lab.fresh_topic("ex-durable-isr1", partitions=1, replication_factor=3,
                           config={**DURABLE, "min.insync.replicas": 1})
    assert exercises.check_durable(lab, weak, {"acks": "all"}) is False
    assert "min.insync.replicas=1" in verdict(capsys)
    strict = lab.fresh_topic("ex-durable-isr3", partitions=1, replication_factor=3,
                             config={**DURABLE, "min.insync.replicas": 3})
    assert exercises.check_durable(lab, strict, {"acks": "all"}) is False
    assert "every acks=all write is refused" in verdict(capsys)
    unclean = lab.fresh_topic("ex-durable-unclean", partitions=1, replication_factor=3,
                              config={**DURABLE, "unclean.leader.election.enable": "true"})
    assert exercises.check_durable(lab, unclean, {"acks": "all"}) is False
    assert "unclean.leader.election.enable=true" in verdict(capsys)
    assert exercises.check_durable(lab, "ex-durable-missing", {"acks": "all"}) is False
    assert "there is no topic 'ex-durable-missing' yet" in verdict(capsys)


def test_tombstone(lab, capsys):
    topic = lab.fresh_topic("ex-compact", partitions=1, config={"cleanup.policy": "compact"})
    produce(lab, topic, [("bob", "bob@example.org")])
    assert exercises.check_tombstone(lab, topic, "bob") is False
    assert "produce key='bob' with value=None" in verdict(capsys)
    produce(lab, topic, [("Bob", None)])  # the wrong key: keys are compared byte for byte
    assert exercises.check_tombstone(lab, topic, "bob") is False
    assert "has the value 'bob@example.org'" in verdict(capsys)
    assert exercises.check_tombstone(lab, topic, "BOB") is False
    assert "compared exactly" in verdict(capsys)
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
