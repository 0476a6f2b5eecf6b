"""Issue 18's figures: what the brokers' metrics cost, and how fast `lab.metrics()` answers.

``agent_cost`` starts the cluster with and without the Prometheus JMX exporter agent
(``LABKIT_METRICS``), cold, and compares the start time and each broker's resident memory; the
targets are at most +15% start time and +64 MiB per broker. ``scrape`` times ``lab.metrics()``
for the three brokers (target: median at most 200 ms).
"""
from __future__ import annotations

import os
import statistics
import time

RUNS = 3  # cold starts per setting; the median is compared
SCRAPES = 50


def agent_cost(results: dict, start, rss_mib) -> None:
    """``start(cold: bool) -> seconds``; ``rss_mib() -> MiB`` of the three brokers together."""
    starts: dict[str, list[float]] = {"0": [], "1": []}
    rss: dict[str, list[float]] = {"0": [], "1": []}
    try:
        for _ in range(RUNS):  # interleaved, so a busy spell of the machine hits both alike
            for setting in ("0", "1"):
                os.environ["LABKIT_METRICS"] = setting
                starts[setting].append(start(True))
                rss[setting].append(rss_mib())
    finally:
        os.environ.pop("LABKIT_METRICS", None)
    plain, agent = statistics.median(starts["0"]), statistics.median(starts["1"])
    results["metrics_agent_start_s"] = {"without": round(plain, 2), "with": round(agent, 2)}
    results["metrics_agent_start_pct"] = round(100 * (agent - plain) / plain, 1)
    per_broker = (statistics.median(rss["1"]) - statistics.median(rss["0"])) / 3
    results["metrics_agent_rss_mib"] = round(per_broker, 1)


def scrape(results: dict, lab) -> None:
    """Median and p90 of ``lab.metrics()`` over the three brokers, after one warm-up call."""
    lab.metrics()
    took = []
    for _ in range(SCRAPES):
        t0 = time.monotonic()
        table = lab.metrics()
        took.append((time.monotonic() - t0) * 1000)
    assert len(set(table["broker"])) == 3, "not every broker answered"
    took.sort()
    results["metrics_scrape_ms"] = round(statistics.median(took), 1)
    results["metrics_scrape_p90_ms"] = round(took[int(len(took) * 0.9) - 1], 1)
