"""Checks for the consumer lessons' exercises: committing the right offset (04) and one
partition per consumer (05).

Each check prints one verdict line, ✔ or ✘, and returns True or False (``lessons.verdict``).
"""
from __future__ import annotations

from confluent_kafka import KafkaException, TopicPartition

from .. import clients, config
from .verdict import Wrong, _topic, _verdict


# ---- notebook 04: commit the NEXT offset ---------------------------------------------------
@_verdict
def check_committed(lab, group: str, topic: str) -> str:
    """Notebook 04: has ``group`` committed, on every partition, the offset after its last record?"""
    parts = sorted(_topic(lab, topic).partitions)
    consumer = lab.consumer(group, enable_auto_commit=False)  # reads commits, never joins
    try:
        tps = [TopicPartition(topic, p) for p in parts]
        committed = consumer.committed(tps, timeout=config.TIMEOUTS.request)
        for tp in committed:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition),
                                                       timeout=config.TIMEOUTS.request)
            if high == low:
                continue
            if tp.offset < 0:
                raise Wrong(f"group {group!r} has no committed offset for partition {tp.partition}: "
                            "call consumer.commit(...) after processing.")
            if tp.offset == high - 1:
                raise Wrong(f"partition {tp.partition}: committed {tp.offset}, the offset of the last "
                            f"record read; commit offset + 1 ({high}), the next record to read.")
            if tp.offset != high:
                raise Wrong(f"partition {tp.partition}: committed {tp.offset}, but the log ends at "
                            f"{high}: read and commit every record.")
    except KafkaException as exc:
        raise Wrong(f"could not read the group's offsets: {exc}") from None
    finally:
        consumer.close()
    return f"group {group!r} committed the next offset on every partition of {topic!r}."


# ---- notebook 05: one partition per consumer -----------------------------------------------
@_verdict
def check_one_partition_each(lab, group: str, topic: str) -> str:
    """Notebook 05: does every member of ``group`` read exactly one partition of ``topic``?"""
    parts = set(_topic(lab, topic).partitions)
    admin = lab.admin()
    future = admin.describe_consumer_groups([group])[group]
    desc = clients.result(future, f"Describing group {group!r}")
    members = list(desc.members)
    if not members:
        raise Wrong(f"group {group!r} has no running consumer: keep them open (and polling) while checking.")
    owned = {m.member_id: sorted(tp.partition for tp in m.assignment.topic_partitions
                                   if tp.topic == topic) for m in members}
    idle = [cid for cid, ps in owned.items() if not ps]
    if idle:
        raise Wrong(f"{len(members)} consumers for {len(parts)} partitions: {len(idle)} of them sit idle "
                    "with no partition; a partition is read by one consumer of a group.")
    busy = {cid: ps for cid, ps in owned.items() if len(ps) > 1}
    if busy:
        raise Wrong(f"{len(members)} consumer(s) for {len(parts)} partitions: some read several "
                    "partitions; start one consumer per partition.")
    covered = {p for ps in owned.values() for p in ps}
    if covered != parts:
        raise Wrong(f"partitions {sorted(parts - covered)} have no consumer yet: poll until the group settles.")
    return f"{len(members)} consumers, one partition each: the group reads {topic!r} in parallel."
