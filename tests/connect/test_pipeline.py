"""Connectors on the live worker: file -> topic -> file, a dead-letter topic, and the worker's
refusals of bad configs arriving as LabErrors that carry the worker's own message."""
import json

import pytest

from labkit import lessons
from labkit.errors import LabError
from labkit.wait import wait_for


def lines(path):
    return path.read_text().splitlines() if path.exists() else []


def test_file_to_topic_to_file(lab, connect, run_id):
    src, dst = connect.files / f"t-in-{run_id}.txt", connect.files / f"t-out-{run_id}.txt"
    written = [f"line {i} of {run_id}" for i in range(20)]
    src.write_text("".join(f"{w}\n" for w in written))
    topic = lab.fresh_topic(f"t-connect-{run_id}", partitions=1)
    try:
        connect.create(f"t-src-{run_id}", {"connector.class": "FileStreamSource", "file": src,  # a Path
                                            "topic": topic, "tasks.max": 1})  # the worker keeps strings
        connect.create(f"t-sink-{run_id}", {"connector.class": "FileStreamSink", "file": str(dst),
                                             "topics": topic, "tasks.max": "1"})
        connect.wait_state(f"t-src-{run_id}")
        wait_for("the copy", lambda: len(lines(dst)) >= 20, timeout=60, interval=0.5)
        assert lines(dst) == written
        in_topic = [json.loads(r["value"]) for r in lessons.read_all(lab, topic)]
        assert in_topic == written  # JSON strings: the worker's JsonConverter, schemas off
        offsets = wait_for("the source's committed position", lambda: connect.offsets(f"t-src-{run_id}"),
                           timeout=30, interval=0.5)
        assert offsets == [{"partition": {"filename": str(src)}, "offset": {"position": src.stat().st_size}}]
        table = lab.connectors()
        assert table.loc[f"t-src-{run_id}", "state"] == "RUNNING"
        assert table.loc[f"t-sink-{run_id}", "type"] == "sink"
    finally:
        connect.delete(f"t-src-{run_id}")
        connect.delete(f"t-sink-{run_id}")


def test_bad_record_goes_to_the_dead_letter_topic(lab, connect, run_id):
    topic = lab.fresh_topic(f"t-orders-{run_id}", partitions=1)
    dlq, out = f"t-dlq-{run_id}", connect.files / f"t-orders-{run_id}.txt"
    p = lab.producer()
    for value in [b'{"n": 1}', b"not json", b'{"n": 3}']:
        p.produce(topic, value=value)
    assert p.flush(10) == 0
    name = f"t-dlq-sink-{run_id}"
    try:
        connect.create(name, {"connector.class": "FileStreamSink", "file": str(out), "topics": topic,
                              "tasks.max": "1", "errors.tolerance": "all",
                              "errors.deadletterqueue.topic.name": dlq,
                              "errors.deadletterqueue.context.headers.enable": "true"})
        wait_for("the good records", lambda: len(lines(out)) >= 2, timeout=60, interval=0.5)
        assert lines(out) == ["{n=1}", "{n=3}"]
        dead = wait_for("the dead letter", lambda: lessons.read_all(lab, dlq, timeout=5), timeout=30,
                        interval=0.5, retry_on=(lessons.Wrong,))
        assert [r["value"] for r in dead] == ["not json"]
        assert connect.status(name)["tasks"][0]["state"] == "RUNNING"
    finally:
        connect.delete(name)


def test_without_tolerance_the_task_fails_and_restart_does_not_skip(lab, connect, run_id):
    topic = lab.fresh_topic(f"t-poison-{run_id}", partitions=1)
    p = lab.producer()
    p.produce(topic, value=b"not json")
    assert p.flush(10) == 0
    name = f"t-strict-{run_id}"
    try:
        connect.create(name, {"connector.class": "FileStreamSink", "file": str(connect.files / f"{name}.txt"),
                              "topics": topic, "tasks.max": "1"})
        st = connect.wait_state(name, "FAILED")
        assert "Tolerance exceeded" in st["tasks"][0]["trace"]
        with pytest.raises(LabError, match="FAILED: org.apache.kafka.connect.errors.ConnectException"):
            connect.wait_state(name, "RUNNING", timeout=10)
        answer = connect.restart(name, include_tasks=True, only_failed=True)
        assert answer["tasks"][0]["state"] == "RESTARTING"
        assert connect.wait_state(name, "FAILED")["tasks"][0]["state"] == "FAILED"
    finally:
        connect.delete(name)


@pytest.mark.parametrize("config, message", [
    ({"topic": "t"}, "contains no connector type"),
    ({"connector.class": "FileStreamSource"}, 'Missing required configuration "topic"'),
    ({"connector.class": "FileStreamSource", "topic": "t", "tasks.max": "two"}, "Invalid value two"),
    ({"connector.class": "NoSuchConnector", "topic": "t"}, "Failed to find any class that implements Connector"),
], ids=["no-class", "missing-topic", "wrong-value", "unknown-class"])
def test_bad_config_is_a_lab_error_with_the_workers_message(connect, run_id, config, message):
    name = f"t-bad-{run_id}"
    with pytest.raises(LabError) as err:
        connect.create(name, config)
    assert "HTTP 400" in err.value.message and message in err.value.message
    assert "available connectors are" not in err.value.message  # the plugin dump is cut
    assert err.value.hint
    assert name not in connect.connector_names()
