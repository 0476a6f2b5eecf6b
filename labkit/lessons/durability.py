"""Checks for the durability lessons' exercises: a durable topic (06) and a tombstone (07).

Each check prints one verdict line, ✔ or ✘, and returns True or False (``lessons.verdict``).
A check passes only on what the learner's own cell set: 06 reads where each topic setting comes
from, because the lab's cluster defaults (min.insync.replicas=2) would otherwise do the work.
"""
from __future__ import annotations

from confluent_kafka.admin import ConfigResource, ConfigSource

from .. import clients, config
from ..wait import until
from .verdict import Wrong, _topic_configs, _verdict, read_all


def _existing(lab, topic: str):
    """The metadata of ``topic``, or a Wrong that names it (2 s for a topic created a moment ago)."""
    admin = lab.admin()
    def listed():  # all topics: asking for one by name would auto-create it on the lab's brokers
        meta = admin.list_topics(timeout=config.TIMEOUTS.request).topics.get(topic)
        return meta if meta is not None and meta.error is None and meta.partitions else None
    meta = until(listed, timeout=2.0)
    if meta is None:
        raise Wrong(f"there is no topic {topic!r} yet: create it in the exercise cell.")
    return meta


def _topic_entries(lab, topic: str) -> dict:
    """Topic config name -> (value, source name), as the brokers describe it."""
    admin = lab.admin()
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    entries = clients.result(admin.describe_configs([res])[res], f"Describing {topic!r}")
    return {name: (e.value, ConfigSource(e.source).name) for name, e in entries.items()}


def _set_on_topic(entries: dict, name: str, topic: str, why: str) -> str:
    value, source = entries[name]
    if source != ConfigSource.DYNAMIC_TOPIC_CONFIG.name:
        raise Wrong(f"{name}={value} on {topic!r} comes from {source}, not from the topic: {why} "
                    f"Set it on the topic (NewTopic(..., config={{{name!r}: ...}})).")
    return value


# ---- notebook 06: settings that survive a broker failure -----------------------------------
@_verdict
def check_durable(lab, topic: str, producer_settings: dict) -> str:
    """Notebook 06: topic and producer together keep acknowledged writes through one broker loss.

    The topic must carry its own min.insync.replicas and unclean.leader.election.enable (source
    DYNAMIC_TOPIC_CONFIG) and the producer must say acks='all': defaults do not count.
    """
    if not isinstance(producer_settings, dict):
        raise Wrong(f"the producer settings should be a dict, not {type(producer_settings).__name__}.")
    meta = _existing(lab, topic)
    rf = min(len(p.replicas) for p in meta.partitions.values())
    if rf < 3:
        raise Wrong(f"{topic!r} has replication factor {rf}: with one broker down, min.insync.replicas=2 "
                    "leaves no room; use replication factor 3.")
    entries = _topic_entries(lab, topic)
    isr = int(_set_on_topic(entries, "min.insync.replicas", topic,
                            "a cluster with Kafka's default (1) would let the leader alone acknowledge."))
    if isr < 2:
        raise Wrong(f"{topic!r} has min.insync.replicas={isr}: acks=all would then be satisfied by "
                    "the leader alone; set it to 2.")
    if isr >= rf:
        raise Wrong(f"{topic!r} has min.insync.replicas={isr} with replication factor {rf}: with one "
                    "broker down every acks=all write is refused (NOT_ENOUGH_REPLICAS); use 2.")
    unclean = _set_on_topic(entries, "unclean.leader.election.enable", topic,
                            "a cluster that allows unclean elections would apply it to this topic.")
    if str(unclean).lower() != "false":
        raise Wrong("unclean.leader.election.enable=true can elect a replica that misses acknowledged "
                    "records; set it to false.")
    conf = {k.replace("_", "."): v for k, v in producer_settings.items()}
    acks = conf.get("acks", conf.get("request.required.acks"))
    if acks is None:
        raise Wrong("the producer settings do not say acks: write acks='all' yourself, so the "
                    "guarantee does not hang on a client default.")
    if str(acks).lower() not in ("all", "-1"):
        raise Wrong(f"the producer uses acks={acks}: only acks='all' waits for the in-sync replicas.")
    producer = lab.producer(conf)  # the settings must also work: an invalid one is a verdict
    reports: list = []
    producer.produce(topic, b"check", on_delivery=lambda err, msg: reports.append(err))
    if producer.flush(15) or not reports or reports[0] is not None:
        raise Wrong(f"a record sent with these settings was not acknowledged "
                    f"({reports[0].name() if reports and reports[0] else 'no answer within 15 s'}).")
    return (f"RF={rf}, min.insync.replicas={isr} and unclean.leader.election.enable=false set on "
            f"{topic!r}, acks=all: one broker may fail without losing an acknowledged write.")


# ---- notebook 07: deleting a key from a compacted topic ------------------------------------
@_verdict
def check_tombstone(lab, topic: str, key: str) -> str:
    """Notebook 07: is the latest record of ``key`` in compacted ``topic`` a tombstone?"""
    policy = _topic_configs(lab, topic).get("cleanup.policy", "")
    if "compact" not in policy:
        raise Wrong(f"{topic!r} has cleanup.policy={policy}: tombstones only delete keys in compacted topics.")
    records = read_all(lab, topic)
    mine = [r for r in records if r["key"] == key]
    if not mine:
        near = sorted({r["key"] for r in records if isinstance(r["key"], str)
                       and r["key"].lower() == key.lower()})
        hint = f" (keys are bytes, compared exactly: found {near})" if near else ""
        raise Wrong(f"no record in {topic!r} has the key {key!r}{hint}.")
    last = mine[-1]["value"]
    if last == "":
        raise Wrong("the latest record has an empty value; an empty string is still a value. "
                    "A tombstone has value=None.")
    if last is not None:
        raise Wrong(f"the latest record of {key!r} has the value {last!r}: produce key={key!r} with value=None.")
    return f"the latest record of {key!r} is a tombstone: compaction will remove the key."
