"""The class's progress board as a web page (issue 20): `labkit class board` serves it with Voilà on
127.0.0.1; Chromium sees a learner's ✔ and, live, a second learner's ✘ arrive; Ctrl-C stops it."""
from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labkit.classroom import roster
from labkit.cluster.local import LocalCluster
from labkit.wait import wait_for
from web import answers

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from spares import free_base  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LEARNER = """
import labkit as lk
from confluent_kafka.admin import NewTopic
lab = lk.start(quiet=True)
topic = lab.name("board-{n}")
if {make}:
    with lab.admin() as admin:
        admin.create_topics([NewTopic(topic, 1, 3)])[topic].result(timeout=30)
lk.exercises.check_topic(lab, topic, partitions=1, replication_factor=3)
"""


def _learner(card: Path, n: int, make: bool) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("LABKIT_BACKEND", "LABKIT_BOOTSTRAP")}
    run = subprocess.run([sys.executable, "-c", LEARNER.format(n=n, make=make)], text=True, capture_output=True,
                         env={**env, "LABKIT_CLASS": str(card)}, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def _board(page) -> str:
    board = page.locator(".labkit-progress-board")
    return board.inner_text() if board.count() else ""


def test_board_page_shows_verdicts_as_they_arrive(page, tmp_path, timings, out_dir, web_port):
    cluster = LocalCluster(state_dir=tmp_path / "class", port_base=free_base(), secure=True)
    proc = None
    try:
        t0 = time.monotonic()
        cards = roster.up(2, None, out=io.StringIO(), cluster=cluster)
        timings("class of 2 up", t0)
        assert "✔ correct" in _learner(cards[0], 1, True)
        log = open(out_dir / "classboard.log", "w")
        env = {**os.environ, "LABKIT_SECURE_STATE_DIR": str(cluster.state_dir)}
        proc = subprocess.Popen([shutil.which("labkit"), "class", "board", "--stuck", "0.01", "--port", str(web_port)],
                                stdout=log, stderr=subprocess.STDOUT, env=env)
        url = f"http://127.0.0.1:{web_port}/"
        t0 = time.monotonic()
        wait_for("the board page to answer", lambda: proc.poll() is not None or answers(url), timeout=90, interval=0.5)
        assert proc.poll() is None, (out_dir / "classboard.log").read_text()
        page.goto(url, timeout=90_000)
        wait_for("learner01's ✔ on the board", lambda: "learner01" in _board(page) and "✔" in _board(page),
                 timeout=90, interval=0.5, on_timeout=lambda: repr(_board(page)))
        timings("board page drawn", t0)
        t0 = time.monotonic()
        assert "✘ not yet" in _learner(cards[1], 2, False)  # learner02's topic does not exist: ✘
        wait_for("learner02's ✘ and its stuck line on the live board",
                 lambda: "learner02" in _board(page) and "learner02: 01 topic for" in _board(page),
                 timeout=60, interval=0.5, on_timeout=lambda: repr(_board(page)))
        timings("a verdict -> the board shows it", t0)
        page.screenshot(path=str(out_dir / "browser-classboard.png"))
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # Ctrl-C
            assert proc.wait(timeout=40) == 0
        roster.down(wipe=True, out=io.StringIO(), cluster=cluster)


