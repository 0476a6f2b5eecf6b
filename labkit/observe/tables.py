"""The inspector's answers shaped into the tables a learner sees (notebooks 02-06).

``labkit.observe.inspector`` asks the cluster; these functions only turn its raw answers
(metadata, process states, watermarks, group offsets) into DataFrames, so that one set of
answers can feed several tables: ``Inspector.overview`` builds the dashboard's brokers,
partitions and lag tables from one metadata request and one watermark request.
"""
from __future__ import annotations

import pandas as pd

from .. import config
from ..errors import LabError

LAG_COLUMNS = ["group", "topic", "partition", "member", "committed", "low", "end", "lag"]
GROUP_COLUMNS = ["group", "state", "type", "members", "assignor", "coordinator"]
PARTITION_COLUMNS = ["topic", "partition", "leader", "replicas", "isr", "under_replicated", "offline",
                     "low", "high"]
# kafka-consumer-groups spells group states like this; confluent-kafka's enum names differ
_STATE_NAMES = {"PREPARING_REBALANCING": "PreparingRebalance",
                "COMPLETING_REBALANCING": "CompletingRebalance"}


def state_name(state) -> str:
    """A group state as ``kafka-consumer-groups`` prints it (``Stable``, ``PreparingRebalance``)."""
    name = getattr(state, "name", str(state))
    return _STATE_NAMES.get(name, name.title())


def broker_rows(states: dict, md, port_base: int) -> pd.DataFrame:
    """``lab.brokers()`` (notebook 02): each lab broker from its process state and the metadata
    (None when no broker answered: every broker is then shown, as dead)."""
    registered, topics = (md.brokers, md.topics.values()) if md else ({}, [])
    leaders = {n: 0 for n in config.NODES}
    hosted = {n: 0 for n in config.NODES}
    for topic in topics:
        for part in topic.partitions.values():
            if part.leader in leaders:
                leaders[part.leader] += 1
            for replica in part.replicas:
                hosted[replica] = hosted.get(replica, 0) + 1
    rows = []
    for n in config.NODES:
        state = states.get(n, {}).get("state", "unknown")
        rows.append({"id": n, "host:port": f"{config.HOST}:{config.client_port(n, port_base)}",
                     "state": state, "alive": state == "running" and n in registered,
                     "registered": n in registered,
                     "is_controller": bool(states.get(n, {}).get("controller")),
                     "leaders": leaders[n], "partitions": hosted.get(n, 0)})
    return pd.DataFrame(rows)


def partition_list(md, topics: list[str]) -> list[tuple]:
    """(topic, partition metadata) for every partition of ``topics``; a LabError for a missing topic."""
    parts = []
    for name in topics:
        meta = md.topics.get(name)
        if meta is None or meta.error is not None:
            raise LabError(f"There is no topic {name!r} on the cluster.",
                           hint="lab.admin().list_topics().topics lists them; "
                                "lab.fresh_topic(name) creates one.")
        parts += [(name, p) for _, p in sorted(meta.partitions.items())]
    return parts


def partition_rows(parts: list[tuple], alive: set, marks: dict) -> pd.DataFrame:
    """``lab.partitions(topic)`` (notebook 03): leader, replicas, ISR, health and watermarks
    (``marks``: (topic, partition) -> (low, high)) of each partition in ``partition_list``."""
    rows = []
    for name, p in parts:
        low, high = marks.get((name, p.id), (None, None))
        rows.append({"topic": name, "partition": p.id, "leader": p.leader,
                     "replicas": list(p.replicas), "isr": list(p.isrs),
                     "under_replicated": len(p.isrs) < len(p.replicas),
                     "offline": p.leader not in alive, "low": low, "high": high})
    df = pd.DataFrame(rows, columns=PARTITION_COLUMNS)
    df[["low", "high"]] = df[["low", "high"]].astype("Int64")
    return df


def group_rows(described: dict) -> pd.DataFrame:
    """``lab.groups()`` (notebook 05): state, protocol type, members, assignor and coordinator of
    each described group (``describe_consumer_groups``' answers by group id)."""
    rows = []
    for name, d in described.items():
        rows.append({"group": name, "state": state_name(d.state),
                     "type": getattr(getattr(d, "type", None), "name", "").lower(),
                     "members": len(d.members), "assignor": d.partition_assignor or "",
                     "coordinator": d.coordinator.id if d.coordinator else None})
    return pd.DataFrame(rows, columns=GROUP_COLUMNS)


def lag_rows(keys: dict, marks: dict) -> pd.DataFrame:
    """``lab.lag(group)`` (notebook 04): ``keys`` maps (group, topic, partition) to [member,
    committed]; lag counts from the committed offset, or from the low watermark if none."""
    rows = []
    for (g, topic, part), (member, committed) in sorted(keys.items()):
        low, high = marks.get((topic, part), (None, None))
        start = committed if committed is not None else low
        rows.append({"group": g, "topic": topic, "partition": part, "member": member,
                     "committed": committed, "low": low, "end": high,
                     "lag": None if high is None or start is None else high - start})
    df = pd.DataFrame(rows, columns=LAG_COLUMNS)
    df[LAG_COLUMNS[4:]] = df[LAG_COLUMNS[4:]].astype("Int64")
    return df
