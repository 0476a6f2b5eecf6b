"""The Connect worker's jars: one Apache Kafka release's worker and FileStream connectors (notebook 10).

``connect-file`` (Kafka's FileStreamSource/Sink connectors) is published on Maven Central up to
4.3.1 but not for 4.4.0, and Kafka 4.4.0 moved ``AppInfoParser`` (and 32 other classes of
``org.apache.kafka.common.utils``) to ``utils.internals``, so the 4.3.1 connectors cannot load in a
4.4.0 worker. The lab therefore runs the worker and the connectors from ONE release,
``config.CONNECT_VERSION``, fetched once like Kafka's own jars (``fetch.fetch_extra``); the worker
talks to the 4.4.0 brokers as a client. docs/connect.md gives the reasoning and the alternatives.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from .. import config
from ..cluster import fetch

PLUGIN_PREFIX = "connect-file-"  # the plugin jar: on plugin.path, never on the worker's classpath
REQUIRED = ("connect-runtime-", "connect-json-", "connect-transforms-", PLUGIN_PREFIX, "kafka-clients-",
            "log4j-slf4j-impl-")


def name() -> str:
    """The cache folder's name (``fetch_extra`` appends the lab's Kafka version)."""
    return f"connect-{config.CONNECT_VERSION}"


def folder(out=sys.stderr) -> Path:
    """The folder of the worker's jars, fetched from Maven Central on first use (notebook 10)."""
    found = fetched()
    if found is not None:
        return found
    return fetch.fetch_extra(name(), config.CONNECT_POM, out=out, transitive=True, required=REQUIRED,
                             props={"connect.version": config.CONNECT_VERSION})


def fetched() -> Path | None:
    """The folder of the worker's jars if they are fetched already, else None (never downloads)."""
    return fetch.extra_dir(name())


def plugin_jar(libs: Path) -> Path:
    """The connect-file jar (the worker's ``plugin.path`` names exactly this file)."""
    return libs / f"{PLUGIN_PREFIX}{config.CONNECT_VERSION}.jar"


def classpath(libs: Path) -> str:
    """Every jar of the release but the plugin: a plugin on the classpath too would load twice."""
    jars = sorted(p for p in libs.glob("*.jar") if not p.name.startswith(PLUGIN_PREFIX))
    return os.pathsep.join(str(p) for p in jars)
