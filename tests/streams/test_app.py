"""labkit.streams.app on the live cluster: the Kafka Streams app runs as a managed process, shows its topology and internal topics, produces exact window counts, and
leaves no JVM behind: not after stop(), not after a failed start, not after `labkit down`."""
import io
import shutil
import time
import uuid

import pytest
from clicks import run_topics
from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

from labkit import LabError
from labkit.cluster import procs
from labkit.streams import StreamsApp, run_app
from labkit.wait import wait_for

LINES = [(1, "the cat"), (3, "the dog"), (12, "a cat"), (4, "the late"), (30, "end")]


def no_jvm(app) -> bool:
    return not procs.pids_matching(str(app.folder / "state"))


def test_run_show_consume_stop(lab):
    run, src, out, _, base = run_topics(lab, "ks", changelog=False)
    app = run_app(lab, f"ks-{run}", src, out, window_s=10, grace_s=5, out=io.StringIO())
    try:
        assert app.state == "RUNNING" and procs.alive(app.pid)
        topology = app.topology()
        assert "Sub-topology: 1" in topology and "(stores: [counts])" in topology
        assert app.internal_topics() == [f"ks-{run}-counts-changelog", f"ks-{run}-final-store-changelog",
                                         f"ks-{run}-words-repartition"]
        with lab.producer() as p:
            for sec, line in LINES:
                p.produce(src, value=line, timestamp=base + sec * 1000)
            assert p.flush(15) == 0

        def two_windows():
            rows = app.results()
            return rows if {r["start"] for r in rows} == {base, base + 10000} else None
        rows = wait_for("both windows' final counts", two_windows, 60, 0.5)
        counts = {(r["key"], (r["start"] - base) // 1000): r["count"] for r in rows}
        # "the late" at 4 s came at stream time 12 s: within [0, 10) + 5 s of grace, so counted
        assert counts == {("the", 0): 3, ("cat", 0): 1, ("dog", 0): 1, ("late", 0): 1,
                          ("a", 10): 1, ("cat", 10): 1}
    finally:
        said = app.stop(out=io.StringIO())
    assert said == "stopped"  # SIGTERM was enough: Kafka Streams closed itself
    assert app.state == "stopped" and no_jvm(app) and not (app.folder / "pid").exists()


def test_state_restored_from_the_changelog_after_kill(lab):
    """kill -9 and a wiped local state folder: the restarted app rebuilds its counts from the
    changelog topic, so a window's final count includes the records counted before the crash."""
    run, src, out, _, base = run_topics(lab, "ks-kill", changelog=False)
    app = run_app(lab, f"ks-kill-{run}", src, out, window_s=10, grace_s=0, out=io.StringIO())
    try:
        produce_lines(lab, src, base, [(1, "x"), (2, "x")])
        changelog = f"ks-kill-{run}-counts-changelog"

        def counted_twice():  # the store's latest committed value ends in the count, a long
            values = committed_values(lab, changelog)
            return values and int.from_bytes(values[-1][-8:], "big") == 2
        wait_for("the count of 2 to be committed to the changelog", counted_twice, 60, 0.5)
        app.kill()
        assert no_jvm(app)
        shutil.rmtree(app.folder / "state")  # as on a new machine: only the changelog is left
        app.start(out=io.StringIO(), reset=False)
        produce_lines(lab, src, base, [(3, "x"), (30, "end")])
        rows = wait_for("the final count of [0, 10)", lambda: app.results(), 60, 0.5)
        assert [(r["key"], r["start"] - base, r["count"]) for r in rows] == [("x", 0, 3)]
    finally:
        app.stop(out=io.StringIO())
    assert no_jvm(app)


def produce_lines(lab, topic, base, lines):
    with lab.producer() as p:
        for sec, line in lines:
            p.produce(topic, value=line, timestamp=base + sec * 1000)
        assert p.flush(15) == 0


def committed_values(lab, topic):
    """The values of a one-partition topic's committed records (transaction markers are no records,
    so the end is librdkafka's end-of-partition event, not the high watermark)."""
    reader = lab.consumer(f"ks-reader-{uuid.uuid4().hex[:6]}", enable_partition_eof=True,
                          isolation_level="read_committed", enable_auto_commit=False)
    reader.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    values, deadline = [], time.monotonic() + 15
    try:
        while time.monotonic() < deadline:
            msg = reader.poll(0.5)
            if msg is not None and msg.error() and msg.error().code() == KafkaError._PARTITION_EOF:
                return values
            if msg is not None and not msg.error():
                values.append(msg.value())
        return values
    finally:
        reader.close()


def test_labkit_down_stops_the_app(lab, spare):
    """`labkit down` of a cluster stops the apps in its state folder (the hook in local.py)."""
    run = uuid.uuid4().hex[:6]
    src = lab.fresh_topic(f"ks-down-{run}", partitions=1)
    app = StreamsApp(lab, f"ks-down-{run}", src, src, state_dir=spare.state_dir)
    app.start(out=io.StringIO(), reset=False)
    assert procs.alive(app.pid)
    said = io.StringIO()
    spare.down(out=said)
    assert f"Kafka Streams app 'ks-down-{run}'" in said.getvalue()
    assert no_jvm(app)


def test_failed_start_leaves_no_jvm(lab):
    run = uuid.uuid4().hex[:6]
    src = lab.fresh_topic(f"ks-bad-{run}", partitions=1)
    app = StreamsApp(lab, f"ks-bad-{run}", src, src)
    app.folder.mkdir(parents=True, exist_ok=True)
    (app.folder / "state").write_text("a file where Kafka Streams wants its state folder")
    t0 = time.monotonic()
    with pytest.raises(LabError, match="exited during start-up|went to ERROR"):
        app.start(out=io.StringIO(), reset=False)  # KafkaStreams' constructor fails; the JVM exits
    assert no_jvm(app) and time.monotonic() - t0 < 90


def test_bad_input_is_a_lab_error(lab):
    t0 = time.monotonic()
    with pytest.raises(LabError, match="not usable"):
        StreamsApp(lab, "no spaces please", "a", "b")
    with pytest.raises(LabError, match="a window of at least 1 s"):
        StreamsApp(lab, "ks-zero", "a", "b", window_s=0)
    app = StreamsApp(lab, f"ks-missing-{uuid.uuid4().hex[:6]}", "ks-no-such-topic", "b")
    with pytest.raises(LabError, match="there is no topic 'ks-no-such-topic'"):
        app.start(out=io.StringIO())
    assert no_jvm(app) and time.monotonic() - t0 < 30
