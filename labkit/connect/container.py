"""The lab's Connect worker on the compose backend: docker-compose.yml's ``connect`` service (notebook 10).

The same worker as in local mode (``worker.py``: its properties, readiness and REST client), run
in a container of the brokers' image with the lab's Connect jars (``config.CONNECT_VERSION``,
fetched once on the host) mounted read-only: one Connect release on both backends, and no second
image to build. Its host folder (``worker.properties``, ``logs/``, ``files/``) is mounted at the
same path inside, so a file path in a connector's JSON names the same file for the notebook and
for the worker; the container runs as the host user, so the files it writes are the learner's.
It reaches the brokers on their INTERNAL listeners; its REST port is published on 127.0.0.1 only.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from .. import config
from ..cluster.compose import docker_call
from ..cluster.composefile import service
from ..errors import LabError
from . import jars
from .worker import STOP_GRACE, Worker, jvm_options

SERVICE = "connect"  # the service in docker-compose.yml (profile "connect": `up` alone never starts it)
JARS_MOUNT = "/opt/labkit/connect"  # where docker-compose.yml mounts LABKIT_CONNECT_JARS
LOG4J_MOUNT = "/opt/labkit/log4j2-server.xml"
REST_PORT = 8083  # inside the container; published on 127.0.0.1 at config.connect_port()
INTERNAL_LISTENER = 19092  # the brokers' INTERNAL listener (docker-compose.yml)


def folder(project: str) -> Path:
    """The worker's folder on the host for compose ``project``: beside the local lab's state folder."""
    return config.state_dir().expanduser().resolve().with_name(f"compose-{project}") / "connect"


def compose_env(project: str, port_base: int) -> dict[str, str]:
    """The variables docker-compose.yml's ``connect`` service reads (set on every compose call)."""
    env = {"LABKIT_CONNECT_PORT": str(config.connect_port(port_base)),
           "LABKIT_CONNECT_DIR": str(folder(project)),
           "LABKIT_CONNECT_JAVA_OPTS": " ".join(jvm_options(LOG4J_MOUNT, folder(project) / "logs"))}
    if hasattr(os, "getuid"):  # the files it writes belong to the learner (Linux); Docker Desktop maps them
        env["LABKIT_CONNECT_USER"] = f"{os.getuid()}:{os.getgid()}"
    libs = jars.fetched()
    if libs is not None:
        env["LABKIT_CONNECT_JARS"] = str(libs)
    return env


class ContainerWorker(Worker):
    """The Connect worker of a compose cluster: ``labkit --backend compose connect up``, ``lab.connect()``."""

    def __init__(self, cluster):
        self.cluster = cluster
        # a container made from another state folder keeps its own: ask it, so both sides agree
        self.folder = self._mounted() or folder(cluster.project)
        self.port = config.connect_port(cluster.port_base)
        self.url = f"http://{config.HOST}:{self.port}"

    def endpoints(self) -> dict[str, str]:
        return {
            "bootstrap.servers": ",".join(f"{service(n)}:{INTERNAL_LISTENER}" for n in config.NODES),
            # every interface of the container, which Docker publishes on the host's 127.0.0.1 only
            "listeners": f"http://0.0.0.0:{REST_PORT}",
            "rest.advertised.host.name": SERVICE,
            "rest.advertised.port": str(REST_PORT),
            "plugin.path": f"{JARS_MOUNT}/{jars.plugin_jar(Path('.')).name}",
        }

    def container(self):
        """The ``connect`` container of this compose project, or None."""
        return self.cluster.service_container(SERVICE)

    def _mounted(self) -> Path | None:
        box = self.container()
        env = dict(e.partition("=")[::2] for e in (box.attrs.get("Config", {}).get("Env") or [])) if box else {}
        return Path(env["LABKIT_CONNECT_DIR"]) if env.get("LABKIT_CONNECT_DIR") else None

    def pid(self) -> int | None:
        """The worker's process id as the engine sees it, while its container runs."""
        box = self.container()
        if box is None or box.status != "running":
            return None
        return box.attrs.get("State", {}).get("Pid") or None

    def _alive(self, pid: int) -> bool:
        box = self.container()
        return box is not None and box.status == "running"

    def _launch(self) -> int:
        from ..cluster.lock import os_error, write_atomic
        try:
            for sub in ("logs", "files"):
                (self.folder / sub).mkdir(parents=True, exist_ok=True)
            write_atomic(self.props, self.properties())
        except OSError as exc:
            raise os_error(exc, self.folder) from None
        box = self.container()
        if box is None:
            self.cluster._compose("up", _Null(), services=[SERVICE])
        else:
            self._call(box, "start")
        pid = self.pid()
        if pid is None:
            raise LabError("The Connect worker's container did not start.",
                           hint=f"`docker compose -p {self.cluster.project} logs {SERVICE}` says why.",
                           log_tail=self.log_tail(20))
        return pid

    def _call(self, box, method: str, **kwargs) -> None:
        docker_call(box, method, "the Connect worker's container",
                    "`labkit --backend compose connect status` shows its state.", **kwargs)

    def stop(self, out=sys.stderr, grace: float = STOP_GRACE) -> str:
        """``docker stop`` (SIGTERM, then SIGKILL after ``grace``); the container stays for the next up."""
        box = self.container()
        if box is None or box.status not in ("running", "paused"):
            return "not running"
        self._call(box, "stop", timeout=int(grace))
        box.reload()
        killed = box.attrs.get("State", {}).get("ExitCode") == 137
        result = "killed after grace period (docker stop)" if killed else "stopped (docker stop)"
        out.write(f"Connect worker (container {box.name}): {result}.\n")
        return result

    def kill(self) -> str:
        """SIGKILL the worker's container: a crash with no goodbye (notebook 10)."""
        box = self.container()
        if box is None or box.status != "running":
            return "not running"
        self._call(box, "kill", signal="SIGKILL")
        box.reload()
        return f"killed container {box.name}"

    def status(self) -> dict:
        box = self.container()
        state = "running" if box is not None and box.status == "running" else "stopped"
        return {"state": state, "pid": self.pid(), "url": self.url, "version": config.CONNECT_VERSION,
                "folder": str(self.folder), "container": box.name if box is not None else None}

    def log_tail(self, lines: int = 40) -> str:
        tail = super().log_tail(lines)  # server.log, written to the mounted folder
        box = self.container()
        if box is not None:
            text = box.logs(tail=lines).decode(errors="replace").rstrip()
            tail += f"\n--- docker logs {box.name}\n{text}" if text else ""
        return tail.strip()

    def remove(self) -> None:
        """Remove the stopped container (``labkit down`` on compose; the next up makes it anew)."""
        box = self.container()
        if box is not None:
            self._call(box, "remove", force=True)


class _Null:
    def write(self, _text: str) -> None:
        pass
