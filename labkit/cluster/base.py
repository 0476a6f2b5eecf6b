"""The contract every cluster backend honours (local JVMs, docker compose).

Both give ``up``, ``down``, ``status``, ``kill``, ``stop``, ``start``, ``pause``, ``resume``,
``log_tail`` and ``bootstrap_servers``, so notebooks and the chaos checker run unchanged on either.
"""
from __future__ import annotations

from .. import config
from ..errors import LabError


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
