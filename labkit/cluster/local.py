"""Running the three brokers as local JVM processes (notebook 00; broker control in notebook 06).

All of a cluster's state lives in one folder: ``cluster.json`` (cluster id, ports) and one
``node-N`` folder per broker with its ``server.properties``, ``pid``, ``data/`` and ``logs/``.
Brokers run in their own sessions, so the cluster outlives the notebook kernel or terminal that
started it; ``down`` finds them again by their config path even when the state file is gone.
"""
from __future__ import annotations

import base64
import json
import shutil
import signal
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .. import config
from ..errors import LabError
from . import fetch, procs, ready
from .base import check_node
from .settings import server_properties

STATE_FILE = "cluster.json"
STATE_KIND = "labkit-local-cluster"


class LocalCluster:
    """A 3-node KRaft cluster of local JVM processes, every node broker and controller."""

    backend = "local"

    def __init__(self, state_dir: Path | None = None, port_base: int | None = None):
        self.state_dir = Path(state_dir or config.state_dir()).expanduser().resolve()
        self.port_base = port_base or self._stored_base() or config.port_base()
        self.bootstrap_servers = config.bootstrap_servers(self.port_base)

    # ---- paths and state ------------------------------------------------------------------
    def node_dir(self, node: int) -> Path:
        return self.state_dir / f"node-{node}"

    def _props(self, node: int) -> Path:
        return self.node_dir(node) / "server.properties"

    def _read_state(self) -> dict | None:
        path = self.state_dir / STATE_FILE
        if not path.exists():
            if self.state_dir.is_dir() and any(p.name not in {"node-1", "node-2", "node-3"}
                                               for p in self.state_dir.iterdir()):
                raise LabError(f"{self.state_dir} holds files labkit did not write.",
                               hint="point LABKIT_STATE_DIR at an empty or labkit-made folder.")
            return None
        try:
            state = json.loads(path.read_text())
            if not isinstance(state, dict) or state.get("kind") != STATE_KIND:
                raise ValueError("not a labkit cluster")
            return state
        except (ValueError, OSError) as exc:
            raise LabError(f"The cluster state {path} is damaged ({exc}).",
                           hint="run `labkit down --wipe` to stop any brokers and start afresh.") from None

    def _stored_base(self) -> int | None:
        try:
            return int(json.loads((self.state_dir / STATE_FILE).read_text())["port_base"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    check_node = staticmethod(check_node)

    def pid(self, node: int) -> int | None:
        """The live pid of a broker, verified by its command line (a recycled pid is not ours)."""
        try:
            pid = int((self.node_dir(node) / "pid").read_text())
        except (OSError, ValueError):
            return None
        if procs.alive(pid) and str(self._props(node)) in procs.cmdline(pid):
            return pid
        return None

    def _all_pids(self, node: int) -> set[int]:
        pids = set(procs.pids_matching(str(self._props(node))))
        own = self.pid(node)
        return pids | {own} if own else pids

    # ---- one broker -----------------------------------------------------------------------
    def _check_ports(self, node: int) -> None:
        for port in (config.client_port(node, self.port_base), config.controller_port(node, self.port_base)):
            # a broker killed a moment ago leaves closing sockets; only a listener is a real clash
            if not procs.port_answers(port) and procs.wait_port_free(port, timeout=10):
                continue
            if not procs.port_free(port):
                owner = procs.port_owner(port)
                raise LabError(f"Port {port} for broker {node} is already taken"
                               f"{' by ' + owner if owner else ''}.",
                               hint="stop what holds it, or give the lab other ports with "
                                    "LABKIT_PORT_BASE (for example 29092).")

    def _launch(self, node: int) -> int:
        ndir = self.node_dir(node)
        self._check_ports(node)
        (ndir / "logs").mkdir(parents=True, exist_ok=True)
        self._props(node).write_text(server_properties(node, ndir, self.port_base))
        cmd = fetch.java_command("kafka.Kafka", [str(self._props(node))], heap=config.BROKER_HEAP,
                                 log4j=config.SERVER_LOG4J, quick=False,
                                 props={"kafka.logs.dir": str(ndir / "logs")})
        cmd.insert(1, "-XX:+ExitOnOutOfMemoryError")
        with open(ndir / "logs" / "stdout.log", "ab") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, cwd=ndir)
        (ndir / "pid").write_text(str(proc.pid))
        return proc.pid

    def _format(self, nodes: list[int], cluster_id: str) -> None:
        """Format each node's log dir with the shared cluster id (Kafka's storage tool), in parallel."""
        def one(node: int) -> None:
            ndir = self.node_dir(node)
            (ndir / "data").mkdir(parents=True, exist_ok=True)
            self._props(node).write_text(server_properties(node, ndir, self.port_base))
            cmd = fetch.java_command("kafka.tools.StorageTool",
                                     ["format", "-t", cluster_id, "-c", str(self._props(node))])
            try:
                res = subprocess.run(cmd, capture_output=True, text=True, timeout=config.TIMEOUTS.format)
            except subprocess.TimeoutExpired:
                raise LabError(f"Formatting broker {node}'s storage took over "
                               f"{config.TIMEOUTS.format:.0f} s.", hint="is the machine overloaded?") from None
            if res.returncode != 0:
                raise LabError(f"Kafka's storage tool could not format broker {node}'s log dir.",
                               hint=f"check that {ndir} is writable and has free space.",
                               log_tail="\n".join((res.stdout + res.stderr).splitlines()[-10:]))
        with ThreadPoolExecutor(len(nodes)) as pool:
            list(pool.map(one, nodes))

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
    def up(self, out=sys.stderr) -> list[dict]:
        """Start whatever is not running and return when the cluster is ready (notebook 00)."""
        state = self._read_state()
        running = [n for n in config.NODES if self.pid(n)]
        if state and len(running) == len(config.NODES):
            out.write(f"The lab cluster is already running at {self.bootstrap_servers}.\n")
            return self.status()
        for n in config.NODES:
            if n not in running:
                self._check_ports(n)  # before any slow work: a taken port fails in a second
        fetch.fetch(out)
        if state is None or not all((self.node_dir(n) / "data" / "meta.properties").exists()
                                    for n in config.NODES):
            for n in config.NODES:  # a half-made cluster is started afresh
                shutil.rmtree(self.node_dir(n) / "data", ignore_errors=True)
            state = {"kind": STATE_KIND, "cluster_id": _new_cluster_id(),
                     "kafka_version": config.KAFKA_VERSION, "port_base": self.port_base}
            try:
                self.state_dir.mkdir(parents=True, exist_ok=True)
                (self.state_dir / STATE_FILE).write_text(json.dumps(state, indent=2))
            except OSError as exc:
                raise LabError(f"labkit cannot write the cluster's state in {self.state_dir} ({exc}).",
                               hint="point LABKIT_STATE_DIR at a folder you can write to.") from None
            out.write(f"Formatting storage for a new cluster (id {state['cluster_id']}) ...\n")
            self._format(list(config.NODES), state["cluster_id"])
        started = {}
        try:
            for n in config.NODES:
                if n not in running:
                    started[n] = self._launch(n)
                    out.write(f"Started broker {n} (pid {started[n]}, port "
                              f"{config.client_port(n, self.port_base)}).\n")
            ready.wait_cluster(self, started, out, config.TIMEOUTS.up)
        except BaseException:
            for pid in started.values():  # never leave a half-started cluster behind
                procs.terminate(pid, grace=5)
            raise
        return self.status()

    def down(self, wipe: bool = False, out=sys.stderr) -> None:
        """Stop every broker of this state dir (also after labkit crashed); ``wipe`` deletes data."""
        victims = {pid: n for n in config.NODES for pid in self._all_pids(n)}
        for pid in victims:  # all at once: their shutdowns overlap
            procs.send(pid, signal.SIGCONT)
            procs.send(pid, signal.SIGTERM)
        for pid, n in victims.items():
            result = procs.finish(pid, grace=config.TIMEOUTS.stop_broker)
            out.write(f"Broker {n} (pid {pid}): {result}.\n")
        for n in config.NODES:
            (self.node_dir(n) / "pid").unlink(missing_ok=True)
        if wipe:
            for n in config.NODES:
                shutil.rmtree(self.node_dir(n), ignore_errors=True)
            (self.state_dir / STATE_FILE).unlink(missing_ok=True)
            out.write(f"Wiped the cluster's data in {self.state_dir}.\n")
        elif not victims:
            out.write("No broker was running.\n")

    def status(self) -> list[dict]:
        """One dict per broker: id, state, pid, port, whether it answers, and the controller."""
        controller = ready.active_controller(self)
        rows = []
        for n in config.NODES:
            pid = self.pid(n)
            port = config.client_port(n, self.port_base)
            rows.append({"broker": n, "state": procs.state(pid) if pid else "stopped", "pid": pid,
                         "port": port, "answers": bool(pid) and procs.port_answers(port),
                         "controller": n == controller})
        return rows

    # ---- broker control (notebook 06) -----------------------------------------------------
    def kill(self, node) -> str:
        node = self.check_node(node)
        pid = self.pid(node)
        if not pid:
            return f"broker {node} was not running"
        procs.send(pid, signal.SIGKILL)
        procs.wait_exit(pid, config.TIMEOUTS.kill)
        return f"broker {node} killed (SIGKILL)"

    def stop(self, node) -> str:
        node = self.check_node(node)
        pid = self.pid(node)
        if not pid:
            return f"broker {node} was not running"
        return f"broker {node}: " + procs.terminate(pid, grace=config.TIMEOUTS.stop_broker)

    def start(self, node, out=sys.stderr) -> str:
        node = self.check_node(node)
        if self.pid(node):
            return f"broker {node} is already running"
        if self._read_state() is None:
            raise LabError("There is no lab cluster to start a broker in.", hint="run `labkit up` first.")
        pid = self._launch(node)
        try:
            ready.wait_cluster(self, {node: pid}, out, config.TIMEOUTS.start_broker, probe=False)
        except BaseException:
            procs.terminate(pid, grace=5)
            raise
        return f"broker {node} started (pid {pid}) and registered"

    def _signal(self, node, sig: int, verb: str, expect: str) -> str:
        node = self.check_node(node)
        pid = self.pid(node)
        if not pid:
            raise LabError(f"Broker {node} is not running, so it cannot be {verb}.",
                           hint=f"start it with `labkit start {node}` (lab.start_broker({node})).")
        procs.send(pid, sig)
        # a JVM stops thread by thread: report only once the kernel shows the new state
        procs.wait_state(pid, expect, config.TIMEOUTS.kill)
        return f"broker {node} {verb}"

    def pause(self, node) -> str:
        return self._signal(node, signal.SIGSTOP, "paused (SIGSTOP)", "paused")

    def resume(self, node) -> str:
        return self._signal(node, signal.SIGCONT, "resumed (SIGCONT)", "running")


def _new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding (as StorageTool's).

    Like Kafka's own Uuid.randomUuid, never one starting with '-': tools would read it as an option.
    """
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid
