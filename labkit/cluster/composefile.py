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

PROJECT = "kafka-lab"  # the compose project name; also `name:` in docker-compose.yml
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


def compose_command(action: str, file: Path, wipe: bool = False) -> list[str]:
    """The ``docker compose`` command line for ``up`` (detached, waits for healthchecks) or ``down``."""
    base = ["docker", "compose", "-f", str(file), "-p", PROJECT]
    if action == "up":
        return base + ["up", "-d", "--wait"]
    if action == "down":  # the ui profile too, so an optional kafka-ui goes with the brokers
        return base + ["--profile", "ui", "down", "--remove-orphans"] + (["-v"] if wipe else [])
    raise LabError(f"No compose action {action!r}.", hint="use up or down.")
