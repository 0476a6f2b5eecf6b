"""The failover checker's books: what was acknowledged against what can be read back (notebook 06).

Pure bookkeeping (``check``) and one reader (``read_back``), kept apart from the workload so the
accounting is tested on its own, in the manner of Kafka's replication system test and Jepsen:

- lost: acknowledged but not read back (must be 0);
- duplicates: a sequence number read more than once;
- reordered: a partition where a later record holds an earlier sequence number;
- unacked_present: read back although never acknowledged (allowed: the ack itself got lost).
"""
from __future__ import annotations

import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, KafkaException, TopicPartition

from .. import clients, config
from ..errors import LabError

PARTITIONS = 3  # every chaos topic has three partitions


def check(acked: dict[int, tuple], records: list[tuple[int, int, int]]) -> dict:
    """Compare acknowledgements with what was read back: ``records`` are (partition, offset, seq).

    Pure bookkeeping, so it is tested on its own: lost, duplicates, reordered, unacked_present.
    """
    seen: set[int] = set()
    duplicates = 0
    last: dict[int, tuple[int, int]] = {}
    reordered = 0
    for part, offset, seq in sorted(records):
        duplicates += seq in seen
        seen.add(seq)
        prev = last.get(part)
        reordered += prev is not None and seq < prev[1]
        last[part] = (offset, seq)
    lost = sorted(set(acked) - seen)
    return {"read": len(records), "lost": len(lost), "duplicates": duplicates,
            "reordered": reordered, "unacked_present": len(seen - set(acked)), "lost_sample": lost[:10]}


def read_back(bootstrap: str, topic: str, timeout: float = 120.0) -> list[tuple[int, int, int]]:
    """Every record of ``topic`` as (partition, offset, seq), up to each partition's high watermark."""
    cons = clients.consumer(bootstrap, f"labkit-checker-{uuid.uuid4().hex[:8]}",
                            {"enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        high = _high_watermarks(cons, topic, timeout)
        cons.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in high])
        got: list[tuple[int, int, int]] = []
        pos = {p: 0 for p in high}
        end = time.monotonic() + timeout
        while any(pos[p] < high[p] for p in high):
            if time.monotonic() > end:
                raise LabError(f"Reading {topic!r} back stopped short after {timeout:.0f} s "
                               f"(at {pos}, high watermarks {high}).",
                               hint="is every broker running? `labkit status`; `labkit up` heals.")
            for msg in cons.consume(500, timeout=1.0):
                if msg.error() is None:
                    got.append((msg.partition(), msg.offset(), int(msg.value())))
                    pos[msg.partition()] = msg.offset() + 1
        return got
    finally:
        cons.close()


def _high_watermarks(cons, topic: str, timeout: float) -> dict[int, int]:
    """Each partition's high watermark, asked again while the healed cluster settles: as a
    resumed or restarted broker rejoins, librdkafka may replace its connection to it and fail
    the request in flight (_DESTROY_BROKER, _TRANSPORT)."""
    end = time.monotonic() + timeout
    while True:
        try:
            return {p: cons.get_watermark_offsets(TopicPartition(topic, p), timeout=config.TIMEOUTS.request)[1]
                    for p in range(PARTITIONS)}
        except KafkaException as exc:
            if time.monotonic() > end:
                raise LabError(f"No high watermarks for {topic!r} within {timeout:.0f} s: {exc.args[0].str()}",
                               hint="is every broker running? `labkit status`; `labkit up` heals.") from None
            time.sleep(0.5)
