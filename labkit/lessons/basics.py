"""Checks for the first lessons' exercises: a first message (00), a topic made to measure (01),
one user's story in order (02), a producer that neither loses nor duplicates (03).

Each check prints one verdict line, ✔ or ✘, and returns True or False (``lessons.verdict``).
A check passes only on what the learner's own cell did: the notebooks give each exercise a
fresh topic or a per-run name, and the checks read the learner's objects (the producer, the
settings) and never count a cluster default as an answer.
"""
from __future__ import annotations

from confluent_kafka.admin import ConfigResource, ConfigSource

from .. import clients, config
from ..errors import LabError
from ..wait import until, wait_for
from .verdict import Wrong, _topic, _verdict, read_all

_NOT_GIVEN = object()


# ---- notebook 00: a first message ----------------------------------------------------------
@_verdict
def check_first_message(lab, topic: str, expected: str, producer=_NOT_GIVEN) -> str:
    """Notebook 00: is a record with value ``expected`` in ``topic``, sent and confirmed?

    ``producer`` is the learner's producer: a record it still holds (queued, in flight, or with
    its delivery report unread) means the cell never called ``flush()``.
    """
    if producer is None:
        raise Wrong("first_producer is still None: make one with lab.producer() and send the "
                    "record with it.")
    if producer is not _NOT_GIVEN:
        try:
            waiting = len(producer)
        except RuntimeError:  # a closed producer (a `with` block) has flushed on the way out
            waiting = 0
        except TypeError:
            raise Wrong(f"first_producer is a {type(producer).__name__}, not a producer: use "
                        "lab.producer().") from None
        if waiting:
            raise Wrong(f"{waiting} record(s) still wait inside first_producer (queued, in flight, "
                        "or with an unread delivery report): call first_producer.flush(10).")
    records = read_all(lab, topic)
    if not records:
        raise Wrong(f"{topic!r} holds no records yet: produce one, then call flush() so it is really sent.")
    values = [r["value"] for r in records]
    if expected not in values:
        raise Wrong(f"{topic!r} holds {len(values)} record(s) but none with the value {expected!r} "
                    f"(the last ones: {values[-3:]}).")
    return f"{topic!r} holds {expected!r}, and the producer confirmed it."


# ---- notebook 01: a topic made to measure --------------------------------------------------
def _exists(lab, topic: str) -> bool:
    return topic in lab.admin().list_topics(timeout=config.TIMEOUTS.request).topics


def _configs(lab, topic: str) -> dict:
    """Each config entry of ``topic`` (value and source), as the brokers report it.

    The broker asked may not know a topic created a moment ago (UNKNOWN_TOPIC_OR_PART): ask
    again, for a few seconds; any other error is the answer.
    """
    admin = lab.admin()  # held until the answer is in: a dropped client cancels its requests
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)

    def ask():
        try:
            return clients.result(admin.describe_configs([res])[res], f"Describing {topic!r}")
        except LabError as exc:
            if "UNKNOWN_TOPIC_OR_PART" in exc.message:
                return None
            raise
    return wait_for(f"the configs of {topic!r}", ask, timeout=10)


@_verdict
def check_topic(lab, topic: str, partitions: int, replication_factor: int,
                configs: dict | None = None) -> str:
    """Notebook 01: does ``topic`` have these partitions, replication factor and configs?

    Each config must be the topic's own override (DYNAMIC_TOPIC_CONFIG): a value that comes
    from the cluster's defaults is not the learner's answer.
    """
    # a topic created a moment ago may take a moment to reach every broker's metadata
    if not until(lambda: _exists(lab, topic), timeout=3):
        raise Wrong(f"there is no topic {topic!r} yet: create it with admin.create_topics([...]) "
                    "and wait on its future.")
    meta = _topic(lab, topic)
    if len(meta.partitions) != partitions:
        raise Wrong(f"{topic!r} has {len(meta.partitions)} partition(s); the exercise asks for {partitions}.")
    rf = {len(p.replicas) for p in meta.partitions.values()}
    if rf != {replication_factor}:
        raise Wrong(f"{topic!r} has replication factor {sorted(rf)}; the exercise asks for {replication_factor}.")
    live = _configs(lab, topic) if configs else {}
    for name, want in (configs or {}).items():
        if name not in live:
            raise Wrong(f"{name!r} is not a topic config (check the spelling).")
        if str(live[name].value) != str(want):
            raise Wrong(f"{topic!r} has {name}={live[name].value}; the exercise asks for {want}.")
        if live[name].source != ConfigSource.DYNAMIC_TOPIC_CONFIG.value:
            raise Wrong(f"{name}={want} comes from the cluster's defaults "
                        f"({ConfigSource(live[name].source).name}), not from your topic: pass "
                        f"config={{{name!r}: ...}} to NewTopic.")
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
    if len(values) > len(expected) and values[:len(expected)] == list(expected):
        raise Wrong(f"partition {parts[0]} holds {len(values)} records for {key!r}, the story and "
                    f"then {values[len(expected):]}: send each event once (re-running the whole "
                    "cell starts from a fresh topic).")
    if values != list(expected):
        raise Wrong(f"partition {parts[0]} holds {values} for {key!r}; the exercise expects {list(expected)}.")
    return f"all {len(values)} records of {key!r} are in partition {parts[0]}, in order."


# ---- notebook 03: a producer that does not lose or duplicate -------------------------------
@_verdict
def check_safe_producer(lab, settings: dict, topic: str) -> str:
    """Notebook 03: acks=all and idempotence on, set by the learner, and they really deliver.

    A setting left to its default does not count: librdkafka defaults acks to all but
    idempotence to off, the Java client turns both on; a learner should say what they mean.
    """
    if not isinstance(settings, dict):
        raise Wrong(f"settings is a {type(settings).__name__}; it should be a dict of producer settings.")
    if not settings:
        raise Wrong("settings is empty: set acks and enable.idempotence yourself (defaults differ "
                    "between clients: see notebook 03's table of defaults).")
    conf = {k.replace("_", "."): v for k, v in settings.items()}
    if "acks" not in conf and "request.required.acks" not in conf:
        raise Wrong("acks is not set: say which replicas must have a record before it counts as "
                    "sent (acks='all').")
    acks = str(conf.get("acks", conf.get("request.required.acks"))).lower()
    if acks not in ("all", "-1"):
        raise Wrong(f"acks={acks}: {'nobody' if acks == '0' else 'the leader alone'} acknowledges, "
                    "and a leader crash can lose an acknowledged record; use acks='all'.")
    if str(conf.get("enable.idempotence", "false")).lower() not in ("true", "1"):
        raise Wrong("enable.idempotence is off: a retry after a lost acknowledgement can write the "
                    "record twice; set enable.idempotence=True.")
    if int(conf.get("retries", conf.get("message.send.max.retries", 1))) == 0:
        raise Wrong("retries=0: one leader change makes the send fail; leave retries at its default.")
    reports = []
    producer = lab.producer(conf)
    producer.produce(topic, b"check", on_delivery=lambda err, msg: reports.append(err))
    left = producer.flush(15)
    if left or not reports:
        raise Wrong("the record was not delivered within 15 s with these settings.")
    if reports[0] is not None:
        raise Wrong(f"the broker refused the record: {reports[0].name()}.")
    return ("acks=all with idempotence: an acknowledged record survives a leader crash, and the "
            "producer's own retries cannot duplicate it (a resend by your code still can).")
