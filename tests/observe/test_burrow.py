"""Each of Burrow's rules on a synthetic history (pure functions: no cluster needed)."""
import pandas as pd
import pytest

from labkit import LabError

from labkit.observe import burrow


def history(committed, lag, member="c1", times=None, partition=0, group="g"):
    times = times if times is not None else list(range(len(committed)))
    return pd.DataFrame({"time": times, "group": group, "topic": "t", "partition": partition,
                         "member": member, "committed": committed, "lag": lag})


def status(df, **kw):
    return burrow.partition_status(df, **kw)


def test_ok_when_lag_was_zero_in_the_window():
    assert status(history([10, 10, 10, 10], [5, 0, 5, 5])) == "OK"


def test_ok_when_lag_decreases():
    assert status(history([10, 20, 30, 40], [40, 35, 38, 30])) == "OK"


def test_rewind_when_committed_goes_backwards():
    assert status(history([10, 20, 5, 15], [30, 20, 40, 35])) == "REWIND"


def test_stop_when_commits_stopped_longer_than_the_window():
    # nobody owns the partition: its last commit was at t=0, the window spans 0..5
    df = history([10] * 6, [50] * 6, member="")
    assert status(df) == "STOP"
    # the same offsets with a live owner are a stall, not a stop
    assert status(history([10] * 6, [50] * 6)) == "STALL"


def test_stop_uses_commit_times_when_the_history_has_them():
    df = history([10, 11, 12], [5, 5, 5], times=[100, 101, 102]).assign(commit_time=[0, 1, 2])
    assert status(df) == "STOP"          # 100 s since the last commit, window spans 2 s
    assert status(df.assign(commit_time=[100, 101, 102])) == "WARN"


def test_stall_when_offsets_do_not_move_with_lag():
    assert status(history([7, 7, 7, 7], [3, 4, 6, 9])) == "STALL"


def test_warn_when_lag_never_decreases():
    assert status(history([10, 12, 14, 16], [20, 25, 25, 31])) == "WARN"


def test_window_limits_what_is_judged():
    # a zero lag long ago (outside a 4-sample window) does not make the partition OK
    df = history([0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5])
    assert status(df, window=10) == "OK"
    assert status(df, window=4) == "WARN"


def test_too_few_samples_are_ok_and_timestamps_work():
    assert status(history([5], [9])) == "OK"
    stamps = pd.to_datetime(["2026-01-01 10:00:00", "2026-01-01 10:00:01", "2026-01-01 10:00:02"])
    assert status(history([1, 2, 3], [4, 5, 6], times=stamps)) == "WARN"


def test_evaluate_and_group_status_take_the_worst():
    df = pd.concat([history([10, 20, 30], [0, 0, 0], partition=0),
                    history([10, 10, 10], [5, 5, 5], partition=1),
                    history([10, 12, 14], [5, 6, 7], partition=2)])
    ev = burrow.evaluate(df).set_index("partition")
    assert ev["status"].to_dict() == {0: "OK", 1: "STALL", 2: "WARN"}
    assert ev["samples"].tolist() == [3, 3, 3]
    assert burrow.group_status(ev["status"]) == "STALL"
    assert burrow.group_status([]) == "OK"
    assert burrow.group_status(["OK", "REWIND", "STOP"]) == "REWIND"


@pytest.mark.parametrize("rule", burrow.STATUSES)
def test_every_status_has_a_colour_and_a_line_style(rule):
    from labkit.observe import lagplot
    assert rule in lagplot.STATUS_COLOURS and rule in lagplot.STATUS_STYLES


def test_evaluate_judges_all_partitions_at_once_as_each_alone():
    """evaluate() judges every partition in one pass; it must agree with judging each alone,
    whatever the mix of lengths, gaps, missing commits and owners."""
    cases = [([10, 20, 5, 15], [30, 20, 40, 35], "c1"), ([10] * 6, [50] * 6, ""),
             ([10] * 6, [50] * 6, "c1"), ([10, 20, 30, 40], [40, 35, 38, 30], "c1"),
             ([1, 2, 3, 4, 5], [5, 6, 7, 8, 9], "c1"), ([3], [4], "c1"),
             ([None, None, 4, 4], [None, None, 9, 9], ""), ([7, 7, 9, 9, 9], [2, 3, 3, 4, 4], "")]
    parts = [history(c, lag, member, times=[t * 1.5 + p for t in range(len(c))], partition=p)
             .astype({"committed": "Float64", "lag": "Float64"}) for p, (c, lag, member) in enumerate(cases)]
    df = pd.concat(parts, ignore_index=True).sample(frac=1, random_state=3)  # any row order
    for window in (1, 2, 3, 10):
        for now in (None, 60.0):
            together = burrow.evaluate(df, window=window, now=now).set_index("partition")["status"]
            alone = {p: status(rows, window=window, now=now) for p, rows in df.groupby("partition")}
            assert together.to_dict() == alone
    assert set(burrow.evaluate(df, window=10)["status"]) >= {"REWIND", "STOP", "STALL", "WARN", "OK"}


def test_a_window_must_hold_at_least_one_sample():
    df = history([10, 20, 5, 15], [30, 20, 40, 35])
    for window in (0, -3, 2.5):
        with pytest.raises(LabError, match="window"):
            burrow.evaluate(df, window=window)
        with pytest.raises(LabError, match="window"):
            status(df, window=window)
