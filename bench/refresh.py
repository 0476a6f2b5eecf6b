"""How long one dashboard refresh takes: partition grid + lag for a 100-partition topic and
three consumer groups (issue 3's target: at most 250 ms on the lab cluster).

    LABKIT_STATE_DIR=... LABKIT_PORT_BASE=... .venv/bin/python bench/refresh.py [--rounds 20]

Prints the median and 90th percentile of (a) asking the cluster (brokers, partitions with
watermarks, lag of three groups: what a refresh fetches) and (b) the same plus drawing the
grid and lag figures to PNG, as the live dashboard does. Writes nothing into the repository.
"""
from __future__ import annotations

import argparse
import statistics
import time

from confluent_kafka import TopicPartition

import labkit as lk
from labkit import plots
from labkit.widgets import png

TOPIC, PARTITIONS = "bench-refresh", 100
GROUPS = ["bench-a", "bench-b", "bench-c"]


def prepare(lab) -> None:
    """A 100-partition topic with records, three groups that committed different positions."""
    lab.fresh_topic(TOPIC, partitions=PARTITIONS, replication_factor=3)
    p = lab.producer(linger_ms=5)
    for i in range(PARTITIONS * 20):
        p.produce(TOPIC, b"x" * 100, partition=i % PARTITIONS)
    p.flush(60)
    for k, group in enumerate(GROUPS):
        c = lab.consumer(group)
        end = time.monotonic() + 60
        while True:  # coordinators may still be loading on a fresh cluster
            try:
                c.commit(offsets=[TopicPartition(TOPIC, n, 5 * k + n % 7) for n in range(PARTITIONS)],
                         asynchronous=False)
                break
            except Exception:
                if time.monotonic() > end:
                    raise
                time.sleep(0.5)
        c.close()


def fetch(ins):
    return ins.brokers(), ins.partitions(TOPIC), ins.lag_many(GROUPS)


def percentile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    lab = lk.start(quiet=True)
    prepare(lab)
    ins = lab.inspector
    fetch(ins)  # warm-up: connections to every broker
    data_ms, full_ms = [], []
    history = []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        brokers, parts, lag = fetch(ins)
        t1 = time.perf_counter()
        history.append(lag.assign(time=time.time()))
        import pandas as pd
        png(plots.plot_partitions(parts, brokers))
        png(plots.plot_lag(pd.concat(history, ignore_index=True)))
        t2 = time.perf_counter()
        data_ms.append((t1 - t0) * 1000)
        full_ms.append((t2 - t0) * 1000)
    assert len(parts) == PARTITIONS and len(lag) == PARTITIONS * len(GROUPS)
    print(f"refresh of {PARTITIONS} partitions + lag of {len(GROUPS)} groups, {args.rounds} rounds")
    print(f"  ask the cluster:      median {statistics.median(data_ms):6.0f} ms   "
          f"p90 {percentile(data_ms, 0.9):6.0f} ms   (target <= 250 ms)")
    print(f"  ask + draw both PNGs: median {statistics.median(full_ms):6.0f} ms   "
          f"p90 {percentile(full_ms, 0.9):6.0f} ms")
    lab.admin().delete_topics([TOPIC])


if __name__ == "__main__":
    main()
