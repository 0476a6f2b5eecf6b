"""Running the three brokers as Docker containers: the compose path (notebook 00; broker control in 06).

``docker-compose.yml`` at the repository root describes the cluster (the official ``apache/kafka``
image, the lab settings). ``ComposeCluster`` honours the contract of ``base.Cluster``, so
``labkit up --backend compose`` (or ``LABKIT_BACKEND=compose``) gives notebooks, broker buttons and
the chaos checker the same cluster object as local mode. Its host ports follow ``LABKIT_PORT_BASE``
(passed to compose as ``LABKIT_PORT_1..3``) and its project name ``LABKIT_COMPOSE_PROJECT``, so the
test suite runs its own containers beside a learner's. ``docker compose`` creates what is missing;
broker control and restarts go through the docker SDK, and readiness is labkit's own (``ready``).
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from .. import config
from ..errors import LabError
from ..wait import wait_for
from . import ready
from .base import Cluster
from .composefile import (QUORUM_STATE, STATES, compose_command, compose_file, container_call,
                          image, metrics_env, port_env, project, service)

NO_ENGINE_HINT = ("start the Docker engine: Docker Desktop, `sudo systemctl start docker` on Linux, "
                  "or `make engine` (scripts/engine.sh) on a CI machine or VM; or use the local "
                  "backend, which needs no Docker (no `--backend compose`, LABKIT_BACKEND unset).")
NO_PLUGIN_HINT = ("install Docker Compose v2 (`docker compose version` must answer): Docker Desktop "
                  "has it; on Linux the docker-compose-plugin package, or `make engine`.")
IMAGE_HINT = ("build the offline stand-in with `make engine` (bash scripts/engine.sh) and export "
              "LABKIT_KAFKA_IMAGE=labkit/kafka-offline:{v}, or connect to Docker Hub and try again.")


def docker_call(box, method: str, what: str, hint: str, **kwargs) -> None:
    """A docker SDK container call (kill, stop, start, ...); the engine's refusal is a LabError."""
    try:
        getattr(box, method)(**kwargs)
    except Exception as exc:  # docker.errors.APIError: say what the engine said
        raise LabError(f"Docker could not {method} {what}: {exc}", hint=hint) from None


class _FreezeFailed(LabError):
    """A `docker pause` that runc gave up on; the container is left running."""


def compose_cli_problem() -> str | None:
    """None when `docker compose` runs here, else why not (tests say it when they skip)."""
    if shutil.which("docker") is None:
        return "the docker command is not installed"
    res = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=30)
    if res.returncode != 0:
        said = (res.stderr or res.stdout).strip().splitlines()
        return f"the docker compose plugin is not installed ({said[0] if said else 'no output'})"
    return None


class ComposeCluster(Cluster):
    """The lab cluster as three containers of docker-compose.yml; ``client`` is a docker SDK client."""

    backend = "compose"
    WORDS = {"kill": "killed (SIGKILL)", "pause": "paused (docker pause)",
             "resume": "resumed (docker unpause)"}

    def __init__(self, client=None, file: Path | None = None, run=subprocess.run,
                 project_name: str | None = None, port_base: int | None = None):
        self._client = client
        self.file = Path(file or compose_file())
        self._run = run
        self.project = project_name or project()
        self.port_base = port_base or config.port_base()
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

    def container(self, node: int):
        """Broker ``node``'s container in this project (found by its compose labels), or None."""
        return self.service_container(service(node))

    def service_container(self, name: str):
        """The container of compose service ``name`` in this project (a broker, ``connect``), or None."""
        labels = [f"com.docker.compose.project={self.project}", f"com.docker.compose.service={name}"]
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

    def _quorum_state(self, node: int) -> dict | None:
        box = self.container(node)
        if box is None or box.status != "running":  # a paused container cannot exec
            return None
        try:
            code, output = box.exec_run(["cat", QUORUM_STATE])
            return json.loads(output) if code == 0 else None
        except Exception:  # a node that just died or has no metadata yet
            return None

    def _answers(self, node: int) -> bool:
        """The port accepts and keeps the connection: docker's proxy accepts for a container
        whose Kafka does not listen yet, then closes at once; Kafka says nothing unasked."""
        try:
            sock = socket.create_connection((config.HOST, self.port(node)), timeout=0.3)
        except OSError:
            return False
        with sock:
            sock.settimeout(0.05)
            try:
                return sock.recv(1) != b""
            except socket.timeout:
                return True
            except OSError:
                return False

    def _call(self, operation: str, node: int):
        name, method, kwargs = container_call(operation, node)
        box = self.container(node)
        if box is None:
            raise LabError(f"There is no container for broker {node} ({name}, project {self.project}).",
                           hint="start the cluster with `labkit up --backend compose`.")
        docker_call(box, method, name, "`labkit status` shows each broker's state.", **kwargs)
        return box

    def log_tail(self, node: int, lines: int = 30) -> str:
        """The last lines of a broker container's output (Kafka logs to stdout in the image)."""
        box = self.container(node)
        if box is None:
            return ""
        return box.logs(tail=lines).decode(errors="replace").rstrip()

    # ---- broker control: the engine's verbs (base.Cluster waits around them) ---------------
    def _kill(self, node: int) -> None:
        self._call("kill", node)

    def _stop(self, node: int) -> str:
        if self._state(node) == "paused":  # a frozen broker cannot shut down gracefully
            self._call("resume", node)
        box = self._call("stop", node)  # returns once the container exited (or was killed)
        self._wait_state(node, "stopped", "stopped")
        box.reload()
        killed = box.attrs.get("State", {}).get("ExitCode") == 137
        return "killed after grace period (docker stop)" if killed else "stopped (docker stop)"

    def _start(self, node: int, out) -> str:
        self._call("start", node)
        self.wait_registered(node, out, config.TIMEOUTS.start_broker)
        return f"container {service(node)}"

    def _pause(self, node: int) -> None:
        # runc's cgroup freeze can time out while a busy JVM's threads are mid-syscall ("unable
        # to freeze", seen in CI on 2 cores); runc thaws the container again, so retrying is safe.
        def frozen() -> bool:
            try:
                self._call("pause", node)
            except LabError as exc:
                if "unable to freeze" in str(exc) and self._state(node) != "paused":
                    raise _FreezeFailed(str(exc)) from None
                raise
            return True

        wait_for(f"Docker to pause {service(node)}", frozen, config.TIMEOUTS.kill, interval=0.5,
                 retry_on=(_FreezeFailed,), hint="the engine could not freeze the container; "
                 "`labkit kill` stops the broker at once instead.")

    def _resume(self, node: int) -> None:
        self._call("resume", node)

    # ---- the cluster ----------------------------------------------------------------------
    def _env(self) -> dict:
        from . import exporter  # the metrics agent, mounted into the containers when fetched (notebook 11)
        from ..connect.container import compose_env  # the Connect service (notebook 10)
        jar = exporter.agent_jar() if exporter.enabled() else None
        return {**os.environ, **port_env(self.port_base), **metrics_env(self.port_base, jar),
                **compose_env(self.project, self.port_base)}

    def _compose(self, action: str, out, wipe: bool = False, timeout: float = config.TIMEOUTS.up,
                 services: list[str] | None = None) -> None:
        if not self.file.exists():
            raise LabError(f"The compose file {self.file} does not exist.",
                           hint="run labkit from a clone of the lab, or set LABKIT_COMPOSE_FILE.")
        self.client  # a clear "no engine" error before compose prints its own
        cmd = compose_command(action, self.file, wipe, self.project, services)
        text = self._docker(cmd, timeout, f"docker compose {action}", NO_PLUGIN_HINT)
        if text:
            out.write(text + "\n")

    def _docker(self, cmd: list[str], timeout: float, what: str, hint: str) -> str:
        """Run a docker CLI command; its failure is a LabError with the last lines it printed."""
        try:
            res = self._run(cmd, capture_output=True, text=True, timeout=timeout, env=self._env())
        except FileNotFoundError:
            raise LabError("The docker command is not installed.",
                           hint="install Docker Desktop, or Docker Engine with the compose plugin.") from None
        except subprocess.TimeoutExpired:
            raise LabError(f"`{what}` took over {timeout:.0f} s.",
                           hint=f"`docker compose -p {self.project} ps` and `docker compose -p "
                                f"{self.project} logs kafka-1` show why.") from None
        text = (res.stdout + res.stderr).strip()
        if res.returncode != 0:
            plugin_missing = "not a docker command" in text or "unknown command" in text
            raise LabError("Docker's compose plugin is not installed." if plugin_missing and "compose" in what
                           else f"`{what}` failed (exit {res.returncode}).",
                           hint=hint if plugin_missing else
                           f"`docker compose -p {self.project} logs kafka-1` shows a broker's log; "
                           "`labkit --backend compose down --wipe` starts afresh.",
                           log_tail="\n".join(text.splitlines()[-15:]))
        return text

    def _ensure_image(self, out) -> None:
        """The Kafka image is here, or pulled now; else a LabError naming the offline build."""
        name = image()
        try:
            self.client.images.get(name)
            return
        except Exception:  # docker.errors.ImageNotFound (or an engine hiccup: the pull tells)
            pass
        out.write(f"Pulling {name} (once) ...\n")
        try:
            self._docker(["docker", "pull", name], config.TIMEOUTS.fetch, f"docker pull {name}",
                         IMAGE_HINT.format(v=config.KAFKA_VERSION))
        except LabError as exc:
            raise LabError(f"The Kafka image {name} is not on this machine and cannot be pulled.",
                           hint=IMAGE_HINT.format(v=config.KAFKA_VERSION), log_tail=exc.log_tail) from None

    def _check_published(self, node: int, box) -> None:
        """An existing container publishes the port this cluster expects (LABKIT_PORT_BASE may differ)."""
        bindings = (box.attrs.get("HostConfig", {}).get("PortBindings") or {}).get("9092/tcp") or []
        published = {int(b.get("HostPort") or 0) for b in bindings}
        if published and self.port(node) not in published:
            raise LabError(f"Broker {node}'s container publishes port {sorted(published)[0]}, "
                           f"not {self.port(node)} (LABKIT_PORT_BASE changed since it was made).",
                           hint="`labkit --backend compose down` removes the containers (the data "
                                "volumes stay); `labkit --backend compose up` makes them anew.")

    def up(self, out=sys.stderr) -> list[dict]:
        """Start the brokers that are not running and return when the cluster is ready (notebook 00).

        Missing containers are created by ``docker compose up``; stopped ones are started through
        the SDK; running or paused ones are left alone (paused counts as running, as in local mode).
        """
        boxes = {n: self.container(n) for n in config.NODES}
        down = [n for n, box in boxes.items() if box is None or STATES.get(box.status) == "stopped"]
        if not down:
            out.write(f"The lab cluster (compose) is already running at {self.bootstrap_servers}.\n")
            return self.status()
        for n in down:
            if boxes[n] is not None:
                self._check_published(n, boxes[n])
        self.check_ports_free(down)  # local mode (or anything else) may hold our host ports
        missing = [n for n in down if boxes[n] is None]
        if missing:
            self._ensure_image(out)
            from . import exporter
            exporter.fetch_agent(out)  # mounted into the new containers when it is there (notebook 11)
            out.write(f"docker compose up {' '.join(map(service, missing))} (Kafka {config.KAFKA_VERSION}) ...\n")
            self._compose("up", out, services=[service(n) for n in missing])
        for n in down:
            if boxes[n] is not None:
                self._call("start", n)
        # docker's proxy accepts before Kafka listens, and a broker killed a moment ago is still
        # registered: wait for Kafka itself on each port first, then for labkit's readiness
        self.wait_listening(down, config.TIMEOUTS.up)
        ready.wait_cluster(self, {}, out, config.TIMEOUTS.up)  # registered, probe partition in sync
        return self.status()

    def down(self, wipe: bool = False, out=sys.stderr) -> None:
        """Remove the containers (``docker compose down``); ``wipe`` also deletes the data volumes."""
        from ..connect import stop_with_cluster
        stop_with_cluster(self, wipe, out)  # the Connect worker goes first, as in local mode
        self._compose("down", out, wipe=wipe, timeout=config.TIMEOUTS.stop_broker * 3 + 30)
        out.write("Removed the lab's containers" + (" and data volumes.\n" if wipe else ".\n"))
