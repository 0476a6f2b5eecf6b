"""Automatic checks for the notebooks' exercises (one or more per notebook, from notebook 00 on).

Each check looks at the learner's answer, and at the live cluster where the answer lives there,
prints ONE short verdict line and returns True or False:

    ✔ correct: ...        the answer does what the exercise asks
    ✘ not yet: ...        what is wrong, in plain words, and what to try

A check never raises: a missing topic, a stopped cluster or a typo in the answer is a verdict too.
"""
from __future__ import annotations

import functools
import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import ConfigResource

from .. import clients, config
from ..errors import LabError


class Wrong(Exception):
    """Raised inside a check to say what is wrong with the answer."""


def _verdict(check):
    """Turn a check that returns a success text (or raises Wrong) into a printed verdict."""
    @functools.wraps(check)
    def run(*args, **kwargs) -> bool:
        try:
            text = check(*args, **kwargs)
        except Wrong as exc:
            print(f"✘ not yet: {exc}")
            return False
        except LabError as exc:
            print(f"✘ not yet: {exc.message} ({exc.hint})" if exc.hint else f"✘ not yet: {exc.message}")
            return False
        except Exception as exc:  # the learner sees a sentence, never a traceback
            print(f"✘ could not check: {type(exc).__name__}: {exc}")
            return False
        print(f"✔ correct: {text}")
        return True
    return run


# ---- reading what is in the cluster ---------------------------------------------------------
def _topic(lab, topic: str, wait: float = 5.0):
    """The metadata of ``topic``; a topic created a moment ago gets ``wait`` seconds to show up."""
    admin = lab.admin()
    deadline = time.monotonic() + wait
    md = admin.list_topics(timeout=config.TIMEOUTS.request)
    while (topic not in md.topics or md.topics[topic].error is not None) and time.monotonic() < deadline:
        time.sleep(0.2)
        md = admin.list_topics(timeout=config.TIMEOUTS.request)
    if topic not in md.topics or md.topics[topic].error is not None:
        raise Wrong(f"there is no topic {topic!r} (topics here: {', '.join(sorted(t for t in md.topics if not t.startswith('_')))}).")
    return md.topics[topic]


def read_all(lab, topic: str, timeout: float = 15.0) -> list[dict]:
    """Every record of ``topic`` right now, partition by partition in offset order.

    Reads by assignment (no consumer group, nothing committed) up to the end offsets it sees at
    the start, so it ends on its own; used by checks and by notebooks 02 and 07.
    """
    parts = sorted(_topic(lab, topic).partitions)
    consumer = Consumer(clients.merge("consumer", lab.bootstrap_servers, {
        "group.id": f"labkit-check-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False}, {}))
    try:
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
                for p in parts}
        todo = {p for p, (low, high) in ends.items() if high > low}
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in todo])
        records: list[dict] = []
        deadline = time.monotonic() + timeout
        while todo and time.monotonic() < deadline:  # bounded: every partition has a known end
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            records.append({"partition": msg.partition(), "offset": msg.offset(),
                            "key": _text(msg.key()), "value": _text(msg.value())})
            if msg.offset() >= ends[msg.partition()][1] - 1:
                todo.discard(msg.partition())
        if todo:
            raise Wrong(f"could not read all of {topic!r} within {timeout:.0f} s (partitions {sorted(todo)}).")
        return sorted(records, key=lambda r: (r["partition"], r["offset"]))
    finally:
        consumer.close()


def _text(raw):
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def _topic_configs(lab, topic: str) -> dict[str, str]:
    admin = lab.admin()  # held until the answer is in: a dropped client cancels its requests
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    deadline = time.monotonic() + 5  # a topic created a moment ago may not have reached every broker
    while True:
        try:
            entries = clients.result(admin.describe_configs([res])[res], f"Describing {topic!r}")
            return {name: entry.value for name, entry in entries.items()}
        except LabError as exc:
            if "UNKNOWN_TOPIC_OR_PART" not in exc.message or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# ---- notebook 00: a first message ----------------------------------------------------------
@_verdict
def check_first_message(lab, topic: str, expected: str) -> str:
    """Notebook 00: is a record with value ``expected`` in ``topic``?"""
    records = read_all(lab, topic)
    if not records:
        raise Wrong(f"{topic!r} holds no records yet: produce one, then call flush() so it is really sent.")
    values = [r["value"] for r in records]
    if expected not in values:
        raise Wrong(f"{topic!r} holds {len(values)} record(s) but none with the value {expected!r} "
                    f"(found {values[:5]}).")
    return f"{topic!r} holds {expected!r}."


# ---- notebook 01: a topic made to measure --------------------------------------------------
@_verdict
def check_topic(lab, topic: str, partitions: int, replication_factor: int,
                configs: dict | None = None) -> str:
    """Notebook 01: does ``topic`` have these partitions, replication factor and configs?"""
    meta = _topic(lab, topic)
    if len(meta.partitions) != partitions:
        raise Wrong(f"{topic!r} has {len(meta.partitions)} partition(s); the exercise asks for {partitions}.")
    rf = {len(p.replicas) for p in meta.partitions.values()}
    if rf != {replication_factor}:
        raise Wrong(f"{topic!r} has replication factor {sorted(rf)}; the exercise asks for {replication_factor}.")
    live = _topic_configs(lab, topic) if configs else {}
    for name, want in (configs or {}).items():
        if name not in live:
            raise Wrong(f"{name!r} is not a topic config (check the spelling).")
        if str(live[name]) != str(want):
            raise Wrong(f"{topic!r} has {name}={live[name]}; the exercise asks for {want}.")
    extra = f" and {', '.join(f'{k}={v}' for k, v in configs.items())}" if configs else ""
    return f"{topic!r} has {partitions} partitions, replication factor {replication_factor}{extra}."


# ---- notebook 02: one key, one partition, in order -----------------------------------------
@_verdict
def check_in_order(lab, topic: str, key: str, expected: list[str]) -> str:
    """Notebook 02: are ``expected`` the records of ``key``, in one partition, in this order?"""
    records = read_all(lab, topic)
    mine = [r for r in records if r["key"] == key]
    if not mine:
        unkeyed = sum(r["key"] is None for r in records)
        hint = f" ({unkeyed} record(s) have no key: pass key={key!r} to produce())" if unkeyed else ""
        raise Wrong(f"no record in {topic!r} has the key {key!r}{hint}.")
    parts = sorted({r["partition"] for r in mine})
    if len(parts) > 1:
        raise Wrong(f"the records of {key!r} are spread over partitions {parts}: were they sent with "
                    "different partitioners, or before and after partitions were added?")
    values = [r["value"] for r in mine]
    if values != list(expected):
        raise Wrong(f"partition {parts[0]} holds {values} for {key!r}; the exercise expects {list(expected)}.")
    return f"all {len(values)} records of {key!r} are in partition {parts[0]}, in order."


# ---- notebook 03: a producer that does not lose or duplicate -------------------------------
@_verdict
def check_safe_producer(lab, settings: dict, topic: str) -> str:
    """Notebook 03: acks=all and idempotence on, and the settings really deliver a record."""
    conf = {k.replace("_", "."): v for k, v in settings.items()}
    acks = str(conf.get("acks", conf.get("request.required.acks", "all"))).lower()
    if acks not in ("all", "-1"):
        raise Wrong(f"acks={acks}: the leader alone acknowledges, and a leader crash can lose the "
                    "record; use acks='all'.")
    if str(conf.get("enable.idempotence", "false")).lower() not in ("true", "1"):
        raise Wrong("enable.idempotence is off: a retry after a lost acknowledgement can write the "
                    "record twice; set enable.idempotence=True.")
    if int(conf.get("retries", 1)) == 0:
        raise Wrong("retries=0: one leader change makes the send fail; leave retries at its default.")
    reports = []
    producer = lab.producer(conf)
    producer.produce(topic, b"check", on_delivery=lambda err, msg: reports.append(err))
    left = producer.flush(15)
    if left or not reports:
        raise Wrong("the record was not delivered within 15 s with these settings.")
    if reports[0] is not None:
        raise Wrong(f"the broker refused the record: {reports[0].name()}.")
    return "acks=all with idempotence: every acknowledged record is in the log exactly once."


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


__all__ = ["Wrong", "read_all", "check_first_message", "check_topic", "check_in_order",
           "check_safe_producer", "check_committed", "check_one_partition_each",
           "check_durable", "check_tombstone"]
