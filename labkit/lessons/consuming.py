"""Checks for the consumer lessons' exercises: committing the right offset (04) and one
partition per consumer (05).

Each check prints one verdict line, ✔ or ✘, and returns True or False (``lessons.verdict``).
"""
from __future__ import annotations

import struct
import time
import uuid

from confluent_kafka import Consumer, KafkaException, TopicPartition

from .. import clients, config
from .verdict import Wrong, _topic, _verdict

OFFSETS_TOPIC = "__consumer_offsets"


# ---- notebook 04: commit the NEXT offset, after each record -------------------------------
def _offsets_partition(group: str, partitions: int) -> int:
    """Kafka's ``Utils.abs(group.hashCode()) % partitions``: where a group's commits go."""
    raw = group.encode("utf-16-be")
    h = 0
    for unit in struct.unpack(f">{len(raw) // 2}H", raw):  # Java's String.hashCode
        h = (31 * h + unit) & 0xFFFFFFFF
    signed = h - (1 << 32) if h >= 1 << 31 else h
    return (0 if signed == -(1 << 31) else abs(signed)) % partitions


def commit_log(lab, group: str, timeout: float = 10.0) -> dict[tuple[str, int], list[int]]:
    """Every offset ``group`` committed, in order, per (topic, partition) (notebook 04).

    Each commit is a record in ``__consumer_offsets``: key (version 0/1: group, topic,
    partition), value (version, offset, ...). The group's records live in partition
    ``abs(hashCode(group)) % partitions``; that partition's active segment is never compacted
    while the lab runs (100 MiB segments), so a fresh group's commits are all there.
    """
    md = lab.admin().list_topics(timeout=config.TIMEOUTS.request)
    if OFFSETS_TOPIC not in md.topics:
        return {}
    part = _offsets_partition(group, len(md.topics[OFFSETS_TOPIC].partitions))
    reader = Consumer(clients.merge("consumer", lab.bootstrap_servers, {
        "group.id": f"labkit-check-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False}, {}))
    commits: dict[tuple[str, int], list[int]] = {}
    try:
        low, high = reader.get_watermark_offsets(TopicPartition(OFFSETS_TOPIC, part), timeout=timeout)
        reader.assign([TopicPartition(OFFSETS_TOPIC, part, low)])
        position, deadline = low, time.monotonic() + timeout
        while position < high and time.monotonic() < deadline:  # bounded: the end is known
            msg = reader.poll(0.5)
            if msg is None or msg.error():
                continue
            position = msg.offset() + 1
            key, value = msg.key(), msg.value()
            if not key or value is None or struct.unpack_from(">h", key)[0] not in (0, 1):
                continue  # group metadata, KIP-848 records, tombstones
            who, at = _read_str(key, 2)
            topic, at = _read_str(key, at)
            if who == group:
                commits.setdefault((topic, struct.unpack_from(">i", key, at)[0]), []).append(
                    struct.unpack_from(">q", value, 2)[0])
    finally:
        reader.close()
    return commits


def _read_str(raw: bytes, at: int) -> tuple[str, int]:
    (n,) = struct.unpack_from(">h", raw, at)
    return raw[at + 2:at + 2 + n].decode(), at + 2 + n


@_verdict
def check_committed(lab, group: str, topic: str) -> str:
    """Notebook 04: did ``group`` commit by hand after each record, ending at the next offset?

    The end state alone cannot tell a manual commit from the one auto-commit (or close())
    makes, so the check also reads the group's commits from ``__consumer_offsets``: a consumer
    that commits after each record leaves one commit per record.
    """
    parts = sorted(_topic(lab, topic).partitions)
    consumer = lab.consumer(group, enable_auto_commit=False)  # reads commits, never joins
    try:
        tps = [TopicPartition(topic, p) for p in parts]
        committed = consumer.committed(tps, timeout=config.TIMEOUTS.request)
        ends = {tp.partition: consumer.get_watermark_offsets(
            TopicPartition(topic, tp.partition), timeout=config.TIMEOUTS.request) for tp in committed}
        if all(tp.offset < 0 for tp in committed):
            raise Wrong(f"group {group!r} has no committed offset on {topic!r}: "
                        "call consumer.commit(...) after processing.")
        for tp in committed:
            low, high = ends[tp.partition]
            if high == low:
                continue
            if tp.offset < 0:
                raise Wrong(f"partition {tp.partition}: nothing committed, but the log holds "
                            f"{high - low} records: read and commit every record.")
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
    log = commit_log(lab, group)
    for part, (low, high) in ends.items():
        records = high - low
        made = len({o for o in log.get((topic, part), []) if low < o <= high})
        if made < records:
            raise Wrong(f"partition {part}: {made} commit(s) for {records} records: that is "
                        "auto-commit (every 5 s and on close()) or one commit at the end; set "
                        "enable_auto_commit=False and commit each record after processing it.")
    return f"group {group!r} committed each record by hand, ending at the next offset on every partition of {topic!r}."


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
