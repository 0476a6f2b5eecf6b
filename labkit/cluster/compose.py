"""Running the three brokers as Docker containers: the compose path (notebook 00; broker control in 06).

``docker-compose.yml`` at the repository root describes the cluster (the official
``apache/kafka`` image, the same lab settings and host ports as local mode). ``ComposeCluster``
has the interface of ``brokers.LocalCluster``, so ``labkit up --backend compose`` (or
``LABKIT_BACKEND=compose``) gives notebooks, broker buttons and the chaos checker the same cluster
object. ``up``/``down`` run ``docker compose``; broker control goes through the docker SDK, by
the map in ``labkit.cluster.composefile`` (which also holds what labkit reads from docker-compose.yml).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .. import clients, config
from ..errors import LabError
from . import procs, ready
from .base import check_node
from .composefile import (PROJECT, QUORUM_STATE, STATES, compose_command, compose_file,
                          container_call, service)

POLL = 0.25

NO_ENGINE_HINT = ("start Docker Desktop (or `sudo systemctl start docker` on Linux) and try again; "
                  "or use the local backend, which needs no Docker (no `--backend compose`, "
                  "LABKIT_BACKEND unset).")


def compose_cli_problem() -> str | None:
    """None when `docker compose` runs here, else why not (tests say it when they skip)."""
    if shutil.which("docker") is None:
        return "the docker command is not installed"
    res = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=30)
    if res.returncode != 0:
        said = (res.stderr or res.stdout).strip().splitlines()
        return f"the docker compose plugin is not installed ({said[0] if said else 'no output'})"
    return None


class ComposeCluster:
    """The lab cluster as three containers of docker-compose.yml; ``client`` is a docker SDK client."""

    backend = "compose"

    def __init__(self, client=None, file: Path | None = None, run=subprocess.run):
        self._client = client
        self.file = Path(file or compose_file())
        self._run = run
        self.port_base = config.DEFAULT_PORT_BASE  # docker-compose.yml publishes local mode's ports
        self.bootstrap_servers = config.bootstrap_servers(self.port_base)

    # ---- the engine and the containers ----------------------------------------------------
    @property
    def client(self):
        """A docker SDK client, made on first use; a LabError with a hint when no engine answers."""
        if self._client is None:
            try:
                import docker
            except ImportError:
                raise LabError("The docker Python package is not installed.",
                               hint="`pip install docker` (it is in pyproject.toml).") from None
            try:
                client = docker.from_env(timeout=int(config.TIMEOUTS.request))
                client.ping()
            except Exception as exc:  # DockerException, or requests' connection errors
                raise LabError(f"No Docker engine answers ({type(exc).__name__}: {exc}).",
                               hint=NO_ENGINE_HINT) from None
            self._client = client
        return self._client

    check_node = staticmethod(check_node)

    def container(self, node: int):
        """Broker ``node``'s container (found by its compose labels), or None before `up`."""
        labels = [f"com.docker.compose.project={PROJECT}", f"com.docker.compose.service={service(node)}"]
        found = self.client.containers.list(all=True, filters={"label": labels})
        return found[0] if found else None

    def _state(self, node: int) -> str:
        box = self.container(node)
        return STATES.get(box.status, "stopped") if box is not None else "stopped"

    def pid(self, node: int) -> int | None:
        """The broker's process id as the engine sees it (inside Docker Desktop's VM on Mac/Windows)."""
        box = self.container(node)
        if box is None or box.status not in ("running", "paused"):
            return None
        return box.attrs.get("State", {}).get("Pid") or None

    def _call(self, operation: str, node: int):
        name, method, kwargs = container_call(operation, node)
        box = self.container(node)
        if box is None:
            raise LabError(f"There is no container for broker {node} ({name}).",
                           hint="start the cluster with `labkit up --backend compose`.")
        try:
            getattr(box, method)(**kwargs)
        except Exception as exc:  # docker.errors.APIError: say what the engine said
            raise LabError(f"Docker could not {method} {name}: {exc}",
                           hint="`labkit status` shows each broker's state.") from None
        return box

    def _wait_status(self, node: int, wanted: set[str], timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self._state(node) in wanted:
                return True
            time.sleep(POLL)
        return False

    def log_tail(self, node: int, lines: int = 30) -> str:
        """The last lines of a broker container's output (Kafka logs to stdout in the image)."""
        box = self.container(node)
        if box is None:
            return ""
        return box.logs(tail=lines).decode(errors="replace").rstrip()

    # ---- the cluster ----------------------------------------------------------------------
    def _compose(self, action: str, out, wipe: bool = False, timeout: float = config.TIMEOUTS.up) -> None:
        if not self.file.exists():
            raise LabError(f"The compose file {self.file} does not exist.",
                           hint="run labkit from a clone of the lab, or set LABKIT_COMPOSE_FILE.")
        self.client  # a clear "no engine" error before compose prints its own
        cmd = compose_command(action, self.file, wipe)
        try:
            res = self._run(cmd, capture_output=True, text=True, timeout=timeout)
        except FileNotFoundError:
            raise LabError("The docker command is not installed.",
                           hint="install Docker Desktop, or Docker Engine with the compose plugin.") from None
        except subprocess.TimeoutExpired:
            raise LabError(f"`{' '.join(cmd[:2] + cmd[6:])}` took over {timeout:.0f} s.",
                           hint="`docker compose ps` and `docker compose logs kafka-1` show why.",
                           log_tail=self.log_tail(config.NODES[0], 10)) from None
        text = (res.stdout + res.stderr).strip()
        if res.returncode != 0:
            hint = ("install the compose plugin (Docker Compose v2: `docker compose version`)."
                    if "not a docker command" in text or "unknown command" in text
                    else "`docker compose logs kafka-1` shows a broker's log; "
                         "`labkit --backend compose down --wipe` starts afresh.")
            raise LabError(f"`docker compose {action}` failed (exit {res.returncode}).", hint=hint,
                           log_tail="\n".join(text.splitlines()[-15:]))
        if text:
            out.write(text + "\n")

    def up(self, out=sys.stderr) -> list[dict]:
        """Start the containers that are not running and return when the cluster is ready (notebook 00)."""
        states = {n: self._state(n) for n in config.NODES}
        if all(s != "stopped" for s in states.values()):  # paused counts as running, as in local mode
            out.write(f"The lab cluster (compose) is already running at {self.bootstrap_servers}.\n")
            return self.status()
        for n, state in states.items():  # local mode (or anything else) may hold our host ports
            port = config.client_port(n, self.port_base)
            if state == "stopped" and not procs.port_free(port):
                owner = procs.port_owner(port)
                raise LabError(f"Port {port} for broker {n} is already taken{' by ' + owner if owner else ''}.",
                               hint="the local lab cluster uses the same ports: stop it with "
                                    "`labkit --backend local down`, then try again.")
        out.write(f"docker compose up (Kafka {config.KAFKA_VERSION}; the first run pulls the image) ...\n")
        # compose waits for the healthchecks; the image pull on a first run is part of it.
        self._compose("up", out, timeout=config.TIMEOUTS.fetch + config.TIMEOUTS.up)
        ready.wait_cluster(self, {}, out, config.TIMEOUTS.up)  # registered, probe partition in sync
        return self.status()

    def down(self, wipe: bool = False, out=sys.stderr) -> None:
        """Remove the containers (``docker compose down``); ``wipe`` also deletes the data volumes."""
        self._compose("down", out, wipe=wipe, timeout=config.TIMEOUTS.stop_broker * 3 + 30)
        out.write("Removed the lab's containers" + (" and data volumes.\n" if wipe else ".\n"))

    def active_controller(self) -> int | None:
        """Id of the active KRaft controller, from the running nodes' ``quorum-state`` files."""
        states, running = [], set()
        for node in config.NODES:
            box = self.container(node)
            if box is None or box.status != "running":
                continue
            running.add(node)
            try:
                code, output = box.exec_run(["cat", QUORUM_STATE])
                if code == 0:
                    states.append(json.loads(output))
            except Exception:  # a node that just died or has no metadata yet
                continue
        leader = ready.leader_from_states(states)
        return leader if leader in running else None

    def status(self) -> list[dict]:
        """One dict per broker, with the keys of LocalCluster.status(): id, state, pid, port, answers, controller."""
        controller = self.active_controller()
        rows = []
        for n in config.NODES:
            state, port = self._state(n), config.client_port(n, self.port_base)
            rows.append({"broker": n, "state": state, "pid": self.pid(n), "port": port,
                         "answers": state == "running" and procs.port_answers(port),
                         "controller": n == controller})
        return rows

    # ---- broker control (notebook 06) -----------------------------------------------------
    def kill(self, node) -> str:
        node = self.check_node(node)
        if self._state(node) == "stopped":
            return f"broker {node} was not running"
        self._call("kill", node)
        self._wait_status(node, {"stopped"}, config.TIMEOUTS.kill)
        return f"broker {node} killed (SIGKILL)"

    def stop(self, node) -> str:
        node = self.check_node(node)
        if self._state(node) == "stopped":
            return f"broker {node} was not running"
        if self._state(node) == "paused":  # a frozen broker cannot shut down gracefully
            self._call("resume", node)
        self._call("stop", node)
        return f"broker {node}: stopped (docker stop)"

    def start(self, node, out=sys.stderr) -> str:
        node = self.check_node(node)
        if self._state(node) != "stopped":
            return f"broker {node} is already running"
        self._call("start", node)
        self._wait_registered(node, out, config.TIMEOUTS.start_broker)
        return f"broker {node} started (container {service(node)}) and registered"

    def _wait_registered(self, node: int, out, timeout: float) -> None:
        """Block until broker ``node`` is in the cluster metadata; fail fast if its container exits."""
        t0, end = time.monotonic(), time.monotonic() + timeout
        with clients.quiet_admin(self.bootstrap_servers) as admin:
            while node not in ready.registered(admin):
                if self._state(node) == "stopped":
                    raise LabError(f"Broker {node}'s container exited during start-up.",
                                   hint=f"read its log with `labkit --backend compose logs {node}`.",
                                   log_tail=self.log_tail(node, 15))
                if time.monotonic() > end:
                    raise LabError(f"Broker {node} did not register within {timeout:.0f} s.",
                                   hint=f"`docker compose logs {service(node)}` shows what it is doing.",
                                   log_tail=self.log_tail(node, 10))
                time.sleep(POLL)
        out.write(f"  broker {node} registered ({time.monotonic() - t0:.1f} s)\n")

    def _freeze(self, node, operation: str, verb: str, done_state: str) -> str:
        node = self.check_node(node)
        state = self._state(node)
        if state == "stopped":
            raise LabError(f"Broker {node} is not running, so it cannot be {verb}.",
                           hint=f"start it with `labkit start {node}` (lab.start_broker({node})).")
        if state != done_state:  # like SIGSTOP/SIGCONT, doing it twice is harmless
            self._call(operation, node)
        return f"broker {node} {verb}"

    def pause(self, node) -> str:
        return self._freeze(node, "pause", "paused (docker pause)", "paused")

    def resume(self, node) -> str:
        return self._freeze(node, "resume", "resumed (docker unpause)", "running")
