"""Checks of notebooks 06-07 against the live cluster: the right answer passes, each typical
wrong answer fails with a verdict that names the mistake."""
from labkit import lessons as exercises
from helpers import produce, verdict


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
