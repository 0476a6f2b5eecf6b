"""Broker metrics now and over time, as operators see them (notebook 11).

Each broker's JVM runs the Prometheus JMX exporter agent (``labkit.cluster.exporter``), which
serves the broker's JMX metrics in Prometheus's text format on 127.0.0.1. ``scrape`` asks every
broker at once and parses the answers with ``prometheus_client``'s own parser into one tidy
DataFrame: ``broker, metric, labels, value``. Every broker also gets an ``up`` row, 1 when it
answered and 0 when not, with the reason in ``labels``: a broker that is down is part of the
lesson, so its row says so and the others still come back. ``MetricsSampler`` records such
tables every few seconds, like the lag sampler (notebook 05), for ``metricplots.plot_metrics``.
"""
from __future__ import annotations

import re
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
from prometheus_client.parser import text_string_to_metric_families

from .. import config
from ..errors import LabError
from .sampler import LagSampler

COLUMNS = ["broker", "metric", "labels", "value"]
TIMEOUT = 2.0  # seconds per broker: the agent answers in tens of ms; a paused JVM never does
# what a sampler keeps by default: the broker's own metrics, heap and GC (not every JVM detail)
SAMPLED = r"^(up|kafka_|jvm_memory_used_bytes|jvm_gc_collection_seconds)"
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _labels(labels: dict) -> str:
    """Labels as one sortable, hashable text: 'request=Produce,version=11' ('' for none)."""
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def parse(text: str, broker: int) -> list[tuple]:
    """Rows (broker, metric, labels, value) of one broker's ``/metrics`` answer."""
    rows = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            rows.append((broker, sample.name, _labels(sample.labels), float(sample.value)))
    return rows


def _pattern(match: str | None):
    try:
        return re.compile(match) if match else None
    except re.error as exc:
        raise LabError(f"match={match!r} is not a regular expression: {exc}.",
                       hint="give part of a metric name, for example 'underreplicated'.") from None


def _fetch(url: str, timeout: float) -> str:
    with _NO_PROXY.open(url, timeout=timeout) as answer:  # 127.0.0.1 only: never via http_proxy
        return answer.read().decode("utf-8", errors="replace")


def _one(node: int, base: int, timeout: float, stamps: dict) -> list[tuple]:
    """One broker's rows, its ``up`` row first; a broker that does not answer gives that row alone.

    ``stamps[node]`` gets the moment its answer arrived: a sampler's rates use each broker's own
    time, not one time for all three (a busy broker may answer a few hundred ms later).
    """
    url = endpoint(node, base)
    try:
        text = _fetch(url, timeout)
        stamps[node] = pd.Timestamp.now()
    except urllib.error.URLError as exc:
        reason = getattr(exc, "reason", exc)
        why = "connection refused: broker down or started without the metrics agent" \
            if isinstance(reason, ConnectionRefusedError) else str(reason)
        return [(node, "up", f"error={why}", 0.0)]
    except (OSError, ValueError) as exc:  # a timeout (paused broker), a reset, a half answer
        return [(node, "up", f"error={type(exc).__name__}: {exc}".rstrip(": "), 0.0)]
    try:
        rows = parse(text, node)
    except ValueError as exc:
        return [(node, "up", f"error=unreadable answer: {exc}", 0.0)]
    return [(node, "up", "", 1.0)] + rows


def endpoint(node: int, base: int) -> str:
    """The URL of broker ``node``'s metrics (the same the lab's Prometheus config lists)."""
    return f"http://{config.HOST}:{config.metrics_port(node, base)}/metrics"


def scrape(cluster, match: str | None = None, timeout: float = TIMEOUT, stamped: bool = False) -> pd.DataFrame:
    """Every broker's metrics now, scraped concurrently: a DataFrame ``broker, metric, labels, value``.

    ``match`` keeps metrics whose name matches that regular expression (the ``up`` rows always
    stay). ``stamped`` adds a first column ``time``: when each broker's answer arrived (samplers).
    Used by ``lab.metrics()`` (notebook 11); bounded by ``timeout`` seconds in all.
    """
    base = getattr(cluster, "port_base", None) or config.port_base()
    pattern = _pattern(match)
    rows, stamps = [], {}
    # a pool per scrape: its threads end with it, so a stopped sampler or dashboard leaves none behind
    with ThreadPoolExecutor(max_workers=len(config.NODES), thread_name_prefix="labkit-metrics") as pool:
        for part in pool.map(lambda n: _one(n, base, timeout, stamps), config.NODES):
            rows += part
    df = pd.DataFrame(rows, columns=COLUMNS)
    if pattern is not None:
        df = df[[m == "up" or bool(pattern.search(m)) for m in df["metric"]]].reset_index(drop=True)
    if stamped:
        now = pd.Timestamp.now()
        df.insert(0, "time", [stamps.get(b, now) for b in df["broker"]])
    return df


class MetricsSampler(LagSampler):
    """Records ``scrape(cluster)`` every ``every`` seconds on a background thread (notebook 11).

    The lag sampler's thread, history and stop (``sampler.LagSampler``), sampling metrics
    instead: ``history`` has the columns ``time, broker, metric, labels, value``.
    """

    def __init__(self, cluster, every: float = 1.0, max_samples: int = 3600,
                 match: str | None = SAMPLED, start: bool = True):
        self.cluster = cluster
        self.match = match
        _pattern(match)  # a bad regex fails here, not on the thread
        if not every or every < 0.1:
            raise LabError(f"every={every!r} is too short for a metrics sampler.",
                           hint="scrape at most ten times a second: every=0.1 or more (Prometheus uses 15 s).")
        super().__init__(None, "metrics", every, max_samples, start=start)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<MetricsSampler: {state}, {self.samples} samples every {self.every:g} s>"

    @property
    def history(self) -> pd.DataFrame:
        """Every sample so far: ``time, broker, metric, labels, value`` (a copy: safe to keep)."""
        frame = LagSampler.history.fget(self)
        return frame if len(frame) else pd.DataFrame(columns=["time", *COLUMNS])

    def sample(self) -> pd.DataFrame:
        """Take one sample now (the thread calls this) and add it to the history."""
        return self.record(scrape(self.cluster, self.match, stamped=True))

    def record(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Add one stamped scrape (``scrape(..., stamped=True)``) to the history as one sample."""
        with self._lock:
            self._frames.append(frame)
            self.samples += 1
        return frame
