"""The check of notebook 11 against the live cluster's exporters: the right answer passes, each
typical wrong answer fails with a verdict that names the mistake."""
import time

from labkit import lessons as exercises
from labkit.lessons.monitoring import BYTES_IN, MESSAGES_IN
from helpers import produce, verdict


def _written(lab, name):
    topic = lab.fresh_topic(f"{name}-{time.strftime('%H%M%S')}", partitions=3, replication_factor=3)
    produce(lab, topic, [(f"k{i}", "x" * 500) for i in range(90)])
    return topic


def _per_broker(lab, metric, labels):
    df = lab.metrics(metric)
    rows = df[(df.metric == metric) & (df.labels == labels)]
    return {int(b): v for b, v in zip(rows.broker, rows.value) if v}


def test_bytes_in_right_answer(lab, capsys):
    topic = _written(lab, "ex-bytes-in")
    answer = _per_broker(lab, BYTES_IN, f"topic={topic}")
    assert sum(answer.values()) >= 90 * 500
    assert exercises.check_bytes_in(lab, topic, answer) is True
    line = verdict(capsys)
    assert line.startswith("✔ correct") and "leaders" in line
    # string broker ids and int values are the same answer
    assert exercises.check_bytes_in(lab, topic, {str(b): int(v) for b, v in answer.items()}) is True
    assert verdict(capsys).startswith("✔ correct")


def test_bytes_in_nothing_yet(lab, capsys):
    assert exercises.check_bytes_in(lab, "ex-bytes-in-none", {}) is False
    assert "bytes_in is empty" in verdict(capsys)
    fresh = lab.fresh_topic(f"ex-bytes-in-empty-{time.strftime('%H%M%S')}", partitions=1)
    assert exercises.check_bytes_in(lab, fresh, {1: 100}) is False  # a guess, with nothing written
    assert "no broker has counted bytes in" in verdict(capsys)


def test_bytes_in_every_topic_instead_of_this_one(lab, capsys):
    topic = _written(lab, "ex-bytes-in-all")
    everything = _per_broker(lab, BYTES_IN, "")
    assert exercises.check_bytes_in(lab, topic, everything) is False
    assert "every topic's bytes" in verdict(capsys)


def test_bytes_in_messages_instead_of_bytes(lab, capsys):
    topic = _written(lab, "ex-bytes-in-msgs")
    messages = _per_broker(lab, MESSAGES_IN, f"topic={topic}")
    assert sum(messages.values()) == 90
    assert exercises.check_bytes_in(lab, topic, messages) is False
    assert "count messages" in verdict(capsys)


def test_bytes_in_stale_or_not_a_dict(lab, capsys):
    topic = _written(lab, "ex-bytes-in-stale")
    early = _per_broker(lab, BYTES_IN, f"topic={topic}")
    produce(lab, topic, [("late", "y" * 500)])  # more written after the numbers were read
    assert exercises.check_bytes_in(lab, topic, early) is False
    assert "its exporter says" in verdict(capsys)
    assert exercises.check_bytes_in(lab, topic, [1, 2]) is False
    assert "should be a dict" in verdict(capsys)
