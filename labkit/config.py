"""One place for versions, ports, paths and timeouts.

Every other module asks here; nothing computes a port or a path twice. Environment variables
let tests and classrooms run a second cluster beside a learner's own (introduced in notebook 00):

- ``LABKIT_STATE_DIR``: where the cluster keeps pids, data and logs (default ``~/.labkit/cluster``).
- ``LABKIT_PORT_BASE``: client port of broker 1; brokers 2 and 3 take the next two (default 9092).
- ``LABKIT_CACHE``: where fetched Kafka jars are kept (default ``~/.cache/labkit``).
- ``KAFKA_HOME``: an unpacked official Kafka distribution to use instead of fetching jars.
- ``LABKIT_BROKER_HEAP``: the brokers' heap flags, ``-Xms``/``-Xmx`` only (default 256 MiB).
- ``LABKIT_BROKER_JIT``: ``quick`` (default: the C1 compiler only) or ``full`` (C1 and C2).
- ``LABKIT_CDS``: ``0`` turns off the class-data archive that makes JVMs start faster.
- ``LABKIT_IDLE_STOP``: minutes without any client after which ``up``'s watchdog stops the cluster.
- ``LABKIT_METRICS``: ``0`` starts brokers without the metrics agent (``cluster/exporter.py``, notebook 11).
- ``LABKIT_OWNER``: who a new state folder belongs to (``lab``; the suite and the bench set theirs).
- ``LABKIT_SECURE_STATE_DIR``: the secured lab's folder (default ``<state dir>-secure``, notebook 12).
- ``LABKIT_BOOTSTRAP`` and ``LABKIT_CLIENT_CONFIG``: any existing cluster (a managed one) as the
  lab's backend, with the client properties file its provider hands out (notebook 12).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

KAFKA_VERSION = "4.4.0"  # the one pinned release: jars, docs, compose image tag
SCALA_VERSION = "2.13"
LOG4J_VERSION = "2.25.5"  # matches the log4j-core that kafka 4.4.0 pulls in
JAVA_MIN = 17

NODES = (1, 2, 3)
HOST = "127.0.0.1"  # everything binds here, never to a public interface
DEFAULT_PORT_BASE = 9092
CONTROLLER_OFFSET = 100  # controller port = client port + 100
METRICS_OFFSET = 200  # each broker's Prometheus metrics endpoint = client port + 200 (notebook 11)
PROMETHEUS_OFFSET = -2  # the optional Prometheus server = port base - 2: 9090 for the default base
DASHBOARD_OFFSET = -226  # `labkit dashboard`'s web page = port base - 226: Voila's 8866 for the default base

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
POM = DATA_DIR / "kafka-pom.xml"
SERVER_LOG4J = DATA_DIR / "log4j2-server.xml"
TOOLS_LOG4J = DATA_DIR / "log4j2-tools.xml"
JMX_EXPORTER_POM = DATA_DIR / "jmx-exporter-pom.xml"  # the Prometheus JMX exporter agent (notebook 11)
JMX_EXPORTER_RULES = DATA_DIR / "jmx-kafka.yml"  # which MBeans it serves, under which names

# Heaps small enough for three brokers and the tools on a 2-core laptop.
DEFAULT_BROKER_HEAP = "-Xms256m -Xmx256m"
TOOL_HEAP = "-Xmx256m"
HEAP_FLAG = re.compile(r"-Xm[sx]\d+[kmgKMG]?")
OWNER_FILE = ".labkit-owner"  # written into every state folder labkit creates


@dataclass(frozen=True)
class Timeouts:
    """Seconds. Every wait in labkit is bounded by one of these."""

    up: float = 180.0  # whole cluster to ready, JVM start on 2 cores included
    start_broker: float = 120.0
    stop_broker: float = 30.0  # graceful shutdown before SIGKILL
    kill: float = 10.0
    format: float = 60.0
    fetch: float = 600.0
    request: float = 10.0  # one admin request
    election: float = 30.0
    lock: float = 300.0  # waiting for another labkit's operation on the same cluster (an up: 180 s)


TIMEOUTS = Timeouts()


def _error(message: str, hint: str):
    from .errors import LabError  # errors imports nothing of labkit; kept lazy all the same
    return LabError(message, hint=hint)


def port_base() -> int:
    """LABKIT_PORT_BASE, checked: a number leaving room for 3 client and 3 controller ports."""
    raw = os.environ.get("LABKIT_PORT_BASE", str(DEFAULT_PORT_BASE)).strip()
    top = 65535 - METRICS_OFFSET - len(NODES) + 1
    try:
        base = int(raw)
    except ValueError:
        raise _error(f"LABKIT_PORT_BASE={raw!r} is not a port number.",
                     f"use a number from 1024 to {top}, for example 29092.") from None
    if not 1024 <= base <= top:
        raise _error(f"LABKIT_PORT_BASE={base} leaves no room for the lab's ports "
                     f"({base}-{base + 2} and {base + CONTROLLER_OFFSET}-{base + CONTROLLER_OFFSET + 2}).",
                     f"use a number from 1024 to {top}, for example 29092.")
    return base


def broker_heap() -> str:
    """LABKIT_BROKER_HEAP, checked: only -Xms/-Xmx flags reach the broker's JVM."""
    raw = os.environ.get("LABKIT_BROKER_HEAP", DEFAULT_BROKER_HEAP)
    flags = raw.split()
    if not flags or not all(HEAP_FLAG.fullmatch(f) for f in flags):
        raise _error(f"LABKIT_BROKER_HEAP={raw!r} is not a heap size.",
                     "give -Xms and -Xmx flags only, for example '-Xms256m -Xmx512m'.")
    return " ".join(flags)


def broker_jit() -> list[str]:
    """LABKIT_BROKER_JIT: which JIT compilers a broker runs (docs/benchmarks.md has the figures).

    ``quick`` stops at C1: a broker ready in about half the time, and on 2 cores more throughput
    in a lab's short runs, since C2 compiler threads no longer compete with the workload.
    """
    raw = os.environ.get("LABKIT_BROKER_JIT", "quick").strip().lower()
    if raw not in ("quick", "full"):
        raise _error(f"LABKIT_BROKER_JIT={raw!r} is neither 'quick' nor 'full'.",
                     "use quick (C1 only, the default) or full (C1 and C2, for long runs).")
    return ["-XX:TieredStopAtLevel=1"] if raw == "quick" else []


def idle_stop() -> float | None:
    """LABKIT_IDLE_STOP in minutes, or None (no watchdog)."""
    raw = os.environ.get("LABKIT_IDLE_STOP", "").strip()
    if not raw:
        return None
    try:
        minutes = float(raw)
    except ValueError:
        minutes = -1.0
    if minutes <= 0:
        raise _error(f"LABKIT_IDLE_STOP={raw!r} is not a number of minutes.",
                     "use a positive number, for example 60; unset it to keep the cluster running.")
    return minutes


def owner() -> str:
    """Who a state folder made now belongs to: 'lab', or 'test-suite'/'bench' when they run."""
    return os.environ.get("LABKIT_OWNER", "lab").strip() or "lab"


def client_port(node: int, base: int | None = None) -> int:
    return (port_base() if base is None else base) + node - 1


def controller_port(node: int, base: int | None = None) -> int:
    return client_port(node, base) + CONTROLLER_OFFSET


def metrics_port(node: int, base: int | None = None) -> int:
    """Where broker ``node``'s JMX exporter serves ``/metrics`` on 127.0.0.1 (notebook 11)."""
    return client_port(node, base) + METRICS_OFFSET


def prometheus_port(base: int | None = None) -> int:
    """Where notebook 11's optional Prometheus serves its web UI and API on 127.0.0.1."""
    return (port_base() if base is None else base) + PROMETHEUS_OFFSET


def dashboard_port(base: int | None = None) -> int:
    """Where ``labkit dashboard`` serves the live view as a web page on 127.0.0.1 (notebook 11)."""
    return (port_base() if base is None else base) + DASHBOARD_OFFSET


def bootstrap_servers(base: int | None = None) -> str:
    return ",".join(f"{HOST}:{client_port(n, base)}" for n in NODES)


def state_dir() -> Path:
    return Path(os.environ.get("LABKIT_STATE_DIR", Path.home() / ".labkit" / "cluster")).expanduser()


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "labkit"
    return Path(os.environ.get("LABKIT_CACHE", default)).expanduser()


def kafka_home() -> Path | None:
    home = os.environ.get("KAFKA_HOME")
    return Path(home).expanduser() if home else None


def __getattr__(name: str):
    # BROKER_HEAP was a constant read at import; it is now read (and checked) when asked for
    if name == "BROKER_HEAP":
        return broker_heap()
    raise AttributeError(name)


# ---- Kafka Connect (notebook 10; labkit/connect) -------------------------------------------------
# Apache Kafka's FileStream connectors (`connect-file`) are on Maven Central up to 4.3.1, not for
# 4.4.0, and 4.4.0 moved classes that 4.3.x plugins call. So the Connect worker and its file
# connectors both run from this one Apache Kafka release; the worker is a client of the 4.4.0
# brokers like any other (docs/connect.md says why). When connect-file 4.4.0 is published, set
# CONNECT_VERSION = KAFKA_VERSION: nothing else changes.
CONNECT_VERSION = "4.3.1"
CONNECT_POM = DATA_DIR / "connect-pom.xml"
CONNECT_PORT_OFFSET = -1009  # the worker's REST port: broker 1's client port - 1009 (8083 by default)
CONNECT_HEAP = "-Xms64m -Xmx256m"


def connect_port(base: int | None = None) -> int:
    """The Connect worker's REST port (notebook 10): 8083 for the default port base."""
    port = (port_base() if base is None else base) + CONNECT_PORT_OFFSET
    if port < 1024:
        raise _error(f"LABKIT_PORT_BASE={port - CONNECT_PORT_OFFSET} puts the Connect worker's REST port "
                     f"at {port}, below 1024.", "use a port base of 2033 or more, for example 29092.")
    return port


# ---- the secured lab (notebook 12; labkit/cluster/secure.py) -------------------------------------
# `labkit up --secure` runs a second 3-node cluster with SASL/SCRAM and ACLs beside the plain one:
# its own folder and ports, so the plain lab (and the test suite's cluster) keep running.
SECURE_PORT_OFFSET = 300  # secure brokers' client ports = port base + 300..302 (controllers +400, metrics +500)


def secure_state_dir() -> Path:
    """The secured cluster's folder: $LABKIT_SECURE_STATE_DIR, else the plain folder's name + '-secure'."""
    raw = os.environ.get("LABKIT_SECURE_STATE_DIR")
    if raw:
        return Path(raw).expanduser()
    plain = state_dir()
    return plain.with_name(plain.name + "-secure")


def secure_port_base(base: int | None = None) -> int:
    """Client port of the secured cluster's broker 1: the plain port base + 300 (9392 by default)."""
    return (port_base() if base is None else base) + SECURE_PORT_OFFSET
