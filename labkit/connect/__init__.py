"""Kafka Connect in the lab (notebook 10): the worker JVM, its REST client, the connectors table.

    lab.connect(start=True)      # a ConnectClient, the worker started first if needed
    lab.connectors()             # DataFrame of the connectors and their states
    labkit connect up | down | status | logs

``worker.py`` runs the distributed-mode worker like a broker; ``rest.py`` speaks its REST API;
``jars.py`` fetches the one Apache Kafka release the worker and the FileStream connectors come from.
"""
from __future__ import annotations

import sys

from .picture import plot_pipeline
from .rest import ConnectClient
from .worker import Worker


def up(cluster=None, out=sys.stderr) -> dict:
    """Start the lab's Connect worker unless it runs; return its status once it is ready."""
    return Worker(cluster).up(out)


def down(cluster=None, out=sys.stderr) -> str:
    """Stop the worker gracefully; connectors stay configured in its topics for the next start."""
    return Worker(cluster).stop(out)


def status(cluster=None) -> dict:
    return Worker(cluster).status()


def stop_with_cluster(cluster, wipe: bool, out) -> None:
    """``labkit down``'s hook: the worker stops before its brokers; ``wipe`` forgets its folder."""
    worker = Worker(cluster)
    worker.stop(out)
    if wipe:
        worker.wipe()


__all__ = ["ConnectClient", "Worker", "plot_pipeline", "up", "down", "status", "stop_with_cluster"]
