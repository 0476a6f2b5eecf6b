"""`make bench`: what a learner waits for, measured on the local cluster, beside Kafka's own tools.

Runs its own cluster (state in bench/output/cluster, ports from LABKIT_BENCH_PORT_BASE or 18092)
so it never touches a learner's lab or the test suite's: the variables are assigned, not inherited,
and labkit wipes only a folder whose owner marker says "bench". Writes bench/results.json, bench/results.md and
bench/results.png (``bench/report.py``). Each measurement is a function; `python bench/run.py --only
failover` runs one. The targets are issue 21's; docs/benchmarks.md explains each figure.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "output"
BENCH_ENV = {"LABKIT_STATE_DIR": str(OUT / "cluster"),
             "LABKIT_PORT_BASE": os.environ.get("LABKIT_BENCH_PORT_BASE", "18092"),
             "LABKIT_BACKEND": "local", "LABKIT_OWNER": "bench"}
os.environ.update(BENCH_ENV)  # assigned: a learner's exported LABKIT_* never reach the bench
os.environ.pop("LABKIT_IDLE_STOP", None)
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]
sys.path.insert(0, str(ROOT))

import labkit as lk  # noqa: E402
from bench import consume, metrics  # noqa: E402
from bench.levers import levers  # noqa: E402
from bench.report import report  # noqa: E402

STARTS = 3  # cold starts and restarts each; the median is reported
TIMINGS = ROOT / ".lab-test" / "timings"  # the Makefile writes make_test_s and make_check_s here
RECORDS = 1_000_000
VALUE = b"x" * 100


def labkit_cli(*args: str) -> float:
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "labkit.cli", *args], check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - t0


def start_up(results: dict) -> None:
    """Cold start (fresh state, jars cached) and warm restart (data kept), each to ready.

    The first `up` after a fetch also builds the class-data archive (once per release): that
    build is timed on its own, then each start is measured ``STARTS`` times.
    """
    t0 = time.monotonic()
    labkit_cli("fetch")  # jars, and the archive when this JDK has none yet
    results["fetch_and_archive_s"] = round(time.monotonic() - t0, 1)
    from labkit.cluster import storage
    if Path(BENCH_ENV["LABKIT_STATE_DIR"]).exists():  # made by a bench run before owner markers
        storage.claim(Path(BENCH_ENV["LABKIT_STATE_DIR"]))
    cold, warm = [], []
    for _ in range(STARTS):
        labkit_cli("down", "--wipe")
        cold.append(labkit_cli("up"))
        results["cluster_rss_mib"] = cluster_rss_mib()
        labkit_cli("down")
        warm.append(labkit_cli("up"))
    results["cold_start_s"] = round(statistics.median(cold), 1)
    results["warm_restart_s"] = round(statistics.median(warm), 1)
    results["start_runs_s"] = {"cold": [round(x, 1) for x in cold], "warm": [round(x, 1) for x in warm]}


def start_levers(results: dict) -> None:
    """The archive and the JIT, each on its own (``bench/levers.py``); ends on the lab's defaults."""
    def start(cold: bool) -> float:
        labkit_cli("down", *(["--wipe"] if cold else []))
        return labkit_cli("up")

    def produce() -> tuple[float, float]:
        lab = lk.start(quiet=True)
        topics = [lab.fresh_topic(f"bench-jit-{kind}", partitions=3, replication_factor=3) for kind in ("py", "java")]
        return produce_python(lab, topics[0], RECORDS), produce_java(lab, topics[1], RECORDS)
    levers(results, start, produce)
    start(cold=True)


def cluster_rss_mib() -> float:
    lab = lk.Lab()
    total = 0
    for row in lab.cluster.status():
        status = Path(f"/proc/{row['pid']}/status").read_text()
        total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
    return round(total / 1024, 0)


def produce_python(lab, topic: str, n: int) -> float:
    """Records per second from confluent-kafka in Python: acks=all, tuned batching."""
    with lab.producer(acks="all", linger_ms=20, batch_size=262144, queue_buffering_max_messages=500000) as p:
        t0 = time.monotonic()
        for i in range(n):
            while True:
                try:
                    p.produce(topic, VALUE)
                    break
                except BufferError:
                    p.poll(0.05)  # local queue full: let deliveries drain
            if i % 10000 == 0:
                p.poll(0)
        assert p.flush(120) == 0, "records left undelivered"
        return n / (time.monotonic() - t0)


def produce_java(lab, topic: str, n: int) -> float:
    out = subprocess.run(["kafka-producer-perf-test", "--topic", topic, "--num-records", str(n),
                          "--record-size", "100", "--throughput", "-1", "--producer-props",
                          f"bootstrap.servers={lab.bootstrap_servers}", "acks=all", "linger.ms=20",
                          "batch.size=262144"], capture_output=True, text=True, timeout=600).stdout
    return float(re.findall(r"([\d.]+) records/sec", out)[-1])


def throughput(results: dict) -> None:
    lab = lk.start(quiet=True)
    py_topic = lab.fresh_topic("bench-python", partitions=3, replication_factor=3)
    java_topic = lab.fresh_topic("bench-java", partitions=3, replication_factor=3)
    py = produce_python(lab, py_topic, RECORDS)
    java = produce_java(lab, java_topic, RECORDS)
    results.update(producer_python_rps=round(py), producer_java_rps=round(java),
                   producer_ratio=round(py / java, 2), cluster_rss_after_workload_mib=cluster_rss_mib())
    consume.compare(lab, java_topic, RECORDS, 100, results)
    big = lab.fresh_topic("bench-10kb", partitions=3, replication_factor=3)
    consume.fill(lab, big, consume.BIG_RECORDS, consume.BIG_SIZE)
    consume.compare(lab, big, consume.BIG_RECORDS, consume.BIG_SIZE, results)


def failover(results: dict, kills: int = 10) -> None:
    """SIGKILL the partition leader; time to a new leader in metadata and to the next ack."""
    lab = lk.start(quiet=True)
    topic = lab.fresh_topic("bench-failover", partitions=1, replication_factor=3)
    to_leader, to_ack = [], []
    for _ in range(kills):
        acks: list[float] = []
        stop = threading.Event()

        def produce() -> None:
            with lab.producer(acks="all", enable_idempotence=True, linger_ms=0) as p:
                while not stop.is_set():
                    p.produce(topic, b"x", on_delivery=lambda e, m: e is None and acks.append(time.monotonic()))
                    p.poll(0.005)
                p.flush(30)

        worker = threading.Thread(target=produce)
        worker.start()
        admin = lab.admin()
        leader = admin.list_topics(topic, timeout=10).topics[topic].partitions[0].leader
        while not acks:
            time.sleep(0.01)  # the producer is flowing before the fault
        t0 = time.monotonic()
        lab.cluster.kill(leader)
        new = leader
        while new in (leader, -1) and time.monotonic() - t0 < 60:
            new = admin.list_topics(topic, timeout=5).topics[topic].partitions[0].leader
        to_leader.append(time.monotonic() - t0)
        while not any(a > t0 for a in acks) and time.monotonic() - t0 < 60:
            time.sleep(0.01)
        to_ack.append(min((a for a in acks if a > t0), default=t0 + 60) - t0)
        stop.set()
        worker.join(60)
        lab.cluster.start(leader, out=open(os.devnull, "w"))
    results["failover_new_leader_s"] = round(statistics.median(to_leader), 2)
    results["failover_first_ack_s"] = round(statistics.median(to_ack), 2)
    results["failover_first_ack_p95_s"] = round(sorted(to_ack)[max(0, int(len(to_ack) * 0.95) - 1)], 2)


def notebooks(results: dict) -> None:
    """The whole notebook suite under nbval (one session, as in make test), total and per notebook.

    The core lessons (00-07) are judged as a suite; each later lesson (08 on) on its own.
    """
    lk.start(quiet=True)  # the suite's cluster start is not the notebooks' time
    junit = OUT / "nbval.xml"
    t0 = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "notebooks", f"--junitxml={junit}"],
                         cwd=ROOT, stdout=subprocess.DEVNULL, check=False)
    results["nbval_all_s"] = round(time.monotonic() - t0, 1)
    results["nbval_passed"] = run.returncode == 0
    per = results["nbval_per_notebook_s"] = per_notebook(junit)
    # issue 21's targets were set for the core lessons 00-07; the later ones have issue 16's 90 s each
    core = {name: t for name, t in per.items() if name[:2] < "08"}
    later = {name: t for name, t in per.items() if name[:2] >= "08"}
    results["nbval_suite_s"] = round(sum(core.values()), 1) if core else None
    results["nbval_slowest_s"] = max(core.values(), default=None)
    results["nbval_later_slowest_s"] = max(later.values(), default=None)


def per_notebook(junit: Path) -> dict[str, float]:
    """Seconds per notebook, summed over its cells (nbval names them notebooks.NN_x.ipynb)."""
    return {name.removeprefix("notebooks.").removesuffix(".ipynb"): round(t, 1)
            for name, t in junit_seconds(junit, depth=None).items()}


def junit_seconds(junit: Path, depth: int | None) -> dict[str, float]:
    """Seconds per test class name in a junit file, cut to its first ``depth`` dotted parts."""
    import xml.etree.ElementTree as ET
    per: dict[str, float] = {}
    for case in ET.parse(junit).iter("testcase"):
        name = ".".join(case.get("classname", "").split(".")[:depth])
        per[name] = per.get(name, 0) + float(case.get("time", 0))
    return per


def dashboard(results: dict) -> None:
    """bench/refresh.py's last line is its figures as JSON (median and p90 of a whole refresh)."""
    out = subprocess.run([sys.executable, str(HERE / "refresh.py"), "--rounds", "30"],
                         capture_output=True, text=True, timeout=600).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    results.update(dashboard_ask_ms=figures["ask_ms"], dashboard_grid_draw_ms=figures["grid_ms"],
                   dashboard_lag_draw_ms=figures["lag_ms"], dashboard_refresh_ms=figures["refresh_ms"],
                   dashboard_refresh_p90_ms=figures["refresh_p90_ms"])


def broker_metrics(results: dict) -> None:
    """The metrics agent's cost on start and memory, and `lab.metrics()`'s speed (``bench/metrics.py``)."""
    def start(cold: bool) -> float:
        labkit_cli("down", *(["--wipe"] if cold else []))
        return labkit_cli("up")
    metrics.agent_cost(results, start, cluster_rss_mib)
    start(cold=True)  # back on the lab's default, the agent attached
    metrics.scrape(results, lk.start(quiet=True))


def timings(results: dict) -> None:
    """`make test` and `make check` as the Makefile timed them last (install included), and
    where `make test`'s time goes: seconds per test folder (and per notebook suite) from its junit."""
    for name in ("make_test_s", "make_check_s"):
        path = TIMINGS / name
        if path.exists():
            results[name] = float(path.read_text().split()[0])
    junit = TIMINGS / "junit.xml"
    if junit.exists():
        parts = junit_seconds(junit, depth=2)
        results["make_test_parts_s"] = {k: round(v) for k, v in sorted(parts.items(), key=lambda kv: -kv[1])}


STEPS = {"startup": start_up, "levers": start_levers, "failover": failover, "throughput": throughput,
         "dashboard": dashboard, "metrics": broker_metrics, "notebooks": notebooks, "timings": timings}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=sorted(STEPS), action="append")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    previous = HERE / "results.json"
    results = json.loads(previous.read_text()) if args.only and previous.exists() else {}
    try:
        for name, step in STEPS.items():
            if not args.only or name in args.only:
                print(f"== {name}", flush=True)
                step(results)
    finally:
        subprocess.run([sys.executable, "-m", "labkit.cli", "down", "--wipe"], stdout=subprocess.DEVNULL)
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
