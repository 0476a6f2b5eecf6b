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

import pandas as pd

STATUSES = ("OK", "WARN", "STOP", "STALL", "REWIND")  # Burrow's order, mildest first
KEYS = ["group", "topic", "partition"]
DEFAULT_WINDOW = 10


def _seconds(times: pd.Series) -> pd.Series:
    """Times as float seconds, whether they are numbers or timestamps."""
    if pd.api.types.is_datetime64_any_dtype(times):
        return (times - pd.Timestamp(0, tz=getattr(times.dt, "tz", None))).dt.total_seconds()
    return times.astype(float)


def commit_times(rows: pd.DataFrame) -> pd.Series:
    """When each sample's offset was committed, by the rules in the module docstring."""
    t = _seconds(rows["time"])
    if "commit_time" in rows:
        return _seconds(rows["commit_time"])
    committed = rows["committed"].astype("Float64")
    changed = committed.ne(committed.shift()).fillna(True)
    last_change = t.where(changed).ffill()
    if "member" not in rows:
        return t
    owned = rows["member"].fillna("").astype(str).ne("")
    return t.where(owned, last_change)


def partition_status(rows: pd.DataFrame, window: int = DEFAULT_WINDOW, now=None) -> str:
    """Burrow's status of one partition from its samples (oldest first), over the last ``window``.

    ``now`` is when the judgement is made (default: the last sample's time). Fewer than two
    samples with lag are too few to judge: OK, as Burrow gives a new partition the benefit.
    """
    rows = rows.sort_values("time")
    ctime = commit_times(rows).tail(window)
    win = rows.tail(window)
    lag = win["lag"].astype("Float64")
    offsets = win["committed"].astype("Float64")
    if len(win) < 2 or (lag.fillna(1) == 0).any() or lag.isna().all():
        return "OK"
    now = float(_seconds(rows["time"]).iloc[-1]) if now is None else float(_seconds(pd.Series([now])).iloc[0])
    if (offsets.diff().dropna() < 0).any():
        return "REWIND"
    if now - ctime.iloc[-1] > ctime.iloc[-1] - ctime.iloc[0]:
        return "STOP"
    if offsets.nunique(dropna=False) == 1 and (lag > 0).all():
        return "STALL"
    if (lag.diff().dropna() >= 0).all():
        return "WARN"
    return "OK"


def evaluate(history: pd.DataFrame, window: int = DEFAULT_WINDOW, now=None) -> pd.DataFrame:
    """One row per (group, topic, partition) with its Burrow status and its latest lag."""
    keys = [k for k in KEYS if k in history]
    rows = []
    for key, part in history.groupby(keys, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        part = part.sort_values("time")
        rows.append({**dict(zip(keys, key)), "status": partition_status(part, window, now),
                     "lag": part["lag"].iloc[-1], "samples": len(part)})
    return pd.DataFrame(rows, columns=keys + ["status", "lag", "samples"])


def group_status(statuses) -> str:
    """A group takes its worst partition's status (OK for a group with no partitions)."""
    ranks = [STATUSES.index(s) for s in statuses]
    return STATUSES[max(ranks)] if ranks else "OK"
