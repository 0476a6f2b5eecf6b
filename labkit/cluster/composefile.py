"""docker-compose.yml as labkit reads it: plain data and pure functions, tested without Docker.

The compose project and its services, how the ``apache/kafka`` image turns ``KAFKA_*`` environment
variables into broker settings (and back), the ``docker compose`` command lines, and the map from
lab operations (kill, stop, start, pause, resume) to docker SDK container calls:

    kill -> container kill (SIGKILL)   stop -> container stop    start -> container start
    pause -> container pause (freezer, like SIGSTOP)             resume -> container unpause

``labkit.cluster.compose`` is the backend that carries them out on a Docker engine (notebook 00).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from .. import config
from ..errors import LabError

PROJECT = "kafka-lab"  # the default compose project name; also `name:` in docker-compose.yml
IMAGE = f"apache/kafka:{config.KAFKA_VERSION}"  # docker-compose.yml's default for LABKIT_KAFKA_IMAGE
PROJECT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")  # what compose accepts for -p
DATA_DIR = "/var/lib/kafka/data"  # KAFKA_LOG_DIRS in docker-compose.yml, a named volume
QUORUM_STATE = f"{DATA_DIR}/__cluster_metadata-0/quorum-state"

# Lab operation -> (docker SDK container method, its keyword arguments).
OPERATIONS = {
    "kill": ("kill", {"signal": "SIGKILL"}),
    "stop": ("stop", {"timeout": int(config.TIMEOUTS.stop_broker)}),  # SIGTERM, then SIGKILL
    "start": ("start", {}),
    "pause": ("pause", {}),
    "resume": ("unpause", {}),
}

# Docker's container states -> the states LocalCluster.status() reports.
STATES = {"running": "running", "paused": "paused", "restarting": "running",
          "created": "stopped", "exited": "stopped", "removing": "stopped", "dead": "stopped"}

def service(node: int) -> str:
    """The compose service (and hostname) of broker ``node``: kafka-1, kafka-2, kafka-3."""
    return f"kafka-{node}"


def container_call(operation: str, node: int) -> tuple[str, str, dict]:
    """(service, container method, kwargs) that carry out lab ``operation`` on broker ``node``."""
    try:
        method, kwargs = OPERATIONS[operation]
    except KeyError:
        raise LabError(f"No broker operation {operation!r}.",
                       hint=f"use one of: {', '.join(OPERATIONS)}.") from None
    return service(node), method, dict(kwargs)


def env_name(setting: str) -> str:
    """The apache/kafka image's environment variable for a broker setting (``a.b_c-d`` -> KAFKA_A_B__C___D)."""
    return "KAFKA_" + setting.replace("_", "__").replace(".", "_").replace("-", "___").upper()


# Variables the image passes to the JVM or its scripts, not to server.properties.
IMAGE_NON_PROPERTIES = {"KAFKA_HEAP_OPTS", "KAFKA_OPTS", "KAFKA_JMX_OPTS", "KAFKA_LOG4J_OPTS",
                        "KAFKA_JVM_PERFORMANCE_OPTS", "KAFKA_GC_LOG_OPTS", "KAFKA_VERSION"}


def setting_name(variable: str) -> str:
    """The inverse of ``env_name``: KAFKA_A_B__C___D -> ``a.b_c-d``, as the image reads it."""
    body = re.sub(r"(?<=[^_])_(?=[^_])", ".", variable[len("KAFKA_"):])
    return body.replace("___", "-").replace("__", "_").lower()


def image_properties(environment: dict) -> dict[str, str]:
    """The broker settings the apache/kafka image renders from a service's environment."""
    return {setting_name(k): str(v) for k, v in environment.items()
            if k.startswith("KAFKA_") and k not in IMAGE_NON_PROPERTIES}


def compose_file() -> Path:
    """The compose file: ``$LABKIT_COMPOSE_FILE``, else docker-compose.yml beside the labkit package."""
    return Path(os.environ.get("LABKIT_COMPOSE_FILE", config.PACKAGE_DIR.parent / "docker-compose.yml"))


def project() -> str:
    """The compose project: ``$LABKIT_COMPOSE_PROJECT`` (the test suite's own), else kafka-lab."""
    name = os.environ.get("LABKIT_COMPOSE_PROJECT", "").strip() or PROJECT
    if not PROJECT_NAME.fullmatch(name):
        raise LabError(f"LABKIT_COMPOSE_PROJECT={name!r} is not a compose project name.",
                       hint="use lower-case letters, digits, '-' and '_', for example kafka-lab-test.")
    return name


def image() -> str:
    """The Kafka image the nodes run: ``$LABKIT_KAFKA_IMAGE``, else the pinned apache/kafka."""
    return os.environ.get("LABKIT_KAFKA_IMAGE", "").strip() or IMAGE


def port_env(port_base: int) -> dict[str, str]:
    """The variables docker-compose.yml reads for each node's host port (compose has no arithmetic)."""
    return {f"LABKIT_PORT_{n}": str(config.client_port(n, port_base)) for n in config.NODES}


METRICS_PORT = 9404  # the metrics agent's port inside a container (docker-compose.yml publishes it)
AGENT_MOUNT, RULES_MOUNT = "/opt/labkit/agent", "/opt/labkit/jmx-kafka.yml"  # where the yml mounts them


def metrics_env(port_base: int, jar: Path | None) -> dict[str, str]:
    """The variables docker-compose.yml reads for the metrics agent (notebook 11): each node's host
    port for it and, when the agent's ``jar`` is fetched, its folder and the ``-javaagent`` flag."""
    env = {f"LABKIT_METRICS_PORT_{n}": str(config.metrics_port(n, port_base)) for n in config.NODES}
    if jar is not None:
        env["LABKIT_METRICS_AGENT_DIR"] = str(jar.parent)
        env["LABKIT_METRICS_AGENT_OPTS"] = f"-javaagent:{AGENT_MOUNT}/{jar.name}={METRICS_PORT}:{RULES_MOUNT}"
    return env


def interpolate(text: str, env: dict) -> str:
    """docker-compose.yml's ``${NAME:-default}`` as compose resolves it (unset or empty: default)."""
    return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: env.get(m.group(1)) or m.group(2), text)


def compose_command(action: str, file: Path, wipe: bool = False, project_name: str = PROJECT,
                    services: list[str] | None = None) -> list[str]:
    """The ``docker compose`` command line for ``up`` or ``down``.

    ``up`` creates and starts only the named services' missing containers (``--no-recreate``: a
    running or paused broker is left alone) and does not wait on healthchecks: a container paused
    a moment ago reports "unhealthy" until its next probe, so labkit waits on its own readiness.
    """
    base = ["docker", "compose", "-f", str(file), "-p", project_name]
    if action == "up":
        return base + ["up", "-d", "--no-recreate", "--no-deps"] + list(services or [])
    if action == "down":  # the optional profiles too, so kafka-ui and Connect go with the brokers
        return base + ["--profile", "ui", "--profile", "connect", "down", "--remove-orphans"] + (["-v"] if wipe else [])
    raise LabError(f"No compose action {action!r}.", hint="use up or down.")
