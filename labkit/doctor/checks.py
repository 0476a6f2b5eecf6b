"""The pre-flight checks behind ``labkit doctor`` (issue 20; a learner runs it before a workshop).

Each check looks, never changes anything, and finishes in a second or two: it returns one
``Row`` with a verdict, what it saw, and the fix when something is missing. A row that
``blocks`` is one without which ``labkit up`` or the first notebooks cannot work; the others
(``warn``) only concern a later lesson or a slower start.
"""
from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil

from .. import config
from ..cluster import fetch, maven, procs
from ..errors import LabError

GIB = 1 << 30
DISK_MIN, DISK_WANT = 1 * GIB, 3 * GIB  # data and logs of 3 brokers in the lessons; wheels and jars
MEM_MIN, MEM_WANT = int(1.5 * GIB), 3 * GIB  # 3 brokers at 256 MiB heap plus JVM overhead, Jupyter
EXTRAS = {"kafka-streams": "notebook 09", f"connect-{config.CONNECT_VERSION}": "notebook 10",
          "jmx-exporter": "notebook 11"}
PYTHON_FIX = ("install Python 3.10+: Debian/Ubuntu `sudo apt install python3 python3-venv`, macOS "
              "`brew install python@3.12`, conda `conda create -n kafka-lab python=3.11`, Windows: WSL2")
JUPYTER_FIX = ("`make lab` installs it into .venv; by hand `pip install 'jupyterlab>=4'`, "
               "or conda `conda env create -f environment.yml`")
DOCKER_FIX = ("Docker Desktop (macOS, Windows with WSL2), or on Debian/Ubuntu `sudo apt install docker.io "
              "docker-compose-v2` and `sudo systemctl start docker`; or use the local backend (the default)")


@dataclass
class Row:
    """One line of the doctor's table: ok, or not ok with a fix; ``blocks`` when the lab cannot run."""

    check: str
    ok: bool
    seen: str
    fix: str = ""
    blocks: bool = True

    @property
    def mark(self) -> str:
        return "✔" if self.ok else ("✘" if self.blocks else "!")


def python() -> Row:
    v = sys.version_info
    ok = v >= (3, 10)
    return Row("Python 3.10+", ok, f"{v.major}.{v.minor}.{v.micro} ({sys.executable})", "" if ok else PYTHON_FIX)


def java() -> Row:
    try:
        exe = fetch.java()
    except LabError as exc:
        return Row(f"Java {config.JAVA_MIN}+", False, exc.message, exc.hint or fetch.JAVA_HINT)
    out = subprocess.run([exe, "-version"], capture_output=True, text=True, timeout=30)
    first = (out.stderr or out.stdout).splitlines()[0] if (out.stderr or out.stdout) else exe
    return Row(f"Java {config.JAVA_MIN}+", True, f"{first.strip()} ({exe})")


def kafka_jars() -> tuple[Row, Row]:
    """Two rows: where Kafka's jars come from (Maven or KAFKA_HOME) and whether they are cached.

    Jars already cached (or an offline kit's LABKIT_CACHE) make Maven unnecessary.
    """
    try:
        libs = fetch.libs_dir()
    except LabError as exc:
        bad = Row("Kafka jars", False, exc.message, exc.hint)
        return Row("Maven or KAFKA_HOME", False, f"KAFKA_HOME={config.kafka_home()}", exc.hint), bad
    mvn = shutil.which("mvn")
    if config.kafka_home() is not None:
        source = Row("Maven or KAFKA_HOME", True, f"KAFKA_HOME={config.kafka_home()}")
    elif mvn:
        source = Row("Maven or KAFKA_HOME", True, f"mvn at {mvn}")
    else:
        source = Row("Maven or KAFKA_HOME", libs is not None,
                     "no mvn on PATH" + ("; not needed, the jars are cached" if libs else ""),
                     maven.MAVEN_HINT + "; or install from an offline kit (`labkit bundle`)",
                     blocks=libs is None)
    if libs is not None:
        size = sum(p.stat().st_size for p in libs.glob("*.jar")) >> 20
        jars = Row(f"Kafka {config.KAFKA_VERSION} jars", True, f"{libs} ({size} MiB)")
    else:
        jars = Row(f"Kafka {config.KAFKA_VERSION} jars", False, f"not yet in {fetch.cached_libs()}",
                   "`labkit fetch` (about 55 MB from Maven Central, once)", blocks=not mvn)
    return source, jars


def extras() -> Row:
    """The later lessons' jars (fetched on first use): missing ones only cost a download then."""
    missing = [f"{name} ({lesson})" for name, lesson in EXTRAS.items() if fetch.extra_dir(name) is None]
    if not missing:
        return Row("later lessons' jars", True, f"all cached in {config.cache_dir()}")
    return Row("later lessons' jars", False, "not cached: " + ", ".join(missing),
               "fetched on first use (needs Maven and network), or from an offline kit", blocks=False)


def _existing(path: Path) -> Path:
    for parent in (path, *path.parents):
        if parent.exists():
            return parent
    return Path("/")


def disk() -> Row:
    where = _existing(config.state_dir())
    free = shutil.disk_usage(where).free
    seen = f"{free / GIB:.1f} GiB free at {where}"
    fix = f"free some space, or set LABKIT_STATE_DIR to a disk with {DISK_WANT // GIB} GiB free"
    return Row("free disk", free >= DISK_WANT, seen, "" if free >= DISK_WANT else fix, blocks=free < DISK_MIN)


def memory() -> Row:
    avail = psutil.virtual_memory().available
    seen = f"{avail / GIB:.1f} GiB available of {psutil.virtual_memory().total / GIB:.1f} GiB"
    fix = ("close other programs; on WSL2 raise `memory=` in .wslconfig; LABKIT_BROKER_HEAP="
           "'-Xms128m -Xmx192m' makes the brokers smaller")
    return Row("free memory", avail >= MEM_WANT, seen, "" if avail >= MEM_WANT else fix, blocks=avail < MEM_MIN)


def _holder(port: int) -> tuple[int | None, str]:
    """(pid, its command line) of the process listening on 127.0.0.1:port, or (None, '')."""
    try:
        conns = psutil.net_connections(kind="tcp")
    except (psutil.Error, OSError):
        conns = []
    for c in conns:
        if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN:
            return c.pid, procs.cmdline(c.pid) if c.pid else ""
    # macOS lists only the user's own sockets without root: say how to find the holder
    return None, (f"a process labkit cannot see (`sudo lsof -i :{port}` names it)" if not procs.port_free(port) else "")


def lab_ports(base: int | None = None) -> list[tuple[str, list[int], bool]]:
    """(what, ports, blocks) for every port the lab uses (config.py), brokers first."""
    base = config.port_base() if base is None else base
    ports = [("broker ports", [config.client_port(n, base) for n in config.NODES], True),
             ("controller ports", [config.controller_port(n, base) for n in config.NODES], True),
             ("metrics ports (11)", [config.metrics_port(n, base) for n in config.NODES], True),
             ("Prometheus port (11)", [config.prometheus_port(base)], False),
             ("dashboard port (11)", [config.dashboard_port(base)], False)]
    try:
        ports.insert(3, ("Connect REST port (10)", [config.connect_port(base)], False))
    except LabError:
        pass  # a base below 2033: connect_port itself explains it when notebook 10 asks
    return ports


def ports(base: int | None = None) -> list[Row]:
    """One row per group of the lab's ports: free, held by this lab (fine), or who holds them."""
    state = str(config.state_dir().expanduser().resolve())
    rows = []
    for what, group, blocks in lab_ports(base):
        strangers, own = [], 0
        for port in group:
            if procs.port_free(port):
                continue
            pid, cmd = _holder(port)
            if state in cmd:  # this lab's own broker or worker (its argv names the state folder)
                own += 1
            else:
                strangers.append(f"{port} by {f'pid {pid}: ' if pid else ''}{cmd[:90] or 'unknown'}")
        span = f"{group[0]}-{group[-1]}" if len(group) > 1 else str(group[0])
        if strangers:
            rows.append(Row(what, False, "taken: " + "; ".join(strangers),
                            f"stop that process, or pick other ports with LABKIT_PORT_BASE (now "
                            f"{config.port_base() if base is None else base})", blocks=blocks))
        else:
            rows.append(Row(what, True, f"{span} " + ("held by this lab" if own else "free")))
    return rows


def jupyterlab() -> Row:
    try:
        version = importlib.metadata.version("jupyterlab")
    except importlib.metadata.PackageNotFoundError:
        return Row("JupyterLab 4", False, "not installed in this Python", JUPYTER_FIX)
    ok = int(version.split(".")[0]) >= 4
    return Row("JupyterLab 4", ok, f"jupyterlab {version}", "" if ok else JUPYTER_FIX)


def docker(backend: str) -> Row | None:
    """The Docker engine and compose plugin, asked only when the compose backend is chosen."""
    if backend != "compose":
        return None
    from ..cluster.compose import compose_cli_problem
    try:
        problem = compose_cli_problem()
        if problem is None:
            res = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"],
                                 capture_output=True, text=True, timeout=15)
            problem = None if res.returncode == 0 else "the Docker engine does not answer"
            seen = f"engine {res.stdout.strip()}" if res.returncode == 0 else problem
    except (OSError, subprocess.TimeoutExpired) as exc:
        problem = f"docker did not answer: {exc}"
    return Row("Docker engine + compose", problem is None, problem or seen, DOCKER_FIX if problem else "")


def all_rows(backend: str | None = None) -> list[Row]:
    """Every check, in the order the table shows them (``labkit doctor``)."""
    backend = (backend or os.environ.get("LABKIT_BACKEND") or "local").lower()
    rows = [python(), java(), *kafka_jars(), extras(), disk(), memory()]
    rows += ports() if backend == "local" else []
    rows += [r for r in (docker(backend), jupyterlab()) if r is not None]
    return rows
