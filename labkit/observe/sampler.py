"""Lag over time: a background sampler that records a group's lag every few seconds (notebook 05).

``sampler = lab.sample_lag("readers", every=1.0)`` starts a daemon thread that asks the cluster
for the group's lag (``lab.lag``) every ``every`` seconds and keeps each answer, stamped with the
time, in ``sampler.history`` (a DataFrame that feeds ``lab.plot_lag``). ``sampler.stop()`` ends
the thread and waits for it; ``with lab.sample_lag(group) as s:`` stops it on leaving the block.
The thread is a daemon: a kernel that dies or restarts takes it along. It also ends by itself
after ``max_samples`` samples, so a forgotten sampler cannot run for ever.
"""
from __future__ import annotations

import threading
import time

import pandas as pd

from ..errors import LabError

COLUMNS = ["time", "group", "topic", "partition", "member", "committed", "low", "end", "lag"]


class LagSampler:
    """Records ``inspector.lag_many(groups)`` every ``every`` seconds on a background thread."""

    def __init__(self, inspector, group, every: float = 1.0, max_samples: int = 3600,
                 start: bool = True):
        if not every or every < 0.1:
            raise LabError(f"every={every!r} is too short for a lag sampler.",
                           hint="sample at most ten times a second: every=0.1 or more.")
        self.inspector = inspector
        self.groups = [group] if isinstance(group, str) else list(group)
        self.every = float(every)
        self.max_samples = int(max_samples)
        self.errors: list[str] = []  # what went wrong at which sample; the sampler keeps going
        self.samples = 0
        self._frames: list[pd.DataFrame] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"labkit-lag-sampler-{'+'.join(self.groups)}",
                                        daemon=True)
        if start:
            self._thread.start()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<LagSampler {', '.join(self.groups)}: {state}, {self.samples} samples every {self.every:g} s>"

    # ---- the thread -----------------------------------------------------------------------
    def sample(self) -> pd.DataFrame:
        """Take one sample now (the thread calls this) and add it to the history."""
        return self.record(self.inspector.lag_many(self.groups, strict=False))

    def record(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Add a lag table asked just now (``lag_many``'s columns) to the history as one sample:
        the dashboard asks lag together with the grid's tables (``Inspector.overview``)."""
        frame.insert(0, "time", pd.Timestamp.now())
        with self._lock:
            self._frames.append(frame)
            self.samples += 1
        return frame

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set() and self.samples < self.max_samples:
            try:
                self.sample()
            except Exception as exc:  # a broker down is part of the lesson, not the end of sampling
                with self._lock:
                    self.errors.append(f"{pd.Timestamp.now():%H:%M:%S} {exc}".splitlines()[0])
                    self.samples += 1
            next_at += self.every
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    # ---- control --------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def history(self) -> pd.DataFrame:
        """Every sample so far, one row per sample and partition (a copy: safe to keep)."""
        with self._lock:
            if len(self._frames) > 1:  # one frame from now on: a long history stays quick to read
                self._frames = [pd.concat(self._frames, ignore_index=True)]
            frames = list(self._frames)
        if not frames:
            return pd.DataFrame(columns=COLUMNS)
        return frames[0].copy()

    def stop(self, timeout: float = 15.0) -> pd.DataFrame:
        """Stop sampling, wait for the thread to end, and return the history."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise LabError(f"The lag sampler did not stop within {timeout:.0f} s.",
                               hint="a request to a dead broker can take up to 10 s; try again.")
        return self.history

    def __enter__(self) -> "LagSampler":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
