"""Throwaway clusters for tests that break things: free ports away from the suite's cluster."""
import io
from contextlib import contextmanager
from pathlib import Path

import pytest

from labkit import config
from labkit.cluster import procs


def free_base() -> int:
    """A port base whose 3 client and 3 controller ports are all free, away from the suite's."""
    for base in range(config.port_base() + 1200, config.port_base() + 2900, 10):
        ports = [p for n in config.NODES for p in (config.client_port(n, base), config.controller_port(n, base),
                                                    config.metrics_port(n, base))]
        if all(procs.port_free(p) for p in ports):
            return base
    pytest.fail("no free port range for a throwaway cluster")


@contextmanager
def secured_cluster(folder: Path):
    """A throwaway secured lab (notebook 12's SASL/SCRAM cluster) on free ports, stopped afterwards."""
    from labkit.cluster.local import LocalCluster
    cluster = LocalCluster(state_dir=folder / "cluster", port_base=free_base(), secure=True)
    cluster.up(out=io.StringIO())
    try:
        yield cluster
    finally:
        cluster.down(out=io.StringIO())
