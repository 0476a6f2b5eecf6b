"""Operating-system plumbing for broker processes: state, identity, signals, ports (notebook 00).

psutil answers every question about a process (state, start time, argv, sockets) on Linux and
macOS alike. A broker is recognised by what labkit recorded when it started it: its pid, its
start time, and an argv holding exactly its ``server.properties`` path and ``kafka.Kafka``;
nothing is ever signalled because its command line merely contains a path. Every wait here is
bounded and polls a real condition (``labkit.wait``).
"""
from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import psutil

from .. import config
from ..wait import until

POLL = 0.1  # seconds between checks of a condition
BROKER_MAIN = "kafka.Kafka"


def _proc(pid: int | None) -> psutil.Process | None:
    try:
        return psutil.Process(pid) if pid else None
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return None


def _reap_own_child(proc: psutil.Process) -> None:
    """Collect a dead child of this process (only ours: never steal another's exit status)."""
    try:
        if proc.ppid() == os.getpid():
            os.waitpid(proc.pid, os.WNOHANG)
    except (psutil.Error, ChildProcessError, OSError):
        pass


def state(pid: int | None) -> str:
    """'running', 'paused' (SIGSTOP), 'exiting' or 'dead' for a process id."""
    proc = _proc(pid)
    if proc is None:
        return "dead"
    try:
        status = proc.status()
        if status == psutil.STATUS_ZOMBIE:
            # a killed JVM's main thread is a zombie while other threads still tear down and hold
            # its ports and files: not gone yet
            if _threads(proc) > 1:
                return "exiting"
            _reap_own_child(proc)
            return "dead"
    except psutil.ZombieProcess:
        return "exiting" if _threads(proc) > 1 else "dead"
    except psutil.Error:
        return "dead"
    if status == psutil.STATUS_DEAD:
        return "dead"
    return "paused" if status in (psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP) else "running"


def _threads(proc: psutil.Process) -> int:
    try:
        return proc.num_threads()
    except psutil.Error:
        return 0


def alive(pid: int | None) -> bool:
    return state(pid) != "dead"


def argv(pid: int) -> list[str]:
    """The argument vector of a process, or [] when it is gone or not readable."""
    proc = _proc(pid)
    try:
        return proc.cmdline() if proc else []
    except psutil.Error:
        return []


def cmdline(pid: int) -> str:
    """The command line of a process as one string (for messages), or '' when it is gone."""
    return " ".join(argv(pid))


def start_time(pid: int) -> float | None:
    proc = _proc(pid)
    try:
        return proc.create_time() if proc else None
    except psutil.Error:
        return None


def same_start(recorded: float | None, actual: float | None) -> bool:
    """Start times agree (psutil derives them from boot time and clock ticks: allow a tick)."""
    return recorded is None or (actual is not None and abs(recorded - actual) < 0.05)


def is_broker(pid: int, props: Path, started: float | None = None) -> bool:
    """True when ``pid`` is the broker labkit started on ``props`` (and at ``started``)."""
    args = argv(pid)
    return alive(pid) and str(props) in args and BROKER_MAIN in args \
        and same_start(started, start_time(pid))


def brokers_on(props: Path) -> list[tuple[int, bool]]:
    """(pid, ours) of every live JVM whose argv runs ``kafka.Kafka`` on exactly ``props``.

    ``ours`` is False for another user's process: reported, never signalled.
    """
    found = []
    me = os.getuid() if hasattr(os, "getuid") else None
    for proc in psutil.process_iter(["pid", "cmdline", "uids"]):
        args = proc.info.get("cmdline") or []
        if str(props) in args and BROKER_MAIN in args and alive(proc.pid):
            uids = proc.info.get("uids")
            found.append((proc.pid, me is None or uids is None or uids.real == me))
    return found


def pids_matching(marker: str) -> list[int]:
    """Live process ids with ``marker`` in one argv element (tests use it to look for strays).

    Never used to choose what to signal: ``brokers_on`` matches exactly.
    """
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        if proc.pid != os.getpid() and any(marker in a for a in proc.info.get("cmdline") or []):
            found.append(proc.pid)
    return [pid for pid in found if alive(pid)]


def send(pid: int, sig: int) -> bool:
    """Signal a process; False when it is gone or not ours to signal (another user's)."""
    try:
        os.kill(pid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def wait_exit(pid: int, timeout: float) -> bool:
    """Wait until the process is gone; True if it exited within ``timeout`` seconds."""
    return bool(until(lambda: not alive(pid), timeout, POLL))


def wait_state(pid: int, expect: str, timeout: float) -> bool:
    """Wait until the process is in state ``expect`` ('running', 'paused', 'dead')."""
    return bool(until(lambda: state(pid) == expect, timeout, POLL / 5))


def terminate(pid: int, grace: float) -> str:
    """Graceful stop: SIGCONT (a paused JVM cannot act on SIGTERM), SIGTERM, then SIGKILL."""
    if not alive(pid):
        return "not running"
    send(pid, signal.SIGCONT)
    send(pid, signal.SIGTERM)
    return finish(pid, grace)


def finish(pid: int, grace: float) -> str:
    """Wait for a process already sent SIGTERM; SIGKILL it once the grace period is over."""
    if wait_exit(pid, grace):
        return "stopped"
    send(pid, signal.SIGKILL)
    return "killed after grace period" if wait_exit(pid, config.TIMEOUTS.kill) else "still exiting"


def port_answers(port: int, host: str = config.HOST, timeout: float = 0.3) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_free(port: int, host: str = config.HOST) -> bool:
    """True when a server could bind host:port now (as the broker will)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            return True
        except OSError:
            return False


def wait_port_free(port: int, timeout: float) -> bool:
    """Wait until host:port can be bound; True if it could within ``timeout`` seconds."""
    return bool(until(lambda: port_free(port), timeout, POLL))


def port_owner(port: int) -> str:
    """'pid 123: java ...' for the process holding ``port``, or '' when unknown."""
    try:
        conns = psutil.net_connections(kind="tcp")
    except (psutil.Error, OSError):  # macOS without root: only per-process tables
        conns = []
    for conn in conns:
        # TIME_WAIT holds no process; any other state is a live socket
        if conn.laddr and conn.laddr.port == port and conn.status != psutil.CONN_TIME_WAIT and conn.pid:
            return f"pid {conn.pid}: {cmdline(conn.pid)[:120]}"
    return ""


def listening_addresses(pid: int) -> list[tuple[str, int]]:
    """(address, port) pairs a process listens on."""
    proc = _proc(pid)
    try:
        conns = proc.net_connections(kind="tcp") if proc else []
    except psutil.Error:
        return []
    return [(_plain(c.laddr.ip), c.laddr.port) for c in conns if c.status == psutil.CONN_LISTEN]


def client_connections(pids: list[int], ports: set[int]) -> int:
    """Established connections to ``ports`` of ``pids`` that come from outside those processes.

    Brokers replicate over the client listener too; a connection whose far end is another of
    ``pids``' own sockets is replication, not a client (the idle watchdog counts the rest).
    """
    conns = []
    for pid in pids:
        proc = _proc(pid)
        try:
            conns += proc.net_connections(kind="tcp") if proc else []
        except psutil.Error:
            continue
    own = {(c.laddr.ip, c.laddr.port) for c in conns if c.laddr}
    return sum(1 for c in conns if c.status == psutil.CONN_ESTABLISHED and c.laddr.port in ports
               and c.raddr and (c.raddr.ip, c.raddr.port) not in own)


def _plain(ip: str) -> str:
    """A v4-mapped IPv6 address as IPv4 text."""
    return ip.removeprefix("::ffff:") if ip.startswith("::ffff:") and "." in ip else ip
