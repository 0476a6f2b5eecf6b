"""The lab's Kafka Connect worker: one distributed-mode JVM managed like a broker (notebook 10).

It lives in the cluster's state folder under ``connect/``: ``worker.properties``, ``pid`` (pid and
start time), ``logs/`` and ``files/`` (where the notebook's FileStream connectors read and write).
The worker runs ``org.apache.kafka.connect.cli.ConnectDistributed`` in its own session, so it
outlives the kernel that started it; it is recognised by its exact argv (main class and properties
path) and start time, never by a name. Its REST API binds 127.0.0.1 only, on
``config.connect_port()`` (8083 by default). Ready means: the REST API answers and lists the
FileStream connectors. ``labkit down`` stops it before the brokers (``stop``).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from .. import clients, config
from ..cluster import fetch, procs
from ..cluster.lock import os_error, write_atomic
from ..errors import LabError
from ..wait import wait_for
from . import jars
from .rest import ConnectClient

MAIN = "org.apache.kafka.connect.cli.ConnectDistributed"
GROUP = "labkit-connect"  # the workers' group; its three internal topics carry the same prefix
START_TIMEOUT = 120.0  # JVM start on a loaded 2-core machine, joining the group included
STOP_GRACE = 30.0
PLUGINS = ("org.apache.kafka.connect.file.FileStreamSourceConnector",
           "org.apache.kafka.connect.file.FileStreamSinkConnector")
SCRUBBED_ENV = ("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS")


class Worker:
    """The Connect worker of one lab cluster (its state folder and port base)."""

    def __init__(self, cluster=None):
        from ..cluster.local import LocalCluster
        self.cluster = cluster or LocalCluster()
        self.folder = Path(self.cluster.state_dir) / "connect"
        self.port = config.connect_port(self.cluster.port_base)
        self.url = f"http://{config.HOST}:{self.port}"

    @property
    def props(self) -> Path:
        return self.folder / "worker.properties"

    @property
    def files(self) -> Path:
        """Where the notebook's file connectors read and write (the worker's own disk)."""
        return self.folder / "files"

    def client(self) -> ConnectClient:
        """A REST client for this worker (``lab.connect()`` in notebook 10)."""
        return ConnectClient(self.url, files=self.files)

    # ---- finding the JVM ---------------------------------------------------------------------
    def _ours(self, pid: int, started: float | None = None) -> bool:
        args = procs.argv(pid)
        return procs.alive(pid) and MAIN in args and str(self.props) in args \
            and procs.same_start(started, procs.start_time(pid))

    def pid(self) -> int | None:
        """The live worker's pid (pid file checked against argv and start time), or None."""
        try:
            pid, _, started = (self.folder / "pid").read_text().partition(" ")
            pid, started = int(pid), float(started) if started.strip() else None
        except (OSError, ValueError):
            pid, started = None, None
        if pid and self._ours(pid, started):
            return pid
        # a lost pid file: the exact command line still finds it (only our own user's)
        me = os.getuid() if hasattr(os, "getuid") else None
        for found in procs.pids_matching(str(self.props)):
            if self._ours(found) and (me is None or _uid(found) in (None, me)):
                return found
        return None

    def endpoints(self) -> dict[str, str]:
        """Where the worker finds the brokers and its plugin, and where its REST API listens."""
        return {
            "bootstrap.servers": self.cluster.bootstrap_servers,
            # the default binds every interface; the lab stays on loopback
            "listeners": f"http://{config.HOST}:{self.port}",
            "rest.advertised.host.name": config.HOST,
            "rest.advertised.port": str(self.port),
            "plugin.path": str(jars.plugin_jar(jars.folder())),
        }

    def properties(self) -> str:
        """The worker's configuration (a Java .properties file, not the connectors' JSON)."""
        ends = self.endpoints()
        lines = {
            "bootstrap.servers": ends["bootstrap.servers"],
            "group.id": GROUP,
            "config.storage.topic": f"{GROUP}-configs",
            "offset.storage.topic": f"{GROUP}-offsets",
            "status.storage.topic": f"{GROUP}-status",
            "config.storage.replication.factor": "3",
            "offset.storage.replication.factor": "3",
            "status.storage.replication.factor": "3",
            "key.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "key.converter.schemas.enable": "false",
            "value.converter.schemas.enable": "false",
            # a source's position is committed this often (notebook 10 reads it back)
            "offset.flush.interval.ms": "1000",
            **{k: v for k, v in ends.items() if k != "bootstrap.servers"},
            # the default (hybrid_warn) also scans every jar by reflection: slow, and short of memory
            "plugin.discovery": "service_load",
        }
        return "".join(f"{k}={v}\n" for k, v in lines.items())

    def command(self) -> list[str]:
        libs = jars.folder()
        return [fetch.java(), *jvm_options(config.SERVER_LOG4J, self.folder / "logs"),
                "-cp", jars.classpath(libs), MAIN, str(self.props)]

    # ---- up, down, status ------------------------------------------------------------------
    def up(self, out=sys.stderr) -> dict:
        """Start the worker unless it runs, and wait until it is ready (``labkit connect up``)."""
        pid = self.pid()
        if pid is None:
            self._check_port()
            clients.require_cluster(self.cluster.bootstrap_servers)  # a worker needs its brokers first
            jars.folder(out)
            pid = self._launch()
            out.write(f"Started the Connect worker (pid {pid}, REST {self.url}).\n")
        try:
            self.wait_ready(pid)
        except BaseException:
            self.stop(out=_Null())  # never leave a half-started worker behind
            raise
        return self.status()

    def _check_port(self) -> None:
        # a worker killed a moment ago leaves closing sockets; only a listener is a real clash
        if procs.port_free(self.port) or (not procs.port_answers(self.port)
                                          and procs.wait_port_free(self.port, timeout=10)):
            return
        owner = procs.port_owner(self.port)
        raise LabError(f"Port {self.port} for the Connect worker's REST API is already taken"
                       f"{' by ' + owner if owner else ''}.",
                       hint="stop that program (another Kafka Connect?), or give this lab another "
                            "LABKIT_PORT_BASE: the worker's port is the port base - 1009.")

    def _launch(self) -> int:
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
        try:
            for sub in ("logs", "files"):
                (self.folder / sub).mkdir(parents=True, exist_ok=True)
            write_atomic(self.props, self.properties())
            cmd = self.command()
            with open(self.folder / "logs" / "stdout.log", "ab") as log:
                proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True, cwd=self.folder, env=env)
        except OSError as exc:
            raise os_error(exc, self.folder) from None
        try:
            write_atomic(self.folder / "pid", f"{proc.pid} {procs.start_time(proc.pid) or ''}".strip())
        except BaseException:
            procs.terminate(proc.pid, grace=5)
            raise
        return proc.pid

    def wait_ready(self, pid: int, timeout: float = START_TIMEOUT) -> None:
        """Until the REST API answers and lists both FileStream connectors; a dead JVM ends it early."""
        client = ConnectClient(self.url, timeout=3.0)

        def ready() -> bool:
            if not self._alive(pid):
                raise LabError("The Connect worker exited while starting.",
                               hint="its last log lines are below; `labkit connect logs` shows more.",
                               log_tail=self.log_tail(20))
            try:
                found = {p["class"] for p in client.plugins()}
                client.request("GET", "/connectors")  # the herder answers too, not just the plugin list
            except LabError:
                return False
            return all(p in found for p in PLUGINS)

        wait_for(f"the Connect worker's REST API at {self.url} to list the FileStream connectors",
                 ready, timeout, 0.5, hint="is the cluster running (`labkit status`)? "
                 "`labkit connect logs` shows what the worker is doing.",
                 on_timeout=lambda: self.log_tail(20))

    def _alive(self, pid: int) -> bool:
        return procs.alive(pid)

    def stop(self, out=sys.stderr, grace: float = STOP_GRACE) -> str:
        """Graceful stop (SIGTERM, then SIGKILL after ``grace``); the connectors stay configured."""
        pid = self.pid()
        if pid is None:
            (self.folder / "pid").unlink(missing_ok=True)
            return "not running"
        result = procs.terminate(pid, grace)
        (self.folder / "pid").unlink(missing_ok=True)
        out.write(f"Connect worker (pid {pid}): {result}.\n")
        return result

    def kill(self) -> str:
        """SIGKILL the worker: a crash with no goodbye (notebook 10 shows what a source resumes from)."""
        pid = self.pid()
        if pid is None:
            return "not running"
        procs.send(pid, signal.SIGKILL)
        procs.wait_exit(pid, config.TIMEOUTS.kill)
        return f"killed pid {pid}"

    def status(self) -> dict:
        pid = self.pid()
        return {"state": procs.state(pid) if pid else "stopped", "pid": pid, "url": self.url,
                "version": config.CONNECT_VERSION, "folder": str(self.folder)}

    def log_tail(self, lines: int = 40) -> str:
        tail = []
        for name in ("server.log", "stdout.log"):
            path = self.folder / "logs" / name
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                tail += [f"--- {path}"] + text if text else []
        return "\n".join(tail)

    def wipe(self) -> None:
        """Forget the worker's folder (its topics went with the cluster's data)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def jvm_options(log4j, logs) -> list[str]:
    """The worker JVM's flags on both backends: a small heap, a quick start, logs in ``logs``."""
    return [*config.CONNECT_HEAP.split(), "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
            "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log4j}", f"-Dkafka.logs.dir={logs}"]


def _uid(pid: int) -> int | None:
    try:
        import psutil
        return psutil.Process(pid).uids().real
    except Exception:
        return None


class _Null:
    def write(self, _text: str) -> None:
        pass
