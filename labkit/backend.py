"""Choosing where the brokers run: local JVM processes (default) or docker compose (notebook 00).

``LABKIT_BACKEND`` or ``--backend`` picks one; both give the same cluster interface
(``up``, ``down``, ``status``, ``kill``, ``stop``, ``start``, ``pause``, ``resume``,
``log_tail``, ``bootstrap_servers``), so notebooks and the chaos checker run unchanged on either.
"""
from __future__ import annotations

import os

from . import config
from .errors import LabError

BACKENDS = ("local", "compose")


def get_cluster(name: str | None = None):
    """The cluster object for backend ``name`` (default: $LABKIT_BACKEND, else local)."""
    name = (name or os.environ.get("LABKIT_BACKEND") or "local").lower()
    if name == "local":
        from .brokers import LocalCluster
        return LocalCluster()
    if name == "compose":
        from .compose import ComposeCluster
        return ComposeCluster()
    raise LabError(f"Unknown backend {name!r}.", hint=f"use one of: {', '.join(BACKENDS)}.")


def check_node(node) -> int:
    """The broker id as an int, or a LabError naming the brokers there are (every backend)."""
    try:
        node = int(node)
    except (TypeError, ValueError):
        node = -1
    if node not in config.NODES:
        raise LabError(f"There is no broker {node}: the lab cluster has brokers "
                       f"{', '.join(map(str, config.NODES))}.",
                       hint="pick one of those ids; `labkit status` lists them.")
    return node
