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

from ..errors import LabError

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


def _arrays(rows: pd.DataFrame, starts=(0,)):
    """(time, commit time, committed, lag) as float arrays, of samples sorted by partition then
    time; ``starts``: each partition's first row (one partition: row 0)."""
    t = _seconds(rows["time"])
    committed, lag = _floats(rows["committed"]), _floats(rows["lag"])
    if "commit_time" in rows:
        return t, _seconds(rows["commit_time"]), committed, lag
    if "member" not in rows:
        return t, t, committed, lag
    owned = rows["member"].fillna("").astype(str).ne("").to_numpy()
    return t, _commit_times(t, committed, owned, starts), committed, lag


def _commit_times(t, committed, owned, starts=(0,)) -> np.ndarray:
    """Commit times of samples sorted by partition then time; ``starts``: each partition's first."""
    same = np.r_[False, (committed[1:] == committed[:-1]) |
                 (np.isnan(committed[1:]) & np.isnan(committed[:-1]))]
    same[np.asarray(starts, dtype=int)] = False  # a partition's first sample is its own change
    # carry the time of the last change forward: index of the latest sample that changed
    changed_at = np.maximum.accumulate(np.where(same, 0, np.arange(len(t))))
    return np.where(owned, t, t[changed_at])


def commit_times(rows: pd.DataFrame) -> np.ndarray:
    """When each sample's offset was committed, by the rules in the module docstring."""
    return _arrays(rows)[1]


def _check_window(window) -> int:
    if not isinstance(window, (int, np.integer)) or window < 1:
        raise LabError(f"window={window!r} is not a number of samples.",
                       hint="judge over at least 1 sample; Burrow's default is window=10.")
    return int(window)


def _windows(values, starts, ends, window: int):
    """Each partition's last ``window`` values as one row, oldest first, NaN-padded on the left."""
    window = min(window, int((ends - starts).max()))  # no wider than the longest history
    idx = ends[:, None] - window + np.arange(window)[None, :]
    valid = idx >= starts[:, None]
    return np.where(valid, values[np.maximum(idx, 0)], np.nan), valid


def judge_many(t_last, ctime, offsets, lag, valid, now=None) -> np.ndarray:
    """Burrow's rules, in order, on many partitions at once: one row per partition holding its
    last samples (``valid`` marks real samples; the rest is padding)."""
    n = valid.sum(axis=1)
    pairs = valid[:, 1:] & valid[:, :-1]
    ok = (n < 2) | ((lag == 0) & valid).any(axis=1) | (np.isnan(lag) | ~valid).all(axis=1)
    rewind = ((np.diff(offsets, axis=1) < 0) & pairs).any(axis=1)
    now = t_last if now is None else now
    first = ctime[np.arange(len(n)), np.minimum(ctime.shape[1] - n, ctime.shape[1] - 1)]
    stop = now - ctime[:, -1] > ctime[:, -1] - first
    # a partition never committed has not moved either
    still = (np.diff(np.nan_to_num(offsets, nan=-1.0), axis=1) == 0) | ~pairs
    stall = still.all(axis=1) & ((lag > 0) | ~valid).all(axis=1)
    lag_steps = np.diff(lag, axis=1)
    warn = ((lag_steps >= 0) | np.isnan(lag_steps) | ~pairs).all(axis=1)
    return np.select([ok, rewind, stop, stall, warn], ["OK", "REWIND", "STOP", "STALL", "WARN"], "OK")


def judge(t, ctime, offsets, lag, window: int = DEFAULT_WINDOW, now=None) -> str:
    """Burrow's rules on arrays of one partition's samples, oldest first."""
    if len(t) < 2 or min(_check_window(window), len(t)) < 2:
        return "OK"
    starts, ends = np.array([0]), np.array([len(t)])
    (ct, valid), (off, _), (lg, _) = (_windows(np.asarray(a, float), starts, ends, window)
                                      for a in (ctime, offsets, lag))
    return str(judge_many(np.asarray(t, float)[-1:], ct, off, lg, valid, now)[0])


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
    window = _check_window(window)
    if history.empty:
        return pd.DataFrame(columns=keys + ["status", "lag", "samples"])
    h = history.sort_values(keys + ["time"], kind="stable").reset_index(drop=True)
    # whole columns at once, every partition judged together: fast with hundreds of partitions
    starts = np.flatnonzero(h[keys].ne(h[keys].shift()).any(axis=1).to_numpy())
    ends = np.r_[starts[1:], len(h)]
    t, ctime, committed, lag = _arrays(h, starts)
    (ct, valid), (off, _), (lg, _) = (_windows(a, starts, ends, window)
                                      for a in (ctime, committed, lag))
    if window < 2:  # one sample is too few to judge
        valid = valid & False
    out = h.loc[starts, keys].reset_index(drop=True)
    out["status"] = judge_many(t[ends - 1], ct, off, lg, valid,
                               None if now is None else _seconds([now])[0])
    out["lag"] = h["lag"].iloc[ends - 1].tolist()  # scalars: the dtype a table of rows would get
    out["samples"] = (ends - starts).astype(int)
    return out


def group_status(statuses) -> str:
    """A group takes its worst partition's status (OK for a group with no partitions)."""
    ranks = [STATUSES.index(s) for s in statuses]
    return STATUSES[max(ranks)] if ranks else "OK"
