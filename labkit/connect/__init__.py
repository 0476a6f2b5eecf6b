"""Kafka Connect in the lab (notebook 10): the worker JVM, its REST client, the connectors table.

    lab.connect(start=True)      # a ConnectClient, the worker started first if needed
    lab.connectors()             # DataFrame of the connectors and their states
    labkit connect up | down | status | logs

``worker.py`` runs the distributed-mode worker like a broker, ``container.py`` runs the same worker
as docker-compose.yml's ``connect`` service; ``rest.py`` speaks its REST API; ``jars.py`` fetches
the one Apache Kafka release the worker and the FileStream connectors come from.
"""
from __future__ import annotations

import sys

from ..errors import LabError

from .picture import plot_pipeline
from .rest import ConnectClient
from .worker import Worker


def worker(cluster=None) -> Worker:
    """The Connect worker of this lab's cluster, whichever backend runs it (notebook 10)."""
    backend = getattr(cluster, "backend", "local")
    if backend == "compose":
        from .container import ContainerWorker
        return ContainerWorker(cluster)
    if backend != "local":
        raise LabError(f"labkit runs a Connect worker beside its own clusters, not beside this one "
                       f"({getattr(cluster, 'bootstrap_servers', backend)}).",
                       hint="point `lk.connect.ConnectClient(URL)` at your own Connect's REST API, or "
                            "unset LABKIT_BOOTSTRAP and run `labkit up` for the lab's cluster.")
    return Worker(cluster)


def up(cluster=None, out=sys.stderr) -> dict:
    """Start the lab's Connect worker unless it runs; return its status once it is ready."""
    return worker(cluster).up(out)


def down(cluster=None, out=sys.stderr) -> str:
    """Stop the worker gracefully; connectors stay configured in its topics for the next start."""
    return worker(cluster).stop(out)


def status(cluster=None) -> dict:
    return worker(cluster).status()


def stop_with_cluster(cluster, wipe: bool, out) -> None:
    """``labkit down``'s hook: the worker stops before its brokers; ``wipe`` forgets its folder."""
    found = worker(cluster)
    found.stop(out)
    if hasattr(found, "remove"):  # compose: `docker compose down` removes the brokers' containers too
        found.remove()
    if wipe:
        found.wipe()


__all__ = ["ConnectClient", "Worker", "plot_pipeline", "worker", "up", "down", "status",
           "stop_with_cluster"]
