"""The idle watchdog: ``labkit up --idle-stop MINUTES`` stops a cluster no client has used.

Brokers outlive notebooks by design (notebook 00), but not forever unnoticed. ``start`` launches
this module as a small detached process beside the brokers; it asks the brokers themselves, every
few seconds, how many connections from outside the cluster they hold on their client ports
(replication between them does not count), and runs ``down`` once none has been connected for
the given minutes. ``down`` stops the watchdog. It writes what it did to ``idle.log``.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from .. import config
from . import procs
from .lock import write_atomic

PID_FILE = "idle.pid"
LOG_FILE = "idle.log"


def _argv(cluster, minutes: float) -> list[str]:
    return [sys.executable, "-m", "labkit.cluster.idle", str(cluster.state_dir), str(minutes)]


def running(cluster) -> int | None:
    """The watchdog's pid when it runs for this cluster (pid, start time and argv all match)."""
    try:
        pid, started = (cluster.state_dir / PID_FILE).read_text().split()
        pid, started = int(pid), float(started)
    except (OSError, ValueError):
        return None
    args = procs.argv(pid)
    ok = procs.alive(pid) and "labkit.cluster.idle" in args and str(cluster.state_dir) in args
    return pid if ok and procs.same_start(started, procs.start_time(pid)) else None


def start(cluster, minutes: float, out) -> None:
    """(Re)start the watchdog with ``minutes``; it runs in its own session, like the brokers."""
    pid = running(cluster)
    if pid and procs.argv(pid)[-1:] == [str(minutes)]:
        return  # already watching with this limit (every `heal` calls `up`)
    stop(cluster)
    with open(cluster.state_dir / LOG_FILE, "ab") as log:
        proc = subprocess.Popen(_argv(cluster, minutes), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    write_atomic(cluster.state_dir / PID_FILE, f"{proc.pid} {procs.start_time(proc.pid)}")
    out.write(f"The cluster stops itself after {minutes:g} min without a client "
              f"(watchdog pid {proc.pid}; `labkit down` stops both).\n")


def stop(cluster) -> None:
    pid = running(cluster)
    if pid and pid != os.getpid():
        procs.terminate(pid, grace=5)
    (cluster.state_dir / PID_FILE).unlink(missing_ok=True)


def watch(state_dir: Path, minutes: float) -> int:
    """The watchdog's loop: stop the cluster after ``minutes`` without a client connection."""
    from .local import LocalCluster

    cluster = LocalCluster(state_dir=state_dir)
    ports = {config.client_port(n, cluster.port_base) for n in config.NODES}
    limit = minutes * 60
    every = min(10.0, max(0.5, limit / 10))
    last_used = time.monotonic()
    while True:
        pids = [p for p in (cluster.pid(n) for n in config.NODES) if p]
        if not pids:
            print(f"{time.ctime()}: no broker runs any more; the watchdog ends.", flush=True)
            return 0
        if procs.client_connections(pids, ports):
            last_used = time.monotonic()
        elif time.monotonic() - last_used >= limit:
            print(f"{time.ctime()}: no client for {minutes:g} min: stopping the cluster.", flush=True)
            cluster.down(out=sys.stdout)
            return 0
        time.sleep(every)


if __name__ == "__main__":
    sys.exit(watch(Path(sys.argv[1]), float(sys.argv[2])))
