"""Operating-system plumbing for broker processes: liveness, signals, ports, and who holds one.

Linux reads ``/proc``; elsewhere (macOS) ``ps`` answers. Every wait here is bounded and polls a
real condition (a process exiting, a port answering); none sleeps a fixed time to hope.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from .. import config

PROC = Path("/proc")
POLL = 0.1  # seconds between checks of a condition


def _reap(pid: int) -> None:
    """Collect a dead child so it does not linger as a zombie that looks alive."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except (ChildProcessError, OSError):
        pass


def state(pid: int | None) -> str:
    """'running', 'paused' (SIGSTOP), 'exiting' or 'dead' for a process id."""
    if not pid:
        return "dead"
    _reap(pid)
    stat = PROC / str(pid) / "stat"
    if PROC.is_dir():
        try:
            code = stat.read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return "dead"
        if code == "Z" and _threads(pid) > 1:
            # the main thread is gone but others still tear down: ports and files are not closed yet
            return "exiting"
        return {"Z": "dead", "X": "dead", "T": "paused", "t": "paused"}.get(code, "running")
    try:
        out = subprocess.run(["ps", "-o", "state=", "-p", str(pid)], capture_output=True,
                             text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "dead"
    if not out or out[0] in "ZX":
        return "dead"
    return "paused" if out[0] == "T" else "running"


def _threads(pid: int) -> int:
    try:
        return sum(1 for _ in (PROC / str(pid) / "task").iterdir())
    except OSError:
        return 0


def alive(pid: int | None) -> bool:
    return state(pid) != "dead"


def cmdline(pid: int) -> str:
    """The command line of a process, or '' when it is gone."""
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        if PROC.is_dir():
            return ""
    try:
        return subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True,
                              text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def pids_matching(marker: str) -> list[int]:
    """Process ids whose command line contains ``marker`` (a broker's config path, say)."""
    found = []
    if PROC.is_dir():
        for entry in PROC.iterdir():
            if entry.name.isdigit() and int(entry.name) != os.getpid() and marker in cmdline(int(entry.name)):
                found.append(int(entry.name))
        return [pid for pid in found if alive(pid)]
    out = subprocess.run(["ps", "-axo", "pid=,command="], capture_output=True, text=True, timeout=10)
    for line in out.stdout.splitlines():
        pid, _, cmd = line.strip().partition(" ")
        if marker in cmd and pid.isdigit() and int(pid) != os.getpid():
            found.append(int(pid))
    return found


def send(pid: int, sig: int) -> bool:
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


def wait_exit(pid: int, timeout: float) -> bool:
    """Wait until the process is gone; True if it exited within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(POLL)
    return not alive(pid)


def wait_state(pid: int, expect: str, timeout: float) -> bool:
    """Wait until the process is in state ``expect`` ('running', 'paused', 'dead')."""
    deadline = time.monotonic() + timeout
    while state(pid) != expect:
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL / 5)
    return True


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
    wait_exit(pid, config.TIMEOUTS.kill)
    return "killed after grace period"


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
    deadline = time.monotonic() + timeout
    while not port_free(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL)
    return True


def _sockets():
    """(address, port, state, inode) of every TCP socket in /proc/net (Linux; nothing elsewhere)."""
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            addr, port = fields[1].rsplit(":", 1)
            yield addr, int(port, 16), fields[3], fields[9]


def _socket_inodes(pid: int | str) -> set[str]:
    inodes = set()
    try:
        fds = list((PROC / str(pid) / "fd").iterdir())
    except OSError:
        return inodes
    for fd in fds:
        try:  # an fd can close between the listing and the readlink
            inodes.add(os.readlink(fd).removeprefix("socket:[").rstrip("]"))
        except OSError:
            continue
    return inodes


def port_owner(port: int) -> str:
    """'pid 123: java ...' for the process holding ``port``, or '' when unknown."""
    # 06 = TIME_WAIT holds no process. Any other state is a live socket (an outgoing connection
    # can own the port too when it lies in the ephemeral range).
    inodes = {inode for _, p, st, inode in _sockets() if p == port and st != "06"}
    if not inodes:
        return _lsof_owner(port)
    for entry in PROC.iterdir():
        if entry.name.isdigit() and _socket_inodes(entry.name) & inodes:
            return f"pid {entry.name}: {cmdline(int(entry.name))[:120]}"
    return ""


def _lsof_owner(port: int) -> str:
    try:
        out = subprocess.run(["lsof", "-nP", f"-iTCP:{port}", "-sTCP:LISTEN", "-t"],
                             capture_output=True, text=True, timeout=5).stdout.split()
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return f"pid {out[0]}: {cmdline(int(out[0]))[:120]}" if out else ""


def listening_addresses(pid: int) -> list[tuple[str, int]]:
    """(address, port) pairs a process listens on, from /proc (Linux only; [] elsewhere)."""
    inodes = _socket_inodes(pid)
    return [(_hex_to_ip(addr), port) for addr, port, st, inode in _sockets() if st == "0A" and inode in inodes]


def _hex_to_ip(addr: str) -> str:
    """/proc/net's hex (32-bit little-endian words) to text; v4-mapped IPv6 shows as IPv4."""
    raw = b"".join(bytes.fromhex(addr[i:i + 8])[::-1] for i in range(0, len(addr), 8))
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw)
    text = socket.inet_ntop(socket.AF_INET6, raw)
    return text.removeprefix("::ffff:") if text.startswith("::ffff:") and "." in text else text
