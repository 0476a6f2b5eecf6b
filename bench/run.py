"""`make bench`: what a learner waits for, measured on the local cluster, beside Kafka's own tools.

Runs its own cluster (state in bench/output/cluster, ports from LABKIT_BENCH_PORT_BASE or 18092)
so it never touches a learner's lab or the test suite's: the variables are assigned, not inherited,
and labkit wipes only a folder whose owner marker says "bench". Writes bench/results.json, bench/results.md and
bench/results.png. Each measurement is a function; `python bench/run.py --only failover` runs one.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
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
from labkit import config
from labkit.cluster import procs  # noqa: E402

TARGETS = {"cold_start_s": ("<=", 15), "cluster_rss_mib": ("<=", 1536), "failover_first_ack_s": ("<=", 6),
           "producer_ratio": (">=", 0.6), "consumer_ratio": (">=", 0.6), "nbval_suite_s": ("<=", 300),
           "dashboard_refresh_ms": ("<=", 250)}
RECORDS = 1_000_000
VALUE = b"x" * 100


def labkit_cli(*args: str) -> float:
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "labkit.cli", *args], check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - t0


def start_up(results: dict) -> None:
    """Cold start (fresh state, jars cached) and warm restart (data kept), each to ready."""
    labkit_cli("fetch")
    from labkit.cluster import storage
    if Path(BENCH_ENV["LABKIT_STATE_DIR"]).exists():  # made by a bench run before owner markers
        storage.claim(Path(BENCH_ENV["LABKIT_STATE_DIR"]))
    labkit_cli("down", "--wipe")
    results["cold_start_s"] = round(labkit_cli("up"), 1)
    results["cluster_rss_mib"] = cluster_rss_mib()
    labkit_cli("down")
    results["warm_restart_s"] = round(labkit_cli("up"), 1)


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


def consume_python(lab, topic: str, n: int) -> float:
    # librdkafka's fetch defaults: a profile showed fetch.min.bytes=1 MiB halves the rate
    # (the broker then holds each fetch for fetch.wait.max.ms)
    with lab.consumer(f"bench-{time.time_ns()}", auto_offset_reset="earliest") as c:
        c.subscribe([topic])
        got, t0 = 0, None
        end = time.monotonic() + 300
        while got < n and time.monotonic() < end:
            batch = c.consume(num_messages=10000, timeout=1.0)
            if batch and t0 is None:
                t0 = time.monotonic()
            got += sum(1 for m in batch if not m.error())
        return got / (time.monotonic() - t0)


def consume_java(lab, topic: str, n: int) -> float:
    out = subprocess.run(["kafka-consumer-perf-test", "--bootstrap-server", lab.bootstrap_servers,
                          "--topic", topic, "--messages", str(n), "--timeout", "60000"],
                         capture_output=True, text=True, timeout=600).stdout
    # data line: start, end, MB, MB/s, nMsg, nMsg/s, rebalance ms, fetch ms, fetch MB/s, fetch nMsg/s
    fields = out.strip().splitlines()[-1].split(",")
    return float(fields[-1])  # fetch rate: excludes the group join, as consume_python does


def throughput(results: dict) -> None:
    lab = lk.start(quiet=True)
    py_topic = lab.fresh_topic("bench-python", partitions=3, replication_factor=3)
    java_topic = lab.fresh_topic("bench-java", partitions=3, replication_factor=3)
    py = produce_python(lab, py_topic, RECORDS)
    java = produce_java(lab, java_topic, RECORDS)
    results.update(producer_python_rps=round(py), producer_java_rps=round(java),
                   producer_ratio=round(py / java, 2), cluster_rss_after_workload_mib=cluster_rss_mib())
    py_c = consume_python(lab, java_topic, RECORDS)
    java_c = consume_java(lab, java_topic, RECORDS)
    results.update(consumer_python_rps=round(py_c), consumer_java_rps=round(java_c),
                   consumer_ratio=round(py_c / java_c, 2))


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
    """The whole notebook suite under nbval (one session, as in make test), total and per notebook."""
    lk.start(quiet=True)  # the suite's cluster start is not the notebooks' time
    junit = OUT / "nbval.xml"
    t0 = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "notebooks", f"--junitxml={junit}"],
                         cwd=ROOT, stdout=subprocess.DEVNULL, check=False)
    results["nbval_suite_s"] = round(time.monotonic() - t0, 1)
    results["nbval_passed"] = run.returncode == 0
    results["nbval_per_notebook_s"] = per_notebook(junit)


def per_notebook(junit: Path) -> dict[str, float]:
    """Seconds per notebook, summed over its cells (nbval names them notebooks.NN_x.ipynb)."""
    import xml.etree.ElementTree as ET
    per: dict[str, float] = {}
    for case in ET.parse(junit).iter("testcase"):
        name = case.get("classname", "").removeprefix("notebooks.").removesuffix(".ipynb")
        per[name] = round(per.get(name, 0) + float(case.get("time", 0)), 1)
    return per


def dashboard(results: dict) -> None:
    refresh = HERE / "refresh.py"
    if refresh.exists():
        out = subprocess.run([sys.executable, str(refresh)], capture_output=True, text=True, timeout=600).stdout
        medians = [float(m) for m in re.findall(r"median\s+([\d.]+) ms", out)]
        if len(medians) == 3:  # ask the cluster, draw the grid, draw the lag plot
            results.update(dashboard_ask_ms=medians[0], dashboard_grid_draw_ms=medians[1],
                           dashboard_lag_draw_ms=medians[2], dashboard_refresh_ms=sum(medians))


STEPS = {"startup": start_up, "failover": failover, "throughput": throughput,
         "dashboard": dashboard, "notebooks": notebooks}


def verdicts(results: dict) -> list[tuple[str, object, str, str]]:
    rows = []
    for key, (op, target) in TARGETS.items():
        value = results.get(key)
        if value is None:
            rows.append((key, "not measured", f"{op} {target}", "-"))
            continue
        ok = value <= target if op == "<=" else value >= target
        miss = "" if ok else f" (missed by {abs(value - target):.2f})"
        rows.append((key, value, f"{op} {target}", ("met" if ok else "MISSED") + miss))
    return rows


def report(results: dict) -> None:
    machine = f"{os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, " \
              f"{platform.system()} {platform.machine()}, Python {platform.python_version()}"
    results["machine"] = machine
    results["kafka_version"] = config.KAFKA_VERSION
    results["date"] = time.strftime("%Y-%m-%d")
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [f"Measured {results['date']} on {machine}, Kafka {config.KAFKA_VERSION}, by `make bench`.", "",
             "| figure | value | target | verdict |", "|---|---|---|---|"]
    lines += [f"| `{k}` | {v} | {t} | {verdict} |" for k, v, t, verdict in verdicts(results)]
    extra = {k: v for k, v in results.items() if k not in TARGETS and k not in ("machine", "date", "kafka_version")}
    lines += ["", "Other figures:", ""] + [f"- `{k}`: {v}" for k, v in extra.items()]
    (HERE / "results.md").write_text("\n".join(lines) + "\n")
    plot(results)
    readme_section(lines)
    print("\n".join(lines))


def readme_section(lines: list[str]) -> None:
    """Put the latest figures into docs/benchmarks.md (between its markers)."""
    readme = ROOT / "docs" / "benchmarks.md"
    text = readme.read_text()
    start, end = "<!-- section: benchmarks (issue 8) -->\n", "<!-- end section: benchmarks -->"
    if start not in text or end not in text:
        return
    body = ["Reproduce with `make bench` (after `make test`; about 15 minutes). It runs its own cluster",
            "on ports 18092-18094 and writes `bench/results.json`, `bench/results.md` and this picture.",
            "", *lines, "", "![Each figure as a share of its target](../bench/results.png)",
            "", "Where a target is missed, [bench/NOTES.md](../bench/NOTES.md) says by how much, why, and what would close it.", ""]
    i, j = text.index(start) + len(start), text.index(end)
    readme.write_text(text[:i] + "\n".join(body) + text[j:])


def plot(results: dict) -> None:
    """Each figure as a share of its target: bars under 1.0 (dashed) meet it."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    keys = [k for k in TARGETS if isinstance(results.get(k), (int, float))]
    shares = [(results[k] / TARGETS[k][1]) if TARGETS[k][0] == "<=" else (TARGETS[k][1] / results[k]) if results[k] else 9
              for k in keys]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.barh(keys, shares, color=["#0072B2" if s <= 1 else "#D55E00" for s in shares])
    ax.axvline(1.0, color="black", linestyle="--", linewidth=1)
    ax.set_xlabel("share of target (1.0 = exactly on target; smaller is better)")
    ax.set_title(f"make bench: Kafka {config.KAFKA_VERSION} lab on {os.cpu_count()} cores")
    fig.tight_layout()
    fig.savefig(HERE / "results.png", dpi=110)


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
