"""One place for versions, ports, paths and timeouts.

Every other module asks here; nothing computes a port or a path twice. Environment variables
let tests and classrooms run a second cluster beside a learner's own (introduced in notebook 00):

- ``LABKIT_STATE_DIR``: where the cluster keeps pids, data and logs (default ``~/.labkit/cluster``).
- ``LABKIT_PORT_BASE``: client port of broker 1; brokers 2 and 3 take the next two (default 9092).
- ``LABKIT_CACHE``: where fetched Kafka jars are kept (default ``~/.cache/labkit``).
- ``KAFKA_HOME``: an unpacked official Kafka distribution to use instead of fetching jars.
"""
from __future__ import annotations

import os
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

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
POM = DATA_DIR / "kafka-pom.xml"
SERVER_LOG4J = DATA_DIR / "log4j2-server.xml"
TOOLS_LOG4J = DATA_DIR / "log4j2-tools.xml"

# Heaps small enough for three brokers and the tools on a 2-core laptop.
BROKER_HEAP = os.environ.get("LABKIT_BROKER_HEAP", "-Xms256m -Xmx256m")
TOOL_HEAP = "-Xmx256m"


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


TIMEOUTS = Timeouts()


def port_base() -> int:
    return int(os.environ.get("LABKIT_PORT_BASE", DEFAULT_PORT_BASE))


def client_port(node: int, base: int | None = None) -> int:
    return (port_base() if base is None else base) + node - 1


def controller_port(node: int, base: int | None = None) -> int:
    return client_port(node, base) + CONTROLLER_OFFSET


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
