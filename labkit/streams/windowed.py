"""A windowed count in plain Python on confluent-kafka, its state in a changelog topic (notebook 09).

This is what a stream-processing library does under the hood, written out so a learner can read
it: records are counted per key per tumbling window of *event time* (the record's timestamp, not
the clock when it is processed). The counts live in a dict, and every change is also written to a
compacted *changelog* topic; a fresh processor reads that topic back and carries on where the last
one stopped. Kafka Streams keeps its state stores the same way (``<app>-<store>-changelog``).

Time follows Kafka Streams' rules (``TimeWindows.ofSizeAndGrace``): *stream time* is the largest
timestamp seen so far; a window [start, end) closes once stream time reaches end + grace, and
then its final count goes to the output topic; a record whose window has already closed is
*late* and dropped. Each batch (state changes, output records and the input offsets) is one
Kafka transaction, so a crash in the middle leaves nothing half-done (notebook 08).
"""
from __future__ import annotations

import json
import time

from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

from .. import clients
from ..errors import LabError
from ..wait import until

STREAM_TIME = "stream-time"  # the changelog key that keeps each partition's stream time


def window_start(ts_ms: int, size_ms: int) -> int:
    """The start of the tumbling window of ``size_ms`` holding a record at ``ts_ms``."""
    return ts_ms - ts_ms % size_ms


def time_zero(size_s: float = 60) -> int:
    """Now, rounded down to a whole ``size_s`` (ms): notebook 09's records are timed from here, so
    their windows start at 0 s, 10 s, ... whatever the clock says (and stay within retention)."""
    size_ms = int(size_s * 1000)
    return window_start(int(time.time() * 1000), size_ms)


class WindowedCount:
    """Count records per key per tumbling window; state in a changelog topic (notebook 09).

    ``source`` is read in partition order; final counts go to ``sink`` as JSON values
    ``{"key", "start", "end", "count"}`` (times in ms); ``changelog`` must be a compacted topic
    with as many partitions as ``source``. ``name`` is the consumer group (where committed input
    offsets live) and the ``transactional.id``: a new instance with the same name takes over.
    """

    def __init__(self, lab, source: str, sink: str, changelog: str, *, window_s: float = 10,
                 grace_s: float = 0, name: str = "windowed-count"):
        if window_s <= 0 or grace_s < 0:
            raise LabError(f"window_s={window_s}, grace_s={grace_s}: a window needs a positive size "
                           "and a grace of zero or more.", hint="for example window_s=10, grace_s=5.")
        self.lab, self.source, self.sink, self.changelog = lab, source, sink, changelog
        self.size_ms, self.grace_ms = int(window_s * 1000), int(grace_s * 1000)
        self.counts: dict[tuple[int, str, int], int] = {}  # (partition, key, window start) -> count
        self.stream_time: dict[int, int] = {}  # partition -> largest timestamp seen
        self.seen: list[dict] = []  # every record this instance processed, for the pictures
        self.consumer = lab.consumer(name, {"enable.auto.commit": False, "enable.partition.eof": True,
                                            "auto.offset.reset": "earliest",
                                            "isolation.level": "read_committed"})
        self.producer = lab.producer({"transactional.id": name, "enable.idempotence": True})
        self.producer.init_transactions(30)  # fences an earlier instance with this name (notebook 08)
        self.partitions = partitions_of(lab, source)
        self.restored = self.restore()

    # ---- state: the dict and its changelog ---------------------------------------------------
    def restore(self) -> int:
        """Rebuild ``counts`` and ``stream_time`` by reading the changelog to its end; returns
        how many changelog records were read (committed ones only: read_committed)."""
        self.counts, self.stream_time, read = restore_state(self.lab, self.changelog, self.partitions)
        return read

    # ---- processing -----------------------------------------------------------------------
    def process(self, msg) -> None:
        """One input record: count it in its window (or drop it as late), then close windows."""
        part, ts = msg.partition(), msg.timestamp()[1]
        key = msg.key().decode() if msg.key() else ""
        now = max(self.stream_time.get(part, ts), ts)  # stream time only moves forward
        self.stream_time[part] = now
        start = window_start(ts, self.size_ms)
        late = start + self.size_ms + self.grace_ms <= now  # its window has closed already
        self.seen.append({"partition": part, "key": key, "timestamp": ts, "stream_time": now,
                          "processed_at": time.time(), "late": late})
        if not late:
            count = self.counts.get((part, key, start), 0) + 1
            self.counts[(part, key, start)] = count
            self._log(part, f"{key}@{start}", str(count))
        self._log(part, STREAM_TIME, str(now))
        for (p, k, s) in sorted(self.counts):
            if p == part and s + self.size_ms + self.grace_ms <= now:  # closed: final result out
                result = {"key": k, "start": s, "end": s + self.size_ms, "count": self.counts.pop((p, k, s))}
                self.producer.produce(self.sink, key=k, value=json.dumps(result), timestamp=s)
                self._log(part, f"{k}@{s}", None)  # the tombstone lets compaction forget it

    def _log(self, part: int, key: str, value: str | None) -> None:
        self.producer.produce(self.changelog, key=key, value=value, partition=part)

    def run(self, max_records: int | None = None, timeout: float = 60, crash_after: int | None = None) -> int:
        """Process the input until every partition is at its end (or ``max_records``); returns
        how many records were processed. Each batch is one transaction: input offsets, state
        changes and output are committed together.

        ``crash_after=n`` stops dead after n records, inside an open transaction, with nothing
        committed and nothing closed: what ``kill -9`` would leave behind (notebook 09's crash).
        """
        self.consumer.assign([TopicPartition(self.source, p) for p in self.partitions])
        done, at_end = 0, set()
        deadline = time.monotonic() + timeout
        while at_end != set(self.partitions) and (max_records is None or done < max_records):
            if time.monotonic() > deadline:
                raise LabError(f"the processor did not reach the end of {self.source!r} in {timeout:.0f} s.",
                               hint="is every broker running? `lab.status()`.")
            batch = self.consumer.consume(100 if max_records is None else min(100, max_records - done), 0.5)
            records = []
            for msg in batch:  # in order: a partition's end-event counts only after its records
                if not _eof(msg, at_end):
                    at_end.discard(msg.partition())
                    records.append(msg)
            if not records:
                continue
            self.producer.begin_transaction()
            for msg in records:
                self.process(msg)
                done += 1
                if crash_after is not None and done >= crash_after:
                    self.producer.flush(10)  # the writes reach the brokers, uncommitted
                    return done
            positions = [tp for tp in self.consumer.position(self.consumer.assignment()) if tp.offset >= 0]
            self.producer.send_offsets_to_transaction(
                positions,
                self.consumer.consumer_group_metadata(), 30)
            self.producer.commit_transaction(30)
        return done

    def close(self) -> None:
        """Leave cleanly (windows still open stay in the changelog for the next instance)."""
        self.consumer.close()
        self.producer.flush(10)

    def open_windows(self) -> list[dict]:
        """The windows still counting: key, start, end (ms) and the count so far."""
        return [{"partition": p, "key": k, "start": s, "end": s + self.size_ms, "count": c}
                for (p, k, s), c in sorted(self.counts.items())]


def restore_state(lab, changelog: str, partitions: list[int]) -> tuple[dict, dict, int]:
    """Read a WindowedCount's changelog from the start to its end: the open windows' counts
    ((partition, key, window start) -> count), each partition's stream time, and how many
    records were read. A key's latest value wins; a tombstone removes it, as compaction would."""
    counts: dict[tuple[int, str, int], int] = {}
    stream_time: dict[int, int] = {}

    def apply(msg) -> None:
        part, key = msg.partition(), msg.key().decode()
        if key == STREAM_TIME:
            stream_time[part] = int(msg.value())
            return
        record_key, start = key.rsplit("@", 1)
        if msg.value() is None:  # a tombstone: the window closed and was emitted
            counts.pop((part, record_key, int(start)), None)
        else:
            counts[(part, record_key, int(start))] = int(msg.value())
    reader = lab.consumer(f"{changelog}-restore", {
        "enable.auto.commit": False, "enable.partition.eof": True, "isolation.level": "read_committed"})
    try:
        reader.assign([TopicPartition(changelog, p, OFFSET_BEGINNING) for p in partitions])
        return counts, stream_time, _drain(reader, set(partitions), apply, timeout=30)
    finally:
        reader.close()


def partitions_of(lab, topic: str, wait: float = 5.0) -> list[int]:
    """The partition numbers of ``topic``; a LabError when there is no such topic.

    All topics are listed: asking for one by name would auto-create it on the lab's brokers. A
    topic created a moment ago gets ``wait`` seconds to reach the broker that answers.
    """
    admin = lab.admin()

    def listed():
        meta = admin.list_topics(timeout=10).topics.get(topic)
        return sorted(meta.partitions) if meta is not None and meta.error is None and meta.partitions else None
    parts = until(listed, wait, 0.1)
    if not parts:
        raise LabError(f"there is no topic {topic!r}.", hint="create it first (lab.fresh_topic).")
    return parts


def _eof(msg, at_end: set) -> bool:
    """True for an event that is not a record: librdkafka's end-of-partition (noted in
    ``at_end``) or a transient error it retries itself (a moved coordinator); other errors raise."""
    if msg.error() is None:
        return False
    if msg.error().code() == KafkaError._PARTITION_EOF:
        at_end.add(msg.partition())
        return True
    if clients.transient(msg.error()):  # seen in CI: NOT_COORDINATOR fetching committed offsets
        return True
    raise LabError(f"reading {msg.topic()!r} failed: {msg.error()}", hint="`lab.status()` shows the brokers.")


def _drain(consumer, parts: set, apply, timeout: float) -> int:
    """Feed every record of the assigned partitions to ``apply`` until each is at its end."""
    at_end, count = set(), 0
    deadline = time.monotonic() + timeout
    while at_end != parts:
        if time.monotonic() > deadline:
            raise LabError(f"reading the changelog to its end took over {timeout:.0f} s.",
                           hint="is every broker running? `lab.status()`.")
        for msg in consumer.consume(500, 0.5):
            if not _eof(msg, at_end):
                apply(msg)
                count += 1
    return count


def read_results(lab, topic: str, timeout: float = 15) -> list[dict]:
    """The JSON results in ``topic`` (committed ones), in order of window start then key."""
    reader = lab.consumer(f"{topic}-reader-{time.time_ns()}", {
        "enable.auto.commit": False, "enable.partition.eof": True, "isolation.level": "read_committed"})
    try:
        parts = partitions_of(lab, topic)
        reader.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        rows: list[dict] = []
        _drain(reader, set(parts), lambda m: rows.append(json.loads(m.value())), timeout)
        return sorted(rows, key=lambda r: (r["start"], r["key"]))
    finally:
        reader.close()


__all__ = ["WindowedCount", "partitions_of", "restore_state", "read_results", "time_zero", "window_start"]
