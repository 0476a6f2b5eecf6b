"""One operation at a time per cluster, and one fetch at a time per jar cache (notebook 00).

A terminal's ``labkit up``, two notebooks' ``lab.heal()`` and a dashboard button may all act on
one state folder at once. ``locked`` holds an exclusive ``flock`` on a ``.lock`` file for the
length of one operation; a second caller says whom it waits for and waits, bounded. The lock is
re-entrant within a process (``heal`` resumes brokers and then calls ``up``), and threads of one
process take turns. The kernel drops a ``flock`` when its holder dies, so a killed ``labkit``
never leaves the cluster locked. Atomic file writes live here too: a crash never leaves half a
pid file or ``cluster.json``.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from pathlib import Path

from .. import config
from ..errors import LabError
from ..wait import wait_for

try:
    import fcntl
except ImportError:  # Windows: the lab runs on WSL2 there
    fcntl = None

_HELD: dict[str, list] = {}  # lock path -> [RLock, depth]
_GUARD = threading.Lock()


def _thread_lock(path: Path) -> list:
    with _GUARD:
        return _HELD.setdefault(str(path), [threading.RLock(), 0])


@contextlib.contextmanager
def locked(folder: Path, operation: str, out=None, timeout: float | None = None):
    """Hold ``folder/.lock`` exclusively while ``operation`` runs; wait (bounded) for a holder."""
    if fcntl is None:
        raise LabError("labkit needs a POSIX system to lock its cluster folder (fcntl is missing).",
                       hint="on Windows, run the lab inside WSL2 (the README says how).")
    timeout = config.TIMEOUTS.lock if timeout is None else timeout
    path = Path(folder) / ".lock"
    entry = _thread_lock(path)
    if not entry[0].acquire(timeout=timeout):
        raise LabError(f"Another thread held the cluster in {folder} for over {timeout:.0f} s.",
                       hint="wait for the other cell or button to finish, then try again.")
    try:
        entry[1] += 1
        if entry[1] > 1:  # re-entered by the holder itself
            yield
            return
        fd = _open(path)
        try:
            _acquire(fd, path, operation, out, timeout)
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()} {operation}\n".encode())
            yield
        finally:
            os.close(fd)  # closing drops the flock
    finally:
        entry[1] -= 1
        entry[0].release()


def _open(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise os_error(exc, path.parent) from None


def _acquire(fd: int, path: Path, operation: str, out, timeout: float) -> None:
    def take() -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
    if take():
        return
    holder = _holder(path)
    (out or sys.stderr).write(f"Waiting for another labkit ({holder}) to finish with "
                              f"{path.parent} before {operation} (up to {timeout:.0f} s) ...\n")
    t0 = time.monotonic()
    wait_for(f"another labkit ({holder}) to release {path.parent}", take, timeout, interval=0.2,
             hint="it may still be starting the cluster; `labkit status` shows what runs. A "
                  "stuck labkit can be ended with Ctrl-C in its terminal.")
    (out or sys.stderr).write(f"... it finished after {time.monotonic() - t0:.1f} s.\n")


def _holder(path: Path) -> str:
    try:
        pid, _, operation = path.read_text().strip().partition(" ")
        return f"pid {pid}, {operation}" if pid else "unknown"
    except OSError:
        return "unknown"


def write_atomic(path: Path, text: str, mode: int = 0o600) -> None:
    """Write ``text`` to ``path`` so readers see the old file or the new one, never half."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise os_error(exc, path.parent) from None


def os_error(exc: OSError, where: Path, setting: str = "LABKIT_STATE_DIR") -> LabError:
    """An OSError about the lab's own files as a LabError that says what to do."""
    import errno
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        hint = f"free some space on the disk that holds {where} (`df -h {where}`), then try again."
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = f"make {where} writable for you, or point {setting} at a folder you own."
    else:
        hint = f"point {setting} at a folder you can write to."
    return LabError(f"labkit cannot write in {where} ({exc.strerror or exc}).", hint=hint)
