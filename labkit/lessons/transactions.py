"""Checks for notebook 08's exercise: commit some records, abort others, in transactions.

The check reads the learner's topic twice, as ``isolation.level=read_uncommitted`` and as
``read_committed`` see it, and counts the transaction markers (the offsets no reader is given),
so it passes only when the learner's own cell wrote both transactions: plain writes, a
transaction left open or one never aborted each get their own verdict.
"""
from __future__ import annotations

from confluent_kafka import IsolationLevel, TopicPartition
from confluent_kafka.admin import OffsetSpec

from .. import clients
from ..chaos.exactly_once import read_topic
from ..wait import until
from .verdict import Wrong, _topic, _verdict

KEEP = ("r1", "r2", "r3")      # the receipts the committed transaction writes
VOID = ("void-1", "void-2")    # the ones the aborted transaction writes


def stable_and_high(lab, topic: str) -> dict[int, tuple[int, int]]:
    """Each partition's (last stable offset, high watermark): what a read_committed and a
    read_uncommitted reader may read up to (notebook 08)."""
    parts = [TopicPartition(topic, p) for p in sorted(_topic(lab, topic).partitions)]
    admin = lab.admin()
    ends = {}
    for level in (IsolationLevel.READ_COMMITTED, IsolationLevel.READ_UNCOMMITTED):
        futures = admin.list_offsets({tp: OffsetSpec.latest() for tp in parts}, isolation_level=level)
        ends[level] = {tp.partition: clients.result(f, f"Listing the offsets of {topic!r}").offset
                       for tp, f in futures.items()}
    return {p: (ends[IsolationLevel.READ_COMMITTED][p], ends[IsolationLevel.READ_UNCOMMITTED][p])
            for p in ends[IsolationLevel.READ_COMMITTED]}


def _values(lab, topic: str, isolation: str) -> list[str]:
    return [v.decode("utf-8", "replace") if v is not None else None
            for _p, _o, _k, v in read_topic(lab.bootstrap_servers, topic, isolation, timeout=15)]


@_verdict
def check_commit_and_abort(lab, topic: str) -> str:
    """Notebook 08: r1, r2, r3 committed in a transaction; void-1, void-2 written and aborted."""
    # commit/abort_transaction return before the markers reach every partition: a few ms later
    # the last stable offset catches up with the high watermark, unless a transaction is open
    ends = until(lambda: (lambda e: e if all(s == h for s, h in e.values()) else None)(
        stable_and_high(lab, topic)), timeout=5.0)
    if ends is None:
        ends = stable_and_high(lab, topic)
        stuck = {p: e for p, e in ends.items() if e[0] != e[1]}
        p, (stable, high) = next(iter(stuck.items()))
        raise Wrong(f"a transaction on {topic!r} is still open: in partition {p} the last stable "
                    f"offset is {stable} and the high watermark {high}, so read_committed readers "
                    "wait; end it with commit_transaction() or abort_transaction().")
    uncommitted = _values(lab, topic, "read_uncommitted")
    if not uncommitted:
        raise Wrong(f"{topic!r} is empty: write the receipts with a producer that has a transactional.id.")
    committed = _values(lab, topic, "read_committed")
    seen_void = [v for v in VOID if v in committed]
    if seen_void:
        raise Wrong(f"read_committed readers see {seen_void}: those must be aborted "
                    "(begin_transaction(), produce, abort_transaction()), not committed or written plainly.")
    missing_void = [v for v in VOID if v not in uncommitted]
    if missing_void:
        raise Wrong(f"no record {missing_void} in {topic!r} at all: abort_transaction() purges what "
                    "the producer has not sent yet, so call producer.flush() before aborting; then "
                    "the log holds them and every read_committed reader skips them.")
    if sorted(committed) != sorted(KEEP):
        raise Wrong(f"read_committed readers see {sorted(committed)}, not {list(KEEP)}: "
                    "commit one transaction with r1, r2 and r3, each once.")
    markers = sum(high for _stable, high in ends.values()) - len(uncommitted)
    if markers < 2:
        raise Wrong(f"the log holds {markers} transaction marker(s), not one per transaction: "
                    "r1-r3 were written without a transaction. Produce them between "
                    "begin_transaction() and commit_transaction().")
    return (f"read_committed readers see only r1, r2, r3; read_uncommitted readers also see the "
            f"aborted void-1, void-2; the log holds {markers} transaction markers.")
