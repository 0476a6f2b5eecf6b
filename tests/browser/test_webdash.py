"""The live view as a web page (notebook 11): `labkit dashboard TOPIC --group G` serves it with Voilà
on 127.0.0.1; Chromium loads it and sees the grid and the metrics table change when a broker is
killed; Ctrl-C stops Voilà and its kernel, and the cluster keeps running."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import psutil
import pytest
from confluent_kafka import TopicPartition

from labkit.cluster import procs
from labkit.wait import wait_for
from web import answers

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TOPIC, GROUP = "web-dashboard", "web-dashboard-readers"


def _panel(page) -> str:
    panel = page.locator(".labkit-metrics")
    return panel.inner_text() if panel.count() else ""


def _grid(page) -> str:
    words = page.locator(".labkit-dashboard .labkit-grid-words")
    return words.inner_text() if words.count() else ""


def test_web_dashboard_follows_a_killed_broker_and_stops_on_ctrl_c(page, healthy_lab, commit_offsets,
                                                                   timings, out_dir, web_port):
    lab = healthy_lab
    lab.fresh_topic(TOPIC, partitions=3, replication_factor=3)
    commit_offsets(GROUP, [TopicPartition(TOPIC, 0, 0)])
    port = web_port
    log = open(out_dir / "webdash.log", "w")
    proc = subprocess.Popen([shutil.which("labkit"), "dashboard", TOPIC, "--group", GROUP, "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
    url = f"http://127.0.0.1:{port}/"
    try:
        t0 = time.monotonic()
        wait_for("the dashboard page to answer", lambda: proc.poll() is not None or answers(url),
                 timeout=90, interval=0.5)
        assert proc.poll() is None, (out_dir / "webdash.log").read_text()
        voila = psutil.Process(proc.pid).children()[0]
        assert {addr for addr, p in procs.listening_addresses(voila.pid) if p == port} == {"127.0.0.1"}
        page.goto(url, timeout=90_000)
        wait_for("the grid and the metrics of three running brokers", lambda: "dead brokers: none" in _grid(page)
                 and _panel(page).count("up") >= 3, timeout=120, interval=0.5,
                 on_timeout=lambda: f"grid: {_grid(page)!r}; metrics: {_panel(page)!r}")
        timings("web dashboard drawn", t0)
        page.screenshot(path=str(out_dir / "browser-webdash.png"))

        t0 = time.monotonic()
        lab.kill(2)
        wait_for("the page to show broker 2 dead in the grid and down in the metrics",
                 lambda: "dead brokers: 2" in _grid(page) and "DOWN" in _panel(page), timeout=60, interval=0.5,
                 on_timeout=lambda: f"grid: {_grid(page)!r}; metrics: {_panel(page)!r}")
        timings("broker 2 killed -> web page shows it", t0)
        page.screenshot(path=str(out_dir / "browser-webdash-dead.png"))
        kernels = [c for c in voila.children(recursive=True) if "ipykernel" in " ".join(c.cmdline())]
        assert kernels, "Voilà runs the page in a kernel"
    finally:
        t0 = time.monotonic()
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            code = proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        finally:
            log.close()
    timings("Ctrl-C -> dashboard stopped", t0)
    assert code == 0, (out_dir / "webdash.log").read_text()
    assert "Dashboard stopped." in (out_dir / "webdash.log").read_text()
    wait_for("Voilà's kernel to end", lambda: not any(k.is_running() and k.status() != psutil.STATUS_ZOMBIE
                                                      for k in kernels), timeout=20)
    assert procs.port_free(port)
    assert lab.cluster.status()[0]["state"] == "running"  # the cluster outlives its dashboard
