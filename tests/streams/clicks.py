"""Notebook 09's clicks, (user, seconds), in arrival order: b's click at 16 s comes at stream time
23 s, 3 s after its window [10, 20) ended. And fresh topics of one test run."""
import uuid

from labkit.streams import time_zero

RECORDS = [("a", 1), ("b", 2), ("a", 6), ("b", 9), ("a", 12), ("b", 14), ("a", 19), ("a", 23),
           ("b", 16), ("b", 27), ("a", 31), ("b", 33), ("a", 38), ("b", 45)]


def run_topics(lab, prefix: str, partitions: int = 1, changelog: bool = True):
    """(run id, input, output, changelog or None, time zero): fresh topics named after one run."""
    run = uuid.uuid4().hex[:6]
    src = lab.fresh_topic(f"{prefix}-in-{run}", partitions=partitions)
    out = lab.fresh_topic(f"{prefix}-out-{run}", partitions=1)
    log = lab.fresh_topic(f"{prefix}-log-{run}", partitions=partitions,
                          config={"cleanup.policy": "compact"}) if changelog else None
    return run, src, out, log, time_zero()
