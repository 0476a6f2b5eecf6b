"""Checks for the durability lessons' exercises: a durable topic (06) and a tombstone (07).

Each check prints one verdict line, ✔ or ✘, and returns True or False (``lessons.verdict``).
"""
from __future__ import annotations

from .verdict import Wrong, _topic, _topic_configs, _verdict, read_all


# ---- notebook 06: settings that survive a broker failure -----------------------------------
@_verdict
def check_durable(lab, topic: str, producer_settings: dict) -> str:
    """Notebook 06: topic and producer together keep acknowledged writes through one broker loss."""
    meta = _topic(lab, topic)
    rf = min(len(p.replicas) for p in meta.partitions.values())
    if rf < 3:
        raise Wrong(f"{topic!r} has replication factor {rf}: with one broker down, min.insync.replicas=2 "
                    "leaves no room; use replication factor 3.")
    live = _topic_configs(lab, topic)
    if int(live.get("min.insync.replicas", 1)) < 2:
        raise Wrong(f"{topic!r} has min.insync.replicas={live.get('min.insync.replicas')}: acks=all "
                    "would then be satisfied by the leader alone; set it to 2.")
    if str(live.get("unclean.leader.election.enable", "false")).lower() == "true":
        raise Wrong("unclean.leader.election.enable=true can elect a replica that misses acknowledged "
                    "records; leave it false.")
    conf = {k.replace("_", "."): v for k, v in producer_settings.items()}
    if str(conf.get("acks", "all")).lower() not in ("all", "-1"):
        raise Wrong(f"the producer uses acks={conf.get('acks')}: only acks='all' waits for the in-sync replicas.")
    return f"RF={rf}, min.insync.replicas={live['min.insync.replicas']}, acks=all: one broker may fail without losing an acknowledged write."


# ---- notebook 07: deleting a key from a compacted topic ------------------------------------
@_verdict
def check_tombstone(lab, topic: str, key: str) -> str:
    """Notebook 07: is the latest record of ``key`` in compacted ``topic`` a tombstone?"""
    policy = _topic_configs(lab, topic).get("cleanup.policy", "")
    if "compact" not in policy:
        raise Wrong(f"{topic!r} has cleanup.policy={policy}: tombstones only delete keys in compacted topics.")
    mine = [r for r in read_all(lab, topic) if r["key"] == key]
    if not mine:
        raise Wrong(f"no record in {topic!r} has the key {key!r}.")
    last = mine[-1]["value"]
    if last == "":
        raise Wrong("the latest record has an empty value; an empty string is still a value. "
                    "A tombstone has value=None.")
    if last is not None:
        raise Wrong(f"the latest record of {key!r} has the value {last!r}: produce key={key!r} with value=None.")
    return f"the latest record of {key!r} is a tombstone: compaction will remove the key."
