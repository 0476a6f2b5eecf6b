"""Each broker's metrics over HTTP: the Prometheus JMX exporter agent in the broker JVM (notebook 11).

A broker keeps its metrics as JMX MBeans. The Prometheus JMX exporter (a Java agent,
``io.prometheus.jmx:jmx_prometheus_javaagent``) runs inside the broker's JVM, reads the MBeans the
rule file ``labkit/data/jmx-kafka.yml`` names, and serves them in Prometheus's text format on
``http://127.0.0.1:<client port + 200>/metrics``. The agent is an extra: it is fetched from Maven
Central once (``fetch_extra``), and a broker whose agent jar is missing starts without it, so
metrics can never stop a lesson's cluster. ``LABKIT_METRICS=0`` leaves the agent out.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from .. import config
from ..errors import LabError
from . import fetch, procs

NAME = "jmx-exporter"  # the cache folder: ~/.cache/labkit/jmx-exporter-<kafka version>/
JAR_PREFIX = "jmx_prometheus_javaagent-"


def enabled() -> bool:
    """False when LABKIT_METRICS is 0/false/no/off: brokers then run without the agent."""
    return os.environ.get("LABKIT_METRICS", "1").strip().lower() not in ("0", "false", "no", "off")


def agent_jar() -> Path | None:
    """The agent's jar in the cache, or None until it has been fetched whole."""
    folder = fetch.extra_dir(NAME)
    if folder is None:
        return None
    return next(iter(sorted(folder.glob(f"{JAR_PREFIX}*.jar"))), None)


def fetch_agent(out=sys.stderr) -> Path | None:
    """Fetch the agent once (``labkit fetch`` and ``up`` call this); None, with a note, on failure.

    A failed fetch (offline, no Maven) is not an error: the brokers start without metrics.
    """
    if not enabled():
        return None
    if agent_jar() is None:
        try:
            fetch.fetch_extra(NAME, config.JMX_EXPORTER_POM, out=out, transitive=False,
                              required=(JAR_PREFIX,))
        except LabError as exc:
            out.write(f"The metrics agent could not be fetched, so brokers start without metrics "
                      f"(notebook 11 needs them): {exc.message}\n")
            return None
    return agent_jar()


def jvm_flags(node: int, base: int) -> list[str]:
    """The ``-javaagent`` flag for broker ``node``, or [] when the agent is off or not fetched."""
    jar = agent_jar() if enabled() else None
    if jar is None:
        return []
    port = config.metrics_port(node, base)
    return [f"-javaagent:{jar}={config.HOST}:{port}:{config.JMX_EXPORTER_RULES}"]


def check_port(node: int, base: int) -> None:
    """A LabError naming the metrics port of broker ``node`` when something else holds it.

    The agent fails the whole JVM when it cannot bind, so this is asked before a broker starts.
    """
    if not jvm_flags(node, base):
        return
    port = config.metrics_port(node, base)
    if procs.port_free(port) or procs.wait_port_free(port, timeout=5):  # a killed broker's socket closing
        return
    owner = procs.port_owner(port)
    raise LabError(f"Port {port} for broker {node}'s metrics endpoint is already taken"
                   f"{' by ' + owner if owner else ''}.",
                   hint=f"stop what listens on {port}, or give the lab other ports with "
                        f"LABKIT_PORT_BASE (metrics use client port + {config.METRICS_OFFSET}); "
                        "LABKIT_METRICS=0 starts the brokers without metrics.")

