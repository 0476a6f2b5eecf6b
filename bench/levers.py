"""Each start-up lever of issue 21 measured on its own: the class-data archive and the C1-only JIT.

The four combinations of ``LABKIT_CDS`` (archive on/off) and ``LABKIT_BROKER_JIT`` (quick/full)
each get cold starts and restarts, timed like ``run.start_up``; the JIT's cost is measured where
C2 should win, producer throughput, with the same 1M records as ``run.throughput``. The two
smaller levers (the 0.5 s first election, the 0.1 s readiness poll) are settings, measured from
broker logs in bench/NOTES.md.
"""
from __future__ import annotations

import os
import statistics

COMBINATIONS = {  # name: (LABKIT_CDS, LABKIT_BROKER_JIT)
    "neither (before issue 21)": ("0", "full"),
    "archive only": ("1", "full"),
    "C1 only": ("0", "quick"),
    "archive and C1 (the lab's default)": ("1", "quick"),
}
RUNS = 2


def levers(results: dict, start, produce) -> None:
    """``start(cold: bool) -> seconds``; ``produce() -> (python rps, java rps)`` on the running cluster."""
    table = {}
    try:
        for name, (cds, jit) in COMBINATIONS.items():
            os.environ.update(LABKIT_CDS=cds, LABKIT_BROKER_JIT=jit)
            cold = [start(True) for _ in range(RUNS)]
            warm = [start(False) for _ in range(RUNS)]
            table[name] = {"cold_s": round(statistics.median(cold), 1), "warm_s": round(statistics.median(warm), 1)}
            if jit == "full" and cds == "1":
                py, java = produce()
                results.update(producer_python_rps_full_jit=round(py), producer_java_rps_full_jit=round(java))
    finally:
        os.environ.pop("LABKIT_CDS", None)
        os.environ.pop("LABKIT_BROKER_JIT", None)
    results["start_levers"] = table
