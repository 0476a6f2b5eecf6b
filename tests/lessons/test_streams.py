"""The check of notebook 09 against the live cluster: the right window/grace passes, each typical
wrong choice fails with a verdict that names the mistake."""
import uuid

import pytest

from labkit import lessons as exercises
from labkit.lessons.streams import plan
from labkit.streams import WindowedCount, time_zero
from helpers import verdict

# the notebook's EX_RECORDS: b at 16 s comes when stream time is 23 s (3 s after its window ended)
RECORDS = [("a", 1), ("b", 2), ("a", 6), ("b", 9), ("a", 12), ("b", 14), ("a", 19), ("a", 23),
           ("b", 16), ("b", 27), ("a", 31), ("b", 33), ("a", 38), ("b", 45)]


def run_count(lab, window_s, grace_s, records=RECORDS, produce=True):
    """Fresh topics, the records produced with their timestamps, a WindowedCount over them."""
    run = uuid.uuid4().hex[:6]
    src = lab.fresh_topic(f"ex09-in-{run}", partitions=1)
    out = lab.fresh_topic(f"ex09-out-{run}", partitions=1)
    log = lab.fresh_topic(f"ex09-log-{run}", partitions=1, config={"cleanup.policy": "compact"})
    base = time_zero()
    if produce:
        with lab.producer() as p:
            for key, sec in records:
                p.produce(src, key=key, value="", timestamp=base + sec * 1000)
            assert p.flush(15) == 0
    counter = WindowedCount(lab, src, out, log, window_s=window_s, grace_s=grace_s, name=f"ex09-{run}")
    counter.run(timeout=30)
    counter.close()
    return out, base


def test_plan_of_the_exercise():
    want = plan(RECORDS, 0)
    assert (want["min_grace"], want["max_grace"]) == (4, 5)
    assert want["late"] == [("b", 16000, 23000)]
    assert want["expected"][("b", 10000)] == 2 and ("b", 40000) not in want["expected"]
    assert sum(want["expected"].values()) == len(RECORDS) - 1  # all but b@45, whose window stays open


def test_right_answer(lab, capsys):
    out, base = run_count(lab, 10, 5)
    assert exercises.check_window_counts(lab, out, RECORDS, base) is True
    assert verdict(capsys).startswith("✔ correct: 8 final counts of 13 records")


def test_no_grace_drops_the_late_record(lab, capsys):
    out, base = run_count(lab, 10, 0)
    assert exercises.check_window_counts(lab, out, RECORDS, base) is False
    line = verdict(capsys)
    assert "'b' in [10, 20) s counts 1, expected 2" in line and "dropped as late" in line


def test_long_grace_leaves_a_window_open(lab, capsys):
    out, base = run_count(lab, 10, 10)
    assert exercises.check_window_counts(lab, out, RECORDS, base) is False
    assert "window [30, 40) s has no final count" in verdict(capsys)


def test_wrong_window_size(lab, capsys):
    out, base = run_count(lab, 5, 5)
    assert exercises.check_window_counts(lab, out, RECORDS, base) is False
    assert "your windows are 5 s long" in verdict(capsys)


@pytest.mark.parametrize("missing", [False, True])
def test_nothing_yet(lab, capsys, missing):
    if missing:
        assert exercises.check_window_counts(lab, "ex09-no-such-topic", RECORDS, 0) is False
        assert "there is no topic 'ex09-no-such-topic'" in verdict(capsys)
        return
    out = lab.fresh_topic(f"ex09-empty-{uuid.uuid4().hex[:6]}", partitions=1)
    assert exercises.check_window_counts(lab, out, RECORDS, time_zero()) is False
    assert "there are no final window counts" in verdict(capsys)


def test_not_window_results(lab, capsys):
    out = lab.fresh_topic(f"ex09-text-{uuid.uuid4().hex[:6]}", partitions=1)
    with lab.producer() as p:
        p.produce(out, key="a", value="a@[0, 10) = 2")
        assert p.flush(15) == 0
    assert exercises.check_window_counts(lab, out, RECORDS, time_zero()) is False
    assert "not WindowedCount's results" in verdict(capsys)
