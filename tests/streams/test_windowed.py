"""labkit.streams.windowed on the live cluster: counts per key per window, late records dropped,
state written to a compacted changelog and restored from it by a fresh instance after a crash."""
import time

import pytest
from clicks import RECORDS, run_topics

from labkit import LabError
from labkit.lessons.streams import plan
from labkit.streams import WindowedCount, read_results
from labkit.streams.windowed import restore_state

def as_counts(rows):
    return {(r["key"], r["start"]): r["count"] for r in rows}


def test_counts_and_late_records(lab, topics):
    src, out, log, base, name = topics
    counter = WindowedCount(lab, src, out, log, window_s=10, grace_s=0, name=name)
    assert counter.run(timeout=30) == len(RECORDS)
    counter.close()
    late = [(r["key"], (r["timestamp"] - base) // 1000) for r in counter.seen if r["late"]]
    assert late == [("b", 16)]  # stream time 23 s > its window's end (20 s) + grace 0
    got = as_counts(read_results(lab, out))
    assert got[("b", base + 10000)] == 1 and got[("a", base + 10000)] == 2
    assert ("b", base + 40000) not in got  # stream time 45 s: window [40, 50) is still open
    assert counter.open_windows() == [{"partition": 0, "key": "b", "start": base + 40000,
                                       "end": base + 50000, "count": 1}]


def test_state_restored_from_the_changelog_after_a_crash(lab, topics):
    src, out, log, base, name = topics
    first = WindowedCount(lab, src, out, log, window_s=10, grace_s=5, name=name)
    assert first.run(max_records=6, timeout=30) == 6  # committed: state, output and offsets
    committed = first.open_windows()
    assert first.run(crash_after=3, timeout=30) == 3  # three more, inside a transaction never committed
    second = WindowedCount(lab, src, out, log, window_s=10, grace_s=5, name=name)  # fences the first
    assert second.restored > 0
    assert second.open_windows() == committed  # the aborted writes are not in the restored state
    assert second.run(timeout=30) == len(RECORDS) - 6  # resumes after the last committed offset
    second.close()
    rows = read_results(lab, out)
    assert len(rows) == len({(r["key"], r["start"]) for r in rows})  # no window emitted twice
    assert as_counts(rows) == plan(RECORDS, base)["expected"]  # each record counted exactly once


def test_changelog_forgets_closed_windows(lab, topics):
    src, out, log, base, name = topics
    counter = WindowedCount(lab, src, out, log, window_s=10, grace_s=5, name=name)
    counter.run(timeout=30)
    counter.close()
    counts, stream_time, read = restore_state(lab, log, [0])
    assert read > len(RECORDS)  # a count and a stream time per record, tombstones
    assert counts == {(0, "b", base + 40000): 1}  # the closed windows were tombstoned
    assert stream_time == {0: base + 45000}


def test_bad_input_is_a_lab_error(lab, topics):
    src, out, log, _, name = topics
    t0 = time.monotonic()
    with pytest.raises(LabError, match="positive size"):
        WindowedCount(lab, src, out, log, window_s=0, name=name)
    with pytest.raises(LabError, match="there is no topic 'st-missing'"):
        WindowedCount(lab, "st-missing", out, log, name=name)
    assert time.monotonic() - t0 < 40


def test_many_records_over_several_partitions(lab):
    """More records than one batch, over 3 partitions, each with its own stream time."""
    run, src, out, log, base = run_topics(lab, "st-many", partitions=3)
    expected = {}
    with lab.producer() as p:
        for i in range(300):  # in time order: nothing is late
            key, ts = f"k{i % 6}", base + i * 100
            p.produce(src, key=key, value="", timestamp=ts)
            start = ts - (ts - base) % 10_000
            expected[(key, start)] = expected.get((key, start), 0) + 1
        for part in range(3):  # one later record per partition closes that partition's windows
            p.produce(src, key=f"tick-{part}", value="", partition=part, timestamp=base + 100_000)
        assert p.flush(15) == 0
    counter = WindowedCount(lab, src, out, log, window_s=10, grace_s=0, name=f"st-many-{run}")
    assert counter.run(timeout=60) == 303
    counter.close()
    assert as_counts(read_results(lab, out)) == expected
    assert {w["key"] for w in counter.open_windows()} == {"tick-0", "tick-1", "tick-2"}
