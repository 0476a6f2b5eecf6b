"""Checks for the first lessons' exercises: a first message (00), a topic made to measure (01),
one user's story in order (02), a producer that neither loses nor duplicates (03).

Each check prints one verdict line, ✔ or ✘, and returns True or False (``lessons.verdict``).
"""
from __future__ import annotations

from .verdict import Wrong, _topic, _topic_configs, _verdict, read_all


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
