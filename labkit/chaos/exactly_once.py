"""Exactly-once, proved: kill the processor mid-stream, restart it, count every order (notebook 08).

``run_with_kill`` writes numbered orders to a fresh input topic and starts ``processor`` as its own
OS process. Once the output holds about two and a half batches it freezes the processor (SIGSTOP)
and looks: only if some totals are written but not yet committed (an open transaction; or totals
beyond the group's committed offsets) is the kill certain to land mid-batch, and it SIGKILLs;
otherwise it lets the processor run on (SIGCONT) and looks again. Then it starts the processor
again with the same ``transactional.id`` and group, waits until it has processed everything,
reads the output back with ``isolation.level=read_committed`` (and ``read_uncommitted``) and lets
``tally`` count, in the manner of the failover checker (``checker``):

- lost: an order with no total in the output (must be 0 in both modes);
- duplicates: extra totals of one order (0 with transactions; the at-least-once control, killed
  between producing a batch's totals and committing its offsets, has some);
- wrong: a total that is not qty x price; unexpected: a total for an order never written.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from confluent_kafka import (OFFSET_BEGINNING, ConsumerGroupTopicPartitions, Consumer,
                             IsolationLevel, KafkaError, TopicPartition)
from confluent_kafka.admin import OffsetSpec

from .. import clients, config
from ..errors import LabError
from ..wait import until, wait_for

PROCESS_TIMEOUT = 90.0  # seconds a processor run may take before it is killed and reported
SETTLE = 1.0  # seconds a frozen processor's commit already on its way gets to show


def tally(orders: dict[int, int], totals: list[tuple[int, int]]) -> dict:
    """Count each order's totals: ``orders`` maps order -> expected total, ``totals`` is every
    (order, total) read from the output. Pure bookkeeping, tested on its own."""
    seen = Counter(order for order, _total in totals)
    counts = {order: seen[order] for order in orders}
    return {"orders": len(orders),
            "lost": sum(1 for n in counts.values() if n == 0),
            "once": sum(1 for n in counts.values() if n == 1),
            "twice_or_more": sum(1 for n in counts.values() if n >= 2),
            "duplicates": sum(n - 1 for n in counts.values() if n >= 2),
            "wrong": sum(1 for order, total in totals if order in orders and total != orders[order]),
            "unexpected": sum(n for order, n in seen.items() if order not in orders),
            "counts": counts}


def read_topic(bootstrap: str, topic: str, isolation: str = "read_committed",
               timeout: float = 30.0) -> list[tuple[int, int, bytes | None, bytes | None]]:
    """Every record of ``topic`` as (partition, offset, key, value), read as ``isolation`` sees it:
    ``read_committed`` stops at the last stable offset and skips aborted records,
    ``read_uncommitted`` reads up to the high watermark, aborted records included."""
    consumer = Consumer(clients.merge("consumer", bootstrap, {
        "group.id": f"labkit-reader-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False,
        "isolation.level": isolation, "enable.partition.eof": True}, {}))
    try:
        meta = consumer.list_topics(topic, timeout=config.TIMEOUTS.request).topics.get(topic)
        if meta is None or meta.error is not None or not meta.partitions:
            raise LabError(f"There is no topic {topic!r}.", hint="check its name.")
        todo = set(meta.partitions)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in todo])
        got: list[tuple[int, int, bytes | None, bytes | None]] = []

        def at_end() -> bool:
            for msg in consumer.consume(500, timeout=0.5):
                if msg.error() is None:
                    got.append((msg.partition(), msg.offset(), msg.key(), msg.value()))
                elif msg.error().code() == KafkaError._PARTITION_EOF:
                    todo.discard(msg.partition())
            return not todo
        wait_for(f"reading {topic!r} ({isolation}) to its end", at_end, timeout, interval=0,
                 on_timeout=lambda: f"partitions not at their end: {sorted(todo)}")
        return sorted(got, key=lambda r: (r[0], r[1]))
    finally:
        consumer.close()


@dataclass
class Run:
    """One kill-and-restart run of the processor and what the checker found."""

    mode: str            # "exactly-once" or "at-least-once"
    orders: int
    killed_at: int       # output records (high watermarks, uncommitted included) at the kill
    pending: int         # of those, totals whose transaction / input offsets were not committed
    batches_after_restart: int
    tally: dict = field(repr=False)              # the output as read_committed reads it
    uncommitted: dict = field(repr=False)        # ... and as read_uncommitted reads it
    wall_s: float = 0.0

    def row(self) -> dict:
        return {"mode": self.mode, "orders": self.orders, "killed_at": self.killed_at,
                "pending": self.pending,
                **{k: v for k, v in self.tally.items() if k not in ("counts", "orders")},
                "duplicates_read_uncommitted": self.uncommitted["duplicates"], "wall_s": self.wall_s}


def write_orders(lab, topic: str, n: int) -> dict[int, int]:
    """Produce orders 0..n-1 to ``topic`` (keys: 7 customers); return order -> expected total."""
    expected = {}
    with lab.producer(linger_ms=5) as producer:
        for i in range(n):
            order = {"order": i, "customer": f"c{i % 7}", "qty": 1 + i % 3, "price": 100 + i}
            expected[i] = order["qty"] * order["price"]
            producer.produce(topic, json.dumps(order).encode(), key=order["customer"].encode())
        if producer.flush(30):
            raise LabError(f"Could not write the orders to {topic!r}.", hint="`labkit status`")
    return expected


def run_with_kill(lab, transactional: bool = True, orders: int = 400, batch: int = 50,
                  pace_ms: float = 10, prefix: str = "eos", out=None) -> Run:
    """Orders in, processor started, SIGKILLed mid-batch, restarted, output checked (see module)."""
    kill_at = batch * 5 // 2  # output records: in the middle of the third batch
    if batch < 1 or orders < kill_at + batch:
        raise LabError(f"{orders} orders in batches of {batch} leave no room to kill the processor "
                       "in the middle of a batch.", hint=f"use at least {kill_at + batch} orders.")
    t0 = time.monotonic()
    mode = "exactly-once" if transactional else "at-least-once"
    source, sink = f"{prefix}-orders", f"{prefix}-totals"
    lab.fresh_topic(source, 3, 3)
    lab.fresh_topic(sink, 3, 3)
    expected = write_orders(lab, source, orders)
    app = f"{prefix}-app-{uuid.uuid4().hex[:6]}"  # a fresh group: nothing committed yet
    args = [sys.executable, "-m", "labkit.chaos.processor", "--bootstrap", lab.bootstrap_servers,
            "--input", source, "--output", sink, "--group", app, "--batch", str(batch),
            "--pace-ms", str(pace_ms), "--max-seconds", str(PROCESS_TIMEOUT)]
    args += ["--transactional-id", f"{app}-0"] if transactional else ["--no-transactions"]
    with _Processor(args) as first, clients.quiet_admin(lab.bootstrap_servers) as admin:
        def mid_batch():
            """Past ``kill_at``, freeze the processor (SIGSTOP) and look: totals written whose
            inputs are not committed yet mean the kill lands mid-batch; else let it run on.

            A commit already on its way (an offset commit in flight, or the markers the
            coordinator writes after commit_transaction returned) shows within a second of
            the freeze: only totals still pending after it count."""
            first.check_alive()
            if _output_size(admin, sink) < kill_at:
                return None
            first.signal(signal.SIGSTOP)
            if until(lambda: _pending(admin, source, sink, app, transactional) <= 0, SETTLE):
                first.signal(signal.SIGCONT)
                return None
            return _pending(admin, source, sink, app, transactional)
        pending = wait_for(f"the processor to be in the middle of a batch past {kill_at} totals",
                           mid_batch, PROCESS_TIMEOUT, interval=0.02, on_timeout=first.tail)
        killed_at = _output_size(admin, sink)
        first.kill()
    _say(out, f"{mode}: killed the processor (SIGKILL) with {pending} totals written but not "
              "committed; restarting")
    with _Processor(args) as second:
        second.wait(PROCESS_TIMEOUT)
        batches = second.batches()
    with clients.quiet_admin(lab.bootstrap_servers) as admin:  # the last commit's markers
        wait_for(f"the last stable offsets of {sink!r} to reach its high watermarks",
                 lambda: _output_size(admin, sink, IsolationLevel.READ_COMMITTED)
                 == _output_size(admin, sink), 30, interval=0.1)
    books = {isolation: tally(expected, _totals(lab, sink, isolation))
             for isolation in ("read_committed", "read_uncommitted")}
    run = Run(mode, orders, killed_at, pending, batches, books["read_committed"], books["read_uncommitted"],
              round(time.monotonic() - t0, 1))
    _say(out, f"{mode}: {run.tally['lost']} lost, {run.tally['duplicates']} duplicates")
    return run


def _totals(lab, topic: str, isolation: str) -> list[tuple[int, int]]:
    """(order, total) of every output record ``isolation`` lets a reader see."""
    values = [json.loads(v) for _p, _o, _k, v in read_topic(lab.bootstrap_servers, topic, isolation)]
    return [(v["order"], v["total"]) for v in values]


def _output_size(admin, topic: str, level=IsolationLevel.READ_UNCOMMITTED) -> int:
    """The sum of ``topic``'s high watermarks (records, aborted and markers included), or with
    ``READ_COMMITTED`` of its last stable offsets."""
    futures = admin.list_offsets({TopicPartition(topic, p): OffsetSpec.latest() for p in range(3)},
                                 isolation_level=level)
    return sum(f.result(timeout=config.TIMEOUTS.request).offset for f in futures.values())


def _pending(admin, source: str, sink: str, group: str, transactional: bool) -> int:
    """Totals in the output that a restart will redo or abort: with transactions, the records of
    the open transaction (high watermarks minus last stable offsets); without, the totals beyond
    the group's committed input offsets (one total per order)."""
    if transactional:
        return _output_size(admin, sink) - _output_size(admin, sink, IsolationLevel.READ_COMMITTED)
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(source, p) for p in range(3)])
    answer = admin.list_consumer_group_offsets([request])[group].result(timeout=config.TIMEOUTS.request)
    committed = sum(max(tp.offset, 0) for tp in answer.topic_partitions)  # -1001: none yet
    return _output_size(admin, sink) - committed


def _say(out, text: str) -> None:
    if out is not None:
        print(text, file=out, flush=True)


class _Processor:
    """The processor as a child process in its own session, never left running."""

    def __init__(self, args: list[str]):
        self.log = tempfile.NamedTemporaryFile("w+", prefix="labkit-processor-", suffix=".log")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True, env=env)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        self.log.close()

    def lines(self) -> list[str]:
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.readlines()

    def tail(self) -> str:
        return "".join(self.lines()[-10:])

    def batches(self) -> int:
        return sum(1 for line in self.lines() if line.startswith("batch "))

    def check_alive(self) -> bool:
        """True while running; a processor that ended on its own is a LabError with its output."""
        if self.proc.poll() is None:
            return True
        raise LabError(f"The processor ended (exit code {self.proc.returncode}) before it was killed.",
                       hint="more orders or a higher pace_ms give the kill time to land.",
                       log_tail=self.tail())

    def signal(self, sig) -> None:
        """Send ``sig`` to the processor's process group (SIGSTOP freezes it, SIGCONT resumes)."""
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL the processor's whole process group and reap it."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(10)

    def wait(self, timeout: float) -> None:
        """Wait for the processor to finish its input; a failure or a hang is a LabError."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise LabError(f"The processor did not finish within {timeout:.0f} s.",
                           hint="is every broker running? `labkit status`", log_tail=self.tail()) from None
        if code != 0:
            raise LabError(f"The processor failed (exit code {code}).", hint="its output is below.",
                           log_tail=self.tail())
