"""`make bench`'s report: each figure beside its target (issue 21), as JSON, Markdown and a picture.

``bench/run.py`` measures; this module judges and writes ``bench/results.{json,md,png}`` and the
section of docs/benchmarks.md between its markers.
"""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

from labkit import config

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# issue 21's targets on the 2-core machine (issue 16's for the later lessons); the consumer ratio is
# reported, no longer judged
TARGETS = {"cold_start_s": ("<=", 6), "warm_restart_s": ("<=", 4), "cluster_rss_mib": ("<=", 600),
           "cluster_rss_after_workload_mib": ("<=", 1024), "failover_first_ack_s": ("<=", 6),
           "producer_ratio": (">=", 0.6), "nbval_suite_s": ("<=", 150), "nbval_slowest_s": ("<=", 40),
           "nbval_later_slowest_s": ("<=", 90),
           "dashboard_refresh_ms": ("<=", 150), "dashboard_refresh_p90_ms": ("<=", 300),
           "metrics_scrape_ms": ("<=", 200), "metrics_agent_start_pct": ("<=", 15),
           "metrics_agent_rss_mib": ("<=", 64), "make_test_s": ("<=", 1800), "make_check_s": ("<=", 180)}
LABELS = {"cold_start_s": "cold start to ready, s", "warm_restart_s": "restart with data, s",
          "cluster_rss_mib": "cluster memory after start, MiB", "cluster_rss_after_workload_mib":
          "cluster memory after 1M records, MiB", "failover_first_ack_s": "failover to the next acknowledged write, s",
          "producer_ratio": "Python producer / Java perf tool", "nbval_suite_s": "core lessons (00-07) under nbval, s",
          "nbval_slowest_s": "slowest core lesson, s",
          "nbval_later_slowest_s": "slowest later lesson (08 on), s", "dashboard_refresh_ms": "dashboard refresh median, ms",
          "dashboard_refresh_p90_ms": "dashboard refresh p90, ms", "make_test_s": "`make test` from a fresh clone, s",
          "make_check_s": "`make check`, s", "metrics_scrape_ms": "`lab.metrics()` for 3 brokers, median ms",
          "metrics_agent_start_pct": "metrics agent's cost on start, %",
          "metrics_agent_rss_mib": "metrics agent's memory per broker, MiB"}


def verdicts(results: dict) -> list[tuple[str, object, str, str]]:
    rows = []
    for key, (op, target) in TARGETS.items():
        value = results.get(key)
        if value is None:
            rows.append((key, "not measured", f"{op} {target}", "-"))
            continue
        ok = value <= target if op == "<=" else value >= target
        rows.append((key, value, f"{op} {target}", "met" if ok else f"MISSED by {abs(value - target):.2f}"))
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
    readme_section(lines, results)
    print("\n".join(lines))


def readme_section(lines: list[str], results: dict) -> None:
    """The full table into docs/benchmarks.md, the headline one into the README (between markers)."""
    body = ["Reproduce with `make bench` (after `make test`; about 10 minutes). It runs its own cluster",
            "on ports 18092-18094 and writes `bench/results.json`, `bench/results.md` and this picture.",
            "", *lines, "", "![Each figure as a share of its target](../bench/results.png)",
            "", "Where a target is missed, [bench/NOTES.md](../bench/NOTES.md) says by how much, why, and what would close it.", ""]
    _between(ROOT / "docs" / "benchmarks.md", "benchmarks (issue 8)", "benchmarks", body)
    rows = ["| | measured | target | verdict |", "|---|---|---|---|"]
    rows += [f"| {LABELS[k]} | {v} | {t} | {verdict} |" for k, v, t, verdict in verdicts(results)]
    _between(ROOT / "README.md", "performance", "performance",
             [f"Measured by `make bench` on {results['machine'].split(',')[0]}, {results['date']}:", "",
              *rows, "", "Every figure, and what each miss would take: [docs/benchmarks.md](docs/benchmarks.md).", ""])


def _between(path: Path, start: str, end: str, body: list[str]) -> None:
    text = path.read_text()
    start, end = f"<!-- section: {start} -->\n", f"<!-- end section: {end} -->"
    if start in text and end in text:
        i, j = text.index(start) + len(start), text.index(end)
        path.write_text(text[:i] + "\n".join(body) + text[j:])


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


