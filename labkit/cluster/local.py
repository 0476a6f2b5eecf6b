"""Running the three brokers as local JVM processes (notebook 00; broker control in notebook 06).

All of a cluster's state lives in one folder: ``cluster.json`` (cluster id, ports), the owner
marker, and one ``node-N`` folder per broker with its ``server.properties``, ``pid``, ``data/`` and
``logs/`` (``storage`` keeps them consistent). Brokers run in their own sessions, so the cluster
outlives the notebook kernel or terminal that started it; ``down`` finds them again by their exact
command line even when a pid file is gone. One operation at a time holds the folder's lock.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from contextlib import nullcontext
from pathlib import Path

from .. import config
from ..errors import LabError
from . import cds, exporter, fetch, idle, procs, ready, storage
from . import secure as security
from .base import Cluster
from .lock import locked, os_error, write_atomic
from .settings import server_properties

# variables the JVM reads on its own: they could open a debug or JMX port on every interface
SCRUBBED_ENV = ("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS")


class LocalCluster(Cluster):
    """A 3-node KRaft cluster of local JVM processes, every node broker and controller.

    ``base.Cluster`` gives it status, the controller, broker control by id and ``heal``; this
    class says how a JVM is found (pid file, exact command line), started, signalled and read.
    """

    backend = "local"

    def __init__(self, state_dir: Path | None = None, port_base: int | None = None,
                 secure: bool | None = None):
        """``secure``: the secured lab (notebook 12, own folder and ports); None: as the folder records."""
        default_dir = config.secure_state_dir() if secure else config.state_dir()
        self.state_dir = Path(state_dir or default_dir).expanduser().resolve()
        self.secure = security.is_secure(self.state_dir) if secure is None else secure
        self.port_base = port_base or self._stored_base() or (
            config.secure_port_base() if self.secure else config.port_base())
        self.bootstrap_servers = config.bootstrap_servers(self.port_base)
        self.secrets = None  # the secured lab's, once its folder has them (cluster/secure.py)
        if self.secure and security.is_secure(self.state_dir):
            security.attach(self, security.load(self.state_dir))

    def _server_properties(self, node: int) -> str:
        return server_properties(node, self.node_dir(node), self.port_base, self.secrets)

    # ---- paths and state ------------------------------------------------------------------
    def node_dir(self, node: int) -> Path:
        return self.state_dir / f"node-{node}"

    def _props(self, node: int) -> Path:
        return self.node_dir(node) / "server.properties"

    def _stored_base(self) -> int | None:
        try:
            return int((storage.read_state(self.state_dir) or {})["port_base"])
        except (LabError, ValueError, KeyError, TypeError):
            return None

    def _lock(self, operation: str, out=None):
        """The folder's lock; a folder that does not exist has nothing to guard yet."""
        return locked(self.state_dir, operation, out) if self.state_dir.is_dir() else nullcontext()

    def pid(self, node: int) -> int | None:
        """The live pid of a broker, verified by its exact argv and start time (never a stranger)."""
        try:
            pid, _, started = (self.node_dir(node) / "pid").read_text().partition(" ")
            pid, started = int(pid), float(started) if started.strip() else None
        except (OSError, ValueError):
            return None
        return pid if procs.is_broker(pid, self._props(node), started) else None

    def _state(self, node: int) -> str:
        state = procs.state(self.pid(node))
        return "stopped" if state == "dead" else state

    def _present(self, node: int) -> bool:
        return bool(self._find(node))  # also a broker whose pid file was lost

    def _quorum_state(self, node: int) -> dict | None:
        path = self.node_dir(node) / "data" / "__cluster_metadata-0" / "quorum-state"
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None

    def _find(self, node: int, out=None) -> int | None:
        """The pid file's broker, or one found by its exact command line (a lost pid file)."""
        pid = self.pid(node)
        if pid:
            return pid
        for found, ours in procs.brokers_on(self._props(node)):
            if ours:
                self._write_pid(node, found)
                return found
            if out is not None:
                out.write(f"Broker {node}'s config is run by pid {found} of another user: not touched.\n")
        return None

    def _write_pid(self, node: int, pid: int) -> None:
        write_atomic(self.node_dir(node) / "pid", f"{pid} {procs.start_time(pid) or ''}".strip())

    # ---- one broker -----------------------------------------------------------------------
    def _check_ports(self, node: int) -> None:
        for port in (config.client_port(node, self.port_base), config.controller_port(node, self.port_base)):
            # a broker killed a moment ago leaves closing sockets; only a listener is a real clash
            if not procs.port_answers(port) and procs.wait_port_free(port, timeout=10):
                continue
            if not procs.port_free(port):
                raise self._port_taken(node, port)  # names the compose cluster when it holds it
        exporter.check_port(node, self.port_base)  # the metrics agent's port (notebook 11)

    def _launch(self, node: int) -> int:
        ndir = self.node_dir(node)
        self._check_ports(node)
        cmd = fetch.broker_command(self._props(node), ndir / "logs")
        cmd[1:1] = exporter.jvm_flags(node, self.port_base)  # [] without the agent's jar
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
        try:
            (ndir / "logs").mkdir(parents=True, exist_ok=True)
            write_atomic(self._props(node), self._server_properties(node))
            with open(ndir / "logs" / "stdout.log", "ab") as out:
                proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True, cwd=ndir, env=env)
        except OSError as exc:
            raise os_error(exc, ndir) from None
        try:
            self._write_pid(node, proc.pid)
        except BaseException:
            procs.terminate(proc.pid, grace=5)  # a broker no pid file names is not left behind
            raise
        return proc.pid

    def _format(self, nodes: list[int], cluster_id: str) -> None:
        """Format each node's log dir with the shared cluster id (Kafka's storage tool), in parallel."""
        def props(node: int) -> Path:
            write_atomic(self._props(node), self._server_properties(node))
            return self._props(node)
        extra = security.format_args(self.secrets) if self.secrets else []
        storage.format_nodes(self.state_dir, nodes, cluster_id, props, extra)

    def _ensure_formatted(self, running: set[int], out) -> None:
        """Format what needs it and nothing else (see ``storage.plan``)."""
        cluster_id, need = storage.plan(self.state_dir, self.port_base, running, storage.new_cluster_id, out)
        if need:
            out.write(f"Formatting storage of broker(s) {', '.join(map(str, need))} "
                      f"(cluster id {cluster_id}) ...\n")
            self._format(need, cluster_id)

    def format(self, out=sys.stderr) -> None:
        """Create or repair the cluster's storage without starting it (``up`` does this first)."""
        storage.claim(self.state_dir)
        security.prepare(self)
        with self._lock("format", out):
            fetch.fetch(out)
            self._ensure_formatted({n for n in config.NODES if self._find(n)}, out)

    def log_tail(self, node: int, lines: int = 30) -> str:
        """The last lines of a broker's log (and of its JVM output, where start-up failures land)."""
        tail = []
        for name in ("server.log", "stdout.log"):
            path = self.node_dir(node) / "logs" / name
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                tail += [f"--- {path}"] + text if text else []
        return "\n".join(tail)

    # ---- the cluster ----------------------------------------------------------------------
    def up(self, out=sys.stderr, idle_stop: float | None = None) -> list[dict]:
        """Start whatever is not running and return when the cluster is ready (notebook 00).

        ``idle_stop`` (minutes; also LABKIT_IDLE_STOP) starts a watchdog that stops the cluster
        once no client has been connected for that long.
        """
        idle_stop = idle_stop or config.idle_stop()
        security.check_mode(self.state_dir, self.secure)  # before anything is written
        storage.claim(self.state_dir)
        security.prepare(self)
        with locked(self.state_dir, "up", out):  # a second `up` waits here, then finds it running
            running = {n for n in config.NODES if self._find(n, out)}
            if running == set(config.NODES):
                self._ensure_formatted(running, out)  # repairs cluster.json; formats nothing running
                out.write(f"The lab cluster is already running at {self.bootstrap_servers}.\n")
            else:
                self._start_missing(running, out)
            if idle_stop:
                idle.start(self, idle_stop, out)
        return self.status()

    def _start_missing(self, running: set[int], out) -> None:
        for n in set(config.NODES) - running:
            self._check_ports(n)  # before any slow work: a taken port fails in a second
        fetch.fetch(out)
        exporter.fetch_agent(out)
        cds.ensure(out)
        self._ensure_formatted(running, out)
        started = {}
        try:
            for n in config.NODES:
                if n not in running:
                    started[n] = self._launch(n)
                    out.write(f"Started broker {n} (pid {started[n]}, port "
                              f"{config.client_port(n, self.port_base)}).\n")
            ready.wait_cluster(self, started, out, config.TIMEOUTS.up)
        except BaseException:
            # never leave a half-started cluster behind: stop what this `up` started, found by
            # pid file or command line (an interrupt may land before a pid was recorded)
            for n in set(config.NODES) - running:
                pid = started.get(n) or self._find(n)
                if pid:
                    procs.terminate(pid, grace=5)
            raise

    def down(self, wipe: bool = False, out=sys.stderr) -> None:
        """Stop every broker of this state dir (also after labkit crashed); ``wipe`` deletes data.

        Only processes labkit started are signalled (exact argv, start time); wiping needs the
        folder's owner marker (``storage.check_wipe``).
        """
        if wipe:
            storage.check_wipe(self.state_dir)
        with self._lock("down", out):
            idle.stop(self)
            _stop_connect(self, wipe, out)  # the Connect worker (notebook 10) before its brokers
            _stop_streams(self, out)  # notebook 09's Kafka Streams apps before their brokers
            victims = {}
            for n in config.NODES:
                pid = self._find(n, out)
                if pid:
                    victims[pid] = n
            for pid in victims:  # all at once: their shutdowns overlap
                procs.send(pid, signal.SIGCONT)
                procs.send(pid, signal.SIGTERM)
            for pid, n in victims.items():
                out.write(f"Broker {n} (pid {pid}): {procs.finish(pid, grace=config.TIMEOUTS.stop_broker)}.\n")
            for n in config.NODES:
                (self.node_dir(n) / "pid").unlink(missing_ok=True)
            if wipe and self.state_dir.exists():
                for n in config.NODES:
                    shutil.rmtree(self.node_dir(n), ignore_errors=True)
                (self.state_dir / storage.STATE_FILE).unlink(missing_ok=True)
                # lab users' logins lived in the wiped metadata; security.json stays: the folder stays secured
                shutil.rmtree(self.state_dir / security.USERS_DIR, ignore_errors=True)
                out.write(f"Wiped the cluster's data in {self.state_dir}.\n")
            elif not victims:
                out.write("No broker was running.\n")
            if self.secure:  # its login goes with it: a plain cluster may answer on these ports next
                security.detach(self)

    # ---- broker control (notebook 06): base.Cluster waits and words; here the signals ----------
    def _kill(self, node: int) -> None:
        pid = self._find(node)
        procs.send(pid, signal.SIGKILL)
        # its pid stops counting as a broker at once; its threads still hold ports until it is gone
        procs.wait_exit(pid, config.TIMEOUTS.kill)

    def _stop(self, node: int) -> str:
        return procs.terminate(self._find(node), grace=config.TIMEOUTS.stop_broker)

    def _start(self, node: int, out) -> str:
        try:
            state = storage.read_state(self.state_dir)
        except ValueError:
            state = True  # damaged: repaired below from the nodes' meta.properties
        if state is None:
            raise LabError("There is no lab cluster to start a broker in.", hint="run `labkit up` first.")
        self._ensure_formatted({n for n in config.NODES if n != node and self._find(n)}, out)
        pid = self._launch(node)
        try:
            ready.wait_cluster(self, {node: pid}, out, config.TIMEOUTS.start_broker, probe=False)
        except BaseException:
            procs.terminate(pid, grace=5)
            raise
        return f"pid {pid}"

    def _pause(self, node: int) -> None:
        procs.send(self._find(node), signal.SIGSTOP)

    def _resume(self, node: int) -> None:
        procs.send(self._find(node), signal.SIGCONT)


def _stop_connect(cluster: LocalCluster, wipe: bool, out) -> None:
    """Stop the lab's Connect worker (labkit/connect) when this state folder has one."""
    if (cluster.state_dir / "connect").is_dir():
        from ..connect import stop_with_cluster
        stop_with_cluster(cluster, wipe, out)


def _stop_streams(cluster: LocalCluster, out) -> None:
    """Stop the Kafka Streams apps (labkit/streams) this state folder has started."""
    if (cluster.state_dir / "streams").is_dir():
        from ..streams.app import stop_all
        stop_all(cluster.state_dir, out)
