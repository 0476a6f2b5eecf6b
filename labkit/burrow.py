"""Judging lag over time, the way LinkedIn's Burrow does (notebook 05).

A lag snapshot says "1,200 behind"; it cannot say whether the consumer is catching up, stuck or
gone. Burrow looks at a window of recent commits per partition and applies five rules, in order:

- OK: lag was zero somewhere in the window (the consumer caught up at least once).
- REWIND: the committed offset went backwards (someone reset the group's offsets).
- STOP: the time since the last commit exceeds the time span the window covers (nobody commits).
- STALL: the committed offset never moved while lag stayed above zero (a consumer that commits
  but makes no progress).
- WARN: lag never decreased across the window (progress, but falling behind).
- otherwise OK.

These are pure functions on a history DataFrame (``lab.sample_lag(group).history``): one row per
sample and partition with ``time``, ``group``, ``topic``, ``partition``, ``committed``, ``lag`` and,
from the sampler, ``member``. A sampler sees offsets, not commit events, so each sample stands for
a commit made at ``commit_time``: a ``commit_time`` column if the history has one; otherwise the
sample's own time while a live member owns the partition (a live consumer keeps committing), and
the time the committed offset last changed when no member owns it (its commits stopped then).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

STATUSES = ("OK", "WARN", "STOP", "STALL", "REWIND")  # Burrow's order, mildest first
KEYS = ["group", "topic", "partition"]
DEFAULT_WINDOW = 10


def _seconds(times) -> np.ndarray:
    """Times as float seconds, whether they are numbers or timestamps."""
    times = pd.Series(times)
    if pd.api.types.is_datetime64_any_dtype(times):
        return times.to_numpy(dtype="datetime64[ns]").astype("int64") / 1e9
    return times.to_numpy(dtype=float)


def _floats(values) -> np.ndarray:
    return pd.Series(values).astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def _arrays(rows: pd.DataFrame):
    """(time, commit time, committed, lag) of one partition's samples as float arrays."""
    t = _seconds(rows["time"])
    committed, lag = _floats(rows["committed"]), _floats(rows["lag"])
    if "commit_time" in rows:
        return t, _seconds(rows["commit_time"]), committed, lag
    if "member" not in rows:
        return t, t, committed, lag
    owned = rows["member"].fillna("").astype(str).ne("").to_numpy()
    return t, _commit_times(t, committed, owned), committed, lag


def _commit_times(t, committed, owned) -> np.ndarray:
    same = np.r_[False, (committed[1:] == committed[:-1]) |
                 (np.isnan(committed[1:]) & np.isnan(committed[:-1]))]
    last_change = t.copy()
    for i in range(1, len(t)):  # carry the time of the last change forward
        if same[i]:
            last_change[i] = last_change[i - 1]
    return np.where(owned, t, last_change)


def commit_times(rows: pd.DataFrame) -> np.ndarray:
    """When each sample's offset was committed, by the rules in the module docstring."""
    return _arrays(rows)[1]


def judge(t, ctime, offsets, lag, window: int = DEFAULT_WINDOW, now=None) -> str:
    """Burrow's rules on arrays of one partition's samples, oldest first."""
    ctime, offsets, lag = ctime[-window:], offsets[-window:], lag[-window:]
    if len(lag) < 2 or (lag == 0).any() or np.isnan(lag).all():
        return "OK"
    now = t[-1] if now is None else now
    steps = np.diff(offsets)
    if (steps[~np.isnan(steps)] < 0).any():
        return "REWIND"
    if now - ctime[-1] > ctime[-1] - ctime[0]:
        return "STOP"
    # a partition never committed has not moved either
    if (np.diff(np.nan_to_num(offsets, nan=-1.0)) == 0).all() and (lag > 0).all():
        return "STALL"
    lag_steps = np.diff(lag)
    if (lag_steps[~np.isnan(lag_steps)] >= 0).all():
        return "WARN"
    return "OK"


def partition_status(rows: pd.DataFrame, window: int = DEFAULT_WINDOW, now=None) -> str:
    """Burrow's status of one partition from its samples, over the last ``window`` of them.

    ``now`` is when the judgement is made (default: the last sample's time). Fewer than two
    samples are too few to judge: OK, as Burrow gives a new partition the benefit of the doubt.
    """
    rows = rows.sort_values("time", kind="stable")
    return judge(*_arrays(rows), window, None if now is None else _seconds([now])[0])


def evaluate(history: pd.DataFrame, window: int = DEFAULT_WINDOW, now=None) -> pd.DataFrame:
    """One row per (group, topic, partition) with its Burrow status and its latest lag."""
    keys = [k for k in KEYS if k in history]
    if history.empty:
        return pd.DataFrame(columns=keys + ["status", "lag", "samples"])
    h = history.sort_values(keys + ["time"], kind="stable").reset_index(drop=True)
    # whole columns converted once: fast with hundreds of partitions
    t, committed, lag = _seconds(h["time"]), _floats(h["committed"]), _floats(h["lag"])
    given = _seconds(h["commit_time"]) if "commit_time" in h else None
    owned = h["member"].fillna("").astype(str).ne("").to_numpy() if "member" in h else None
    now = None if now is None else _seconds([now])[0]
    starts = np.flatnonzero(h[keys].ne(h[keys].shift()).any(axis=1).to_numpy())
    rows = []
    for a, b in zip(starts, list(starts[1:]) + [len(h)]):
        ct = given[a:b] if given is not None else t[a:b] if owned is None else \
            _commit_times(t[a:b], committed[a:b], owned[a:b])
        rows.append({**{k: h[k].iat[a] for k in keys},
                     "status": judge(t[a:b], ct, committed[a:b], lag[a:b], window, now),
                     "lag": h["lag"].iat[b - 1], "samples": int(b - a)})
    return pd.DataFrame(rows, columns=keys + ["status", "lag", "samples"])


def group_status(statuses) -> str:
    """A group takes its worst partition's status (OK for a group with no partitions)."""
    ranks = [STATUSES.index(s) for s in statuses]
    return STATUSES[max(ranks)] if ranks else "OK"
