"""Running the lesson's Kafka Streams application as a managed process (notebook 09).

``app = lk.streams.run_app(lab, "wordcount-09", source, sink)`` compiles the app if needed
(``build``), starts one JVM for it in its own session, and returns once Kafka Streams reports
RUNNING. Everything about it lives in the cluster's state folder, ``streams/<app id>/``: its
``pid`` file (pid and start time), ``app.log`` (its output) and ``state/`` (its RocksDB stores).
``app.stop()`` (or leaving a ``with`` block, or the kernel's exit, or ``labkit down``) ends it:
SIGTERM lets Kafka Streams close and commit, SIGKILL follows after a grace period.
"""
from __future__ import annotations

import atexit
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from .. import clients, config
from ..cluster import fetch, procs
from ..cluster.lock import write_atomic
from ..errors import LabError
from ..wait import wait_for
from . import build
from .windowed import partitions_of, read_results

# small and quick: C1 only, serial GC, the JDK's own class-data archive; RocksDB lives off-heap
JVM_FLAGS = ("-Xms32m", "-Xmx160m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto",
             "-Djava.awt.headless=true")
START_TIMEOUT = 90.0  # JVM start, RocksDB's native library, the group's first rebalance on 2 cores
STOP_GRACE = 30.0
INTERNAL = ("-repartition", "-changelog")  # Kafka Streams' internal topic names end so
_RUNNING: dict[int, "StreamsApp"] = {}  # apps this Python process started, stopped at its exit


def apps_dir(state_dir: Path | None = None) -> Path:
    return Path(state_dir or config.state_dir()).expanduser().resolve() / "streams"


def _is_app(pid: int, folder: Path, started: float | None) -> bool:
    """True when ``pid`` is the app labkit started in ``folder`` (exact argv and start time)."""
    args = procs.argv(pid)
    return procs.alive(pid) and build.MAIN in args and str(folder / "state") in args \
        and procs.same_start(started, procs.start_time(pid))


def _recorded_pid(folder: Path) -> int | None:
    try:
        pid, _, started = (folder / "pid").read_text().partition(" ")
        pid, started = int(pid), float(started) if started.strip() else None
    except (OSError, ValueError):
        return None
    return pid if _is_app(pid, folder, started) else None


class StreamsApp:
    """One Kafka Streams application of the lab; ``with run_app(...) as app:`` stops it at the end."""

    def __init__(self, lab, app_id: str, source: str, sink: str, window_s: int = 10, grace_s: int = 5,
                 state_dir: Path | None = None):
        if not re.fullmatch(r"[A-Za-z0-9._-]{1,100}", app_id):
            raise LabError(f"application id {app_id!r} is not usable as a folder and topic prefix.",
                           hint="use letters, digits, '.', '_' and '-' only, e.g. 'wordcount-09'.")
        if int(window_s) != window_s or int(grace_s) != grace_s or window_s < 1 or grace_s < 0:
            raise LabError(f"window_s={window_s}, grace_s={grace_s}: the app takes whole seconds, a window "
                           "of at least 1 s and a grace of 0 or more.", hint="for example window_s=10, grace_s=5.")
        self.lab, self.app_id, self.source, self.sink = lab, app_id, source, sink
        self.window_s, self.grace_s = int(window_s), int(grace_s)
        # under the cluster's state folder (``state_dir``: another cluster's), where `labkit down` looks
        self.folder = apps_dir(state_dir or getattr(lab.cluster, "state_dir", None)) / app_id
        self.pid: int | None = None

    def __repr__(self) -> str:
        return f"<Kafka Streams app {self.app_id!r}: {self.state}>"

    # ---- lifecycle ----------------------------------------------------------------------
    def start(self, out=sys.stdout, reset: bool = True) -> "StreamsApp":
        """Start the JVM and wait until Kafka Streams says RUNNING; ``reset`` first deletes what
        an earlier run of this application id left (internal topics, group, local state)."""
        stop_folder(self.folder, out)  # one JVM per application id, whoever started the last one
        clients.require_cluster(self.lab.bootstrap_servers)
        for topic in (self.source, self.sink):  # Kafka Streams would wait or fail deep in its threads
            partitions_of(self.lab, topic)
        cp = build.classpath(out)
        if reset:
            self.reset()
        self.folder.mkdir(parents=True, exist_ok=True)
        cmd = [fetch.java(), *JVM_FLAGS, f"-Dlog4j2.configurationFile={config.TOOLS_LOG4J}",
               "-cp", ":".join(cp), build.MAIN, self.lab.bootstrap_servers, self.app_id, self.source,
               self.sink, str(self.folder / "state"), str(self.window_s), str(self.grace_s)]
        log = self.folder / "app.log"
        with open(log, "wb") as sink:  # a fresh log per start: the waits below read this run's lines
            proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, cwd=self.folder)
        self.pid = proc.pid
        _RUNNING[proc.pid] = self
        write_atomic(self.folder / "pid", f"{proc.pid} {procs.start_time(proc.pid) or ''}".strip())
        try:
            wait_for(f"Kafka Streams app {self.app_id!r} to reach RUNNING", self._running, START_TIMEOUT, 0.2,
                     hint=f"its log is {log}; `lab.status()` shows the brokers.", on_timeout=self.log_tail)
        except BaseException:
            self.stop(out=_Quiet())  # a failed start leaves no JVM behind
            raise
        out.write(f"Kafka Streams app {self.app_id!r} is RUNNING (pid {proc.pid}, log {log}).\n")
        return self

    def _running(self) -> bool:
        states = self.states()
        if states and states[-1] in ("ERROR", "PENDING_ERROR", "NOT_RUNNING"):
            raise LabError(f"Kafka Streams app {self.app_id!r} went to {states[-1]}.",
                           log_tail=self.log_tail())
        if not procs.alive(self.pid):
            raise LabError(f"Kafka Streams app {self.app_id!r} exited during start-up.",
                           hint="its last log lines are below.", log_tail=self.log_tail())
        return bool(states) and states[-1] == "RUNNING"

    def stop(self, out=sys.stdout) -> str:
        """SIGTERM (Kafka Streams closes and commits), then SIGKILL after a grace period."""
        pid = self.pid if self.pid and _is_app(self.pid, self.folder, None) else _recorded_pid(self.folder)
        said = procs.terminate(pid, grace=STOP_GRACE) if pid else "not running"
        (self.folder / "pid").unlink(missing_ok=True)
        _RUNNING.pop(self.pid, None)
        out.write(f"Kafka Streams app {self.app_id!r}: {said}.\n")
        return said

    def kill(self) -> None:
        """SIGKILL: a crash, nothing committed or closed (its open transaction is aborted later)."""
        pid = _recorded_pid(self.folder)
        if pid:
            procs.send(pid, signal.SIGKILL)
            procs.wait_exit(pid, config.TIMEOUTS.kill)
        (self.folder / "pid").unlink(missing_ok=True)

    def __enter__(self) -> "StreamsApp":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget an earlier run: its internal topics, its consumer group and its local stores."""
        from ..topics import delete_topic
        admin = self.lab.admin()
        for topic in self.internal_topics():
            delete_topic(admin, topic)
        try:
            admin.delete_consumer_groups([self.app_id], request_timeout=10)[self.app_id].result(15)
        except Exception:  # noqa: BLE001 - no such group yet is the usual answer
            pass
        shutil.rmtree(self.folder / "state", ignore_errors=True)

    # ---- what it shows ------------------------------------------------------------------
    @property
    def state(self) -> str:
        """The last state Kafka Streams reported (RUNNING, REBALANCING, ...) or 'stopped'."""
        if not (self.pid and procs.alive(self.pid)):
            return "stopped"
        states = self.states()
        return states[-1] if states else "CREATED"

    def states(self) -> list[str]:
        return re.findall(r"^STATE (\w+)$", self._log(), re.M)

    def topology(self) -> str:
        """``Topology.describe()`` as the app printed it: sub-topologies, processors, stores."""
        match = re.search(r"TOPOLOGY-BEGIN\n(.*?)\nTOPOLOGY-END", self._log(), re.S)
        return match.group(1).strip() if match else ""

    def internal_topics(self) -> list[str]:
        """The topics Kafka Streams created for this app: ``<app id>-...-repartition/-changelog``."""
        names = self.lab.admin().list_topics(timeout=config.TIMEOUTS.request).topics
        return sorted(t for t in names if t.startswith(f"{self.app_id}-") and t.endswith(INTERNAL))

    def results(self, timeout: float = 15) -> list[dict]:
        """The final window counts in the output topic (committed records only)."""
        return read_results(self.lab, self.sink, timeout)

    def _log(self) -> str:
        try:
            return (self.folder / "app.log").read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 25) -> str:
        return "\n".join(self._log().splitlines()[-lines:])


def run_app(lab, app_id: str, source: str, sink: str, window_s: int = 10, grace_s: int = 5,
            out=sys.stdout) -> StreamsApp:
    """Compile (once), start and wait for the lesson's Kafka Streams app; ``.stop()`` ends it."""
    return StreamsApp(lab, app_id, source, sink, window_s, grace_s).start(out)


def stop_folder(folder: Path, out=sys.stdout) -> str | None:
    """Stop the app recorded in ``folder`` if it still runs (verified, never a stranger)."""
    pid = _recorded_pid(folder)
    if pid is None:
        (folder / "pid").unlink(missing_ok=True)
        return None
    said = procs.terminate(pid, grace=STOP_GRACE)
    (folder / "pid").unlink(missing_ok=True)
    out.write(f"Kafka Streams app {folder.name!r} (pid {pid}): {said}.\n")
    return said


def stop_all(state_dir: Path, out=sys.stdout) -> int:
    """Stop every Kafka Streams app of a cluster's state folder (``labkit down`` calls it)."""
    folders = sorted(p.parent for p in apps_dir(state_dir).glob("*/pid"))
    return sum(1 for folder in folders if stop_folder(folder, out))


@atexit.register
def _stop_ours() -> None:
    """The kernel or script that started an app stops it when it exits (a crash: `labkit down`)."""
    for app in list(_RUNNING.values()):
        if app.pid and _is_app(app.pid, app.folder, None):
            procs.send(app.pid, signal.SIGTERM)


class _Quiet:
    def write(self, _text: str) -> None:
        pass

    def flush(self) -> None:
        pass
