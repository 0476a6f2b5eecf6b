"""Where the brokers run: local JVM processes (default) or docker compose (notebook 00).

``LABKIT_BACKEND`` or ``--backend`` picks one. ``local`` runs three JVMs from Maven Central's
jars (``fetch``, ``settings``, ``procs``, ``ready``); ``compose`` runs ``docker-compose.yml``
(``composefile``). Both honour the contract in ``base``. ``external`` (LABKIT_BOOTSTRAP and
LABKIT_CLIENT_CONFIG, notebook 12) is a cluster labkit only reaches: no broker control.
"""
from __future__ import annotations

import os

from ..errors import LabError

BACKENDS = ("local", "compose", "external")


def get_cluster(name: str | None = None):
    """The cluster object for backend ``name`` (default: $LABKIT_BACKEND, else local)."""
    if os.environ.get("LABKIT_CLASS") and not name and not os.environ.get("LABKIT_BACKEND"):
        from ..classroom.mode import ClassCluster  # a learner's card for a class (issue 20)
        return ClassCluster()
    if os.environ.get("LABKIT_BOOTSTRAP") and not name and not os.environ.get("LABKIT_BACKEND"):
        name = "external"  # an existing cluster, e.g. a managed one (notebook 12; cluster/external.py)
    name = (name or os.environ.get("LABKIT_BACKEND") or "local").lower()
    if name == "external":
        from .external import ExternalCluster
        return ExternalCluster()
    if name == "local":
        from .local import LocalCluster
        return LocalCluster()
    if name == "compose":
        from .compose import ComposeCluster
        return ComposeCluster()
    raise LabError(f"Unknown backend {name!r}.", hint=f"use one of: {', '.join(BACKENDS)}.")
