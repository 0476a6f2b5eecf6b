"""How long one dashboard refresh takes: partition grid + lag for a 100-partition topic and
three consumer groups (issue 21's target on the 2-core lab machine: median <= 150 ms, p90 <= 300 ms).

    LABKIT_STATE_DIR=... LABKIT_PORT_BASE=... .venv/bin/python bench/refresh.py [--rounds 20]

Prints the median and 90th percentile of asking the cluster (brokers, partitions with
watermarks, lag of three groups: what a refresh fetches), and of drawing the grid and the lag
plot to PNG the way the live dashboard does (``labkit.observe.liveplots``: figures kept and redrawn in
place), one refresh every ``--every`` seconds, so the lag axes grow as they do in a notebook.
The first refresh, which builds both figures, is reported on its own. The last line is one JSON
object (``ask_ms``, ``grid_ms``, ``lag_ms``, ``refresh_ms``: medians; ``refresh_p90_ms``) for
``bench/run.py``. Writes nothing into the repository.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time

import pandas as pd
from confluent_kafka import TopicPartition

import labkit as lk
from labkit import clients, topics
from labkit.observe.liveplots import GridView, LagView

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
    """What the dashboard asks on each refresh: brokers, the topic's partitions, the groups' lag."""
    return ins.overview(TOPIC, GROUPS)


def percentile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--every", type=float, default=0.5, help="seconds between refreshes")
    args = ap.parse_args()
    lab = lk.start(quiet=True)
    prepare(lab)
    ins = lab.inspector
    grid_view, lag_view = GridView(), LagView()
    brokers, parts, lag = fetch(ins)  # warm-up: connections to every broker
    history = [lag.assign(time=time.time())]
    t0 = time.perf_counter()
    grid_view.update(parts, brokers), grid_view.png()
    t1 = time.perf_counter()
    lag_view.update(pd.concat(history, ignore_index=True)), lag_view.png()
    first = ((t1 - t0) * 1000, (time.perf_counter() - t1) * 1000)
    ask, grid, lagplot = [], [], []
    for _ in range(args.rounds):
        time.sleep(args.every)  # the dashboard's pause between refreshes
        t0 = time.perf_counter()
        brokers, parts, lag = fetch(ins)
        t1 = time.perf_counter()
        grid_view.update(parts, brokers), grid_view.png()
        t2 = time.perf_counter()
        history.append(lag.assign(time=time.time()))
        lag_view.update(pd.concat(history, ignore_index=True)), lag_view.png()
        t3 = time.perf_counter()
        ask.append((t1 - t0) * 1000)
        grid.append((t2 - t1) * 1000)
        lagplot.append((t3 - t2) * 1000)
    assert len(parts) == PARTITIONS and len(lag) == PARTITIONS * len(GROUPS), \
        f"{len(parts)} partitions, {len(lag)} lag rows (groups: {lag.groupby('group').size().to_dict()})"
    assert len(lag_view.fig.data) == len(history) * PARTITIONS * len(GROUPS), \
        f"the lag plot holds {len(lag_view.fig.data)} rows, the history {sum(map(len, history))}"
    print(f"one refresh: {PARTITIONS} partitions + lag of {len(GROUPS)} groups, {args.rounds} rounds "
          f"{args.every:g} s apart, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for name, xs in (("ask the cluster", ask), ("draw the grid to PNG", grid),
                     ("draw the lag plot to PNG", lagplot)):
        print(f"  {name:36s} median {statistics.median(xs):7.0f} ms   p90 {percentile(xs, 0.9):7.0f} ms")
    total = [a + g + p for a, g, p in zip(ask, grid, lagplot)]
    print(f"  whole refresh (target: median <= 150 ms, p90 <= 300 ms): {statistics.median(total):.0f} ms "
          f"typical, {percentile(total, 0.9):.0f} ms p90")
    print(f"  first refresh, which builds both figures: grid {first[0]:.0f} ms, lag {first[1]:.0f} ms; "
          f"full redraws in all: grid {grid_view.full_draws}, lag {lag_view.full_draws} "
          "(a dead broker, a new status, or lag outgrowing its axes)")
    print(json.dumps({"ask_ms": round(statistics.median(ask), 1), "grid_ms": round(statistics.median(grid), 1),
                      "lag_ms": round(statistics.median(lagplot), 1),
                      "refresh_ms": round(statistics.median(total), 1),
                      "refresh_p90_ms": round(percentile(total, 0.9), 1)}))
    sys.stdout.flush()
    with clients.quiet_admin(lab.bootstrap_servers) as admin:
        topics.delete_topic(admin, TOPIC)
    # clients freed before interpreter shutdown: librdkafka threads must not outlive Python
    ins.close()
    del admin, ins
    gc.collect()


if __name__ == "__main__":
    main()
