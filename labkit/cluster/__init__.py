"""Where the brokers run: local JVM processes (default) or docker compose (notebook 00).

``LABKIT_BACKEND`` or ``--backend`` picks one. ``local`` runs three JVMs from Maven Central's
jars (``fetch``, ``settings``, ``procs``, ``ready``); ``compose`` runs ``docker-compose.yml``
(``composefile``). Both honour the contract in ``base``.
"""
from __future__ import annotations

import os

from ..errors import LabError

BACKENDS = ("local", "compose")


def get_cluster(name: str | None = None):
    """The cluster object for backend ``name`` (default: $LABKIT_BACKEND, else local)."""
    name = (name or os.environ.get("LABKIT_BACKEND") or "local").lower()
    if name == "local":
        from .local import LocalCluster
        return LocalCluster()
    if name == "compose":
        from .compose import ComposeCluster
        return ComposeCluster()
    raise LabError(f"Unknown backend {name!r}.", hint=f"use one of: {', '.join(BACKENDS)}.")
