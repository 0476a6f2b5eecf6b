"""Prometheus itself, optional: a scrape config labkit writes, and a server run for one lesson (notebook 11).

Operators do not scrape by hand: a Prometheus server scrapes every broker's exporter on a timer,
keeps the numbers as time series, and answers PromQL queries such as
``rate(kafka_server_brokertopicmetrics_bytesinpersec_total[30s])``; Grafana draws those answers.
labkit writes the scrape config for the lab's brokers (``scrape_config``) and, where Prometheus is
installed (Debian and Ubuntu package it: ``sudo apt install prometheus``), runs one on
127.0.0.1 for the lesson (``PrometheusServer``). Without it, notebook 11 skips that step.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
from pathlib import Path

from .. import config
from ..errors import LabError
from ..wait import wait_for
from .metrics import _NO_PROXY

SCRAPE_EVERY = "2s"  # a lesson's minute holds 30 samples; production commonly uses 15-60 s


def executable() -> str | None:
    """The ``prometheus`` program on PATH, or None (the optional step is then skipped)."""
    return shutil.which("prometheus")


def port(cluster) -> int:
    return config.prometheus_port(getattr(cluster, "port_base", None) or config.port_base())


def scrape_config(cluster) -> str:
    """prometheus.yml for the lab: one job, one target per broker, labelled with its id."""
    base = getattr(cluster, "port_base", None) or config.port_base()
    lines = ["# Written by labkit (notebook 11): Prometheus scrapes each broker's JMX exporter.",
             "global:", f"  scrape_interval: {SCRAPE_EVERY}", "scrape_configs:",
             "  - job_name: kafka-lab", "    metrics_path: /metrics", "    static_configs:"]
    for n in config.NODES:
        lines += [f'      - targets: ["{config.HOST}:{config.metrics_port(n, base)}"]',
                  f'        labels: {{broker: "{n}"}}']
    return "\n".join(lines) + "\n"


def folder(cluster) -> Path:
    return Path(getattr(cluster, "state_dir", None) or config.state_dir()) / "prometheus"


def write_config(cluster) -> Path:
    """Write ``scrape_config`` into the cluster's state folder and return the file's path."""
    path = folder(cluster) / "prometheus.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(scrape_config(cluster))
    return path


class PrometheusServer:
    """A Prometheus on 127.0.0.1 scraping the lab (``with lab.prometheus() as prom:``); stops on exit."""

    def __init__(self, cluster, timeout: float = 30.0):
        exe = executable()
        if exe is None:
            raise LabError("Prometheus is not installed.",
                           hint="Debian/Ubuntu: `sudo apt install prometheus`; notebook 11 skips this step without it.")
        self.url = f"http://{config.HOST}:{port(cluster)}"
        cfg = write_config(cluster)
        data = cfg.parent / "data"
        shutil.rmtree(data, ignore_errors=True)  # a lesson's server starts empty: no series left from the last run
        self.log = cfg.parent / "prometheus.log"
        cmd = [exe, f"--config.file={cfg}", f"--storage.tsdb.path={data}",
               f"--web.listen-address={config.HOST}:{port(cluster)}", "--storage.tsdb.retention.time=1d"]
        from ..cluster import procs
        if not procs.port_free(port(cluster)):
            raise LabError(f"Port {port(cluster)} for the lab's Prometheus is already taken.",
                           hint="stop the other Prometheus (`sudo systemctl stop prometheus`) and try again.")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_for("Prometheus to be ready", self._ready, timeout, interval=0.3,
                     on_timeout=lambda: self.log.read_text(errors="replace")[-2000:])
        except BaseException:
            self.stop()
            raise

    def _get(self, path: str, timeout: float = 5.0) -> bytes:
        with _NO_PROXY.open(self.url + path, timeout=timeout) as answer:
            return answer.read()

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise LabError(f"Prometheus exited with status {self.proc.returncode}.",
                           hint=f"its log is {self.log}.")
        try:
            return self._get("/-/ready", timeout=1.0).startswith(b"Prometheus")
        except OSError:
            return False

    def query(self, promql: str) -> list[dict]:
        """The instant answer to ``promql``: a list of {'metric': labels, 'value': [time, text]}."""
        body = json.loads(self._get("/api/v1/query?" + urllib.parse.urlencode({"query": promql})))
        if body.get("status") != "success":
            raise LabError(f"Prometheus refused the query {promql!r}: {body.get('error')}.",
                           hint="check the metric name with lab.metrics()['metric'].unique().")
        return body["data"]["result"]

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s)."""
        from ..cluster import procs
        if self.proc.poll() is None:
            procs.terminate(self.proc.pid, grace=10)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass  # procs.terminate has sent SIGKILL; nothing more to do

    def __enter__(self) -> "PrometheusServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
