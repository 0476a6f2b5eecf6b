"""The failover checker's books: what was acknowledged against what can be read back (notebook 06).

Pure bookkeeping (``check``) and one reader (``read_back``), kept apart from the workload so the
accounting is tested on its own, in the manner of Kafka's replication system test and Jepsen:

- lost: acknowledged but not read back (must be 0);
- misplaced: acknowledged at a (partition, offset) that holds something else on read-back;
- duplicates: one sequence number at two different offsets (a record re-read at the same offset
  is the consumer's repeat, not the producer's, and is counted once);
- reordered: a partition where a later record holds an earlier sequence number;
- hw_short: a partition whose high watermark is not above its highest acknowledged offset;
- unacked_present: read back although never acknowledged (allowed: the ack itself got lost).
"""
from __future__ import annotations

import uuid
from collections import defaultdict

from confluent_kafka import OFFSET_BEGINNING, KafkaException, TopicPartition

from .. import clients, config
from ..wait import wait_for

PARTITIONS = 3  # every chaos topic has three partitions


def check(acked: dict[int, tuple], records: list[tuple[int, int, int]],
          high: dict[int, int] | None = None) -> dict:
    """Compare acknowledgements with what was read back: ``records`` are (partition, offset, seq),
    ``acked`` maps seq -> (partition, offset, ...), ``high`` each partition's high watermark.

    Pure bookkeeping, so it is tested on its own (see the module docstring for each count).
    """
    at = {(part, offset): seq for part, offset, seq in records}  # one record per offset
    where: dict[int, set] = defaultdict(set)
    for pos, seq in at.items():
        where[seq].add(pos)
    duplicates = sum(len(positions) - 1 for positions in where.values())
    reordered, last = 0, {}
    for (part, _offset), seq in sorted(at.items()):
        reordered += part in last and seq < last[part]
        last[part] = seq
    lost = sorted(set(acked) - set(where))
    # an ack may come without its offset (None): librdkafka's answer to an idempotent retry the
    # broker had already written (DUPLICATE_SEQUENCE_NUMBER); lost or not is still checked
    misplaced = sorted(s for s, (part, offset, *_) in acked.items()
                       if s in where and offset is not None and at.get((part, offset)) != s)
    top: dict[int, int] = {}
    for part, offset, *_ in acked.values():
        if offset is not None:
            top[part] = max(top.get(part, -1), offset)
    hw_short = sorted(p for p, off in top.items() if high is not None and high.get(p, -1) <= off)
    return {"read": len(at), "lost": len(lost), "misplaced": len(misplaced), "duplicates": duplicates,
            "reordered": reordered, "hw_short": len(hw_short),
            "unacked_present": len(set(where) - set(acked)), "lost_sample": lost[:10]}


def read_back(bootstrap: str, topic: str, timeout: float = 120.0, with_high: bool = False):
    """Every record of ``topic`` as (partition, offset, seq), up to each partition's high watermark.

    ``with_high`` also returns the high watermarks read from the leaders before reading.
    """
    cons = clients.consumer(bootstrap, f"labkit-checker-{uuid.uuid4().hex[:8]}",
                            {"enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        high = _high_watermarks(cons, topic, timeout)
        cons.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in high])
        got: list[tuple[int, int, int]] = []
        pos = {p: 0 for p in high}

        def caught_up() -> bool:
            for msg in cons.consume(500, timeout=1.0):
                if msg.error() is None:
                    got.append((msg.partition(), msg.offset(), int(msg.value())))
                    pos[msg.partition()] = msg.offset() + 1
            return all(pos[p] >= high[p] for p in high)
        if any(high.values()):
            wait_for(f"reading {topic!r} back to its high watermarks {high}", caught_up, timeout,
                     interval=0, on_timeout=lambda: f"stopped at {pos}",
                     hint="is every broker running? `labkit status`; `labkit up` heals.")
        return (got, high) if with_high else got
    finally:
        cons.close()


def _high_watermarks(cons, topic: str, timeout: float) -> dict[int, int]:
    """Each partition's high watermark, asked again while the healed cluster settles: as a
    resumed or restarted broker rejoins, librdkafka may replace its connection to it and fail
    the request in flight (_DESTROY_BROKER, _TRANSPORT)."""
    return wait_for(f"the high watermarks of {topic!r}", lambda: {
        p: cons.get_watermark_offsets(TopicPartition(topic, p), timeout=config.TIMEOUTS.request)[1]
        for p in range(PARTITIONS)}, timeout, interval=0.5, retry_on=(KafkaException,),
        hint="is every broker running? `labkit status`; `labkit up` heals.")
