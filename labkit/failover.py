"""Failover you can trust: write, break a leader, heal, read everything back, check (notebook 06).

A trial writes unique, sequence-numbered records (keys spread over every partition) with
``acks=all`` and idempotence to a replication-factor-3, ``min.insync.replicas=2`` topic while a
fault schedule (``labkit.faults``) kills, stops, pauses or bounces a partition leader. It records
every acknowledgement, heals the cluster, reads the topic back from the beginning and checks, in
the manner of Kafka's replication system test and Jepsen's checkers:

- lost: acknowledged but not read back (must be 0);
- duplicates: a sequence number read more than once;
- reordered: a partition where a later record holds an earlier sequence number;
- unacked_present: read back although never acknowledged (allowed: the ack itself got lost);
- time to next ack: per fault, seconds until a partition the victim led acknowledged again.

``unsafe=True`` is the negative control: ``acks=1``, replication factor 2, ``min.insync.replicas=1``,
unclean leader election allowed; a follower is paused, then the leader killed. It shows that
durability is a configuration, not a given.
"""
from __future__ import annotations

import statistics
import time
import uuid
from dataclasses import asdict, dataclass, field

from confluent_kafka import OFFSET_BEGINNING, KafkaException, TopicPartition

from . import clients, config, faults
from .errors import LabError

PARTITIONS = 3
KEYS = 24  # distinct keys; the default partitioner spreads them over all partitions
RATE = 800  # records per second: steady traffic that spans the fault, not a burst before it
TRIAL_TIMEOUT = 300.0
# A request stuck at a paused leader times out after 5 s, not 60, and is retried at the new
# leader; a record waits up to 2 minutes for a new leader instead of failing.
PATIENT = {"linger.ms": 5, "request.timeout.ms": 5000, "socket.timeout.ms": 5000,
           "message.timeout.ms": 120000}
SAFE_PRODUCER = {"acks": "all", "enable.idempotence": True, **PATIENT}
UNSAFE_PRODUCER = {"acks": 1, "enable.idempotence": False, **PATIENT}


class Acks:
    """What the producer was told: sequence -> (partition, offset, time acknowledged)."""

    def __init__(self):
        self.acked: dict[int, tuple[int, int, float]] = {}
        self.failed: dict[int, str] = {}
        self.per_partition: dict[int, int] = {}
        self.sent_at: list[float] = []  # index = sequence number

    def on_delivery(self, err, msg) -> None:
        seq = int(msg.value())
        if err is not None:
            self.failed[seq] = err.name()
            return
        self.acked[seq] = (msg.partition(), msg.offset(), time.monotonic())
        self.per_partition[msg.partition()] = self.per_partition.get(msg.partition(), 0) + 1

    def count(self, parts=None) -> int:
        if parts is None:
            return len(self.acked)
        return sum(self.per_partition.get(p, 0) for p in parts)


@dataclass
class Trial:
    """One trial's outcome; ``row()`` is its line in the DataFrame."""

    fault: str
    unsafe: bool
    topic: str
    sent: int = 0
    acked: int = 0
    failed: int = 0
    read: int = 0
    lost: int = 0
    duplicates: int = 0
    reordered: int = 0
    unacked_present: int = 0
    time_to_ack: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    victims: list[int] = field(default_factory=list)
    lost_sample: list[int] = field(default_factory=list)

    def row(self) -> dict:
        row = asdict(self)
        tta = row.pop("time_to_ack")
        row["next_ack_s"] = round(statistics.median(tta), 2) if tta else None
        row["faults"] = len(tta)
        return row


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


def run_trial(lab, fault: str = "kill", records: int = 2000, unsafe: bool = False,
              rate: int = RATE, rounds: int = 2, keep_topic: bool = False) -> Trial:
    """One chaos trial on the running lab: produce at least ``records`` while ``fault`` strikes."""
    faults.check_fault(fault)
    if records < 1:
        raise LabError(f"A trial needs at least 1 record, not {records}.", hint="use --records 2000.")
    t0 = time.monotonic()
    bootstrap = lab.bootstrap_servers
    clients.require_cluster(bootstrap)  # a cluster that is down is the learner's to start
    lab.heal()  # every trial starts from a healthy cluster
    name = f"labkit-chaos-{'unsafe' if unsafe else fault}-{uuid.uuid4().hex[:6]}"
    topic_config = ({"min.insync.replicas": 1, "unclean.leader.election.enable": "true"} if unsafe
                    else {"min.insync.replicas": 2, "unclean.leader.election.enable": "false"})
    lab.fresh_topic(name, PARTITIONS, 2 if unsafe else 3, topic_config)
    trial = Trial(fault="unsafe" if unsafe else fault, unsafe=unsafe, topic=name)
    acks = Acks()
    prod = clients.producer(bootstrap, UNSAFE_PRODUCER if unsafe else SAFE_PRODUCER,
                            on_delivery=acks.on_delivery)
    with clients.quiet_admin(bootstrap) as admin:
        schedule = faults.Schedule(lab.cluster, admin, name, fault, acks, rounds, unsafe)
        schedule.start()
        try:
            trial.sent = _produce(prod, name, records, rate, schedule, acks, t0)
        finally:
            schedule.stop_requested.set()
            schedule.join(config.TIMEOUTS.start_broker)
            prod.flush(SAFE_PRODUCER["message.timeout.ms"] / 1000 + 10)
            lab.heal()  # paused brokers resumed, stopped ones started: read from the whole cluster
        if schedule.error is not None:
            raise schedule.error
        got = read_back(bootstrap, name)
        if not keep_topic:
            admin.delete_topics([name], operation_timeout=10)
    trial.acked, trial.failed = len(acks.acked), len(acks.failed)
    for key, value in check(acks.acked, got).items():
        setattr(trial, key, value)
    trial.victims = [e.broker for e in schedule.events]
    trial.time_to_ack = [_next_ack(acks, e) for e in schedule.events if not e.kind.startswith("pause-f")]
    trial.time_to_ack = [t for t in trial.time_to_ack if t is not None]
    trial.wall_s = round(time.monotonic() - t0, 1)
    return trial


def _produce(prod, topic: str, records: int, rate: int, schedule, acks: Acks, t0: float) -> int:
    """Produce at ``rate`` until the schedule is done and ``records`` were sent; return the count."""
    seq = 0
    start = time.monotonic()
    while seq < records or not schedule.done.is_set():
        if time.monotonic() - t0 > TRIAL_TIMEOUT:
            raise LabError(f"The chaos trial did not finish within {TRIAL_TIMEOUT:.0f} s.",
                           hint="the machine may be overloaded; try fewer --records or trials.")
        if seq > (time.monotonic() - start) * rate:
            prod.poll(0.005)  # ahead of schedule: serve delivery reports meanwhile
            continue
        try:
            prod.produce(topic, str(seq).encode(), key=f"key-{seq % KEYS}".encode())
            acks.sent_at.append(time.monotonic())
            seq += 1
        except BufferError:  # local queue full while a leader is missing: let it drain
            prod.poll(0.05)
        prod.poll(0)
    return seq


def _next_ack(acks: Acks, event: faults.FaultEvent) -> float | None:
    """Seconds from a fault until a partition its victim led acknowledged a record sent after it.

    Records sent before the fault are left out: their acks may have been on the way already.
    """
    after = [t for seq, (part, _off, t) in acks.acked.items()
             if part in event.partitions and acks.sent_at[seq] > event.t]
    return round(min(after) - event.t, 3) if after else None


def run_trials(lab, fault: str = "kill", trials: int = 1, records: int = 2000, unsafe: bool = False,
               out=None, **kwargs):
    """``trials`` trials as a pandas DataFrame, one row each (notebook 06; ``labkit chaos``)."""
    import pandas as pd

    if trials < 1:
        raise LabError(f"Run at least 1 trial, not {trials}.", hint="use --trials 1 or more.")
    rows = []
    for i in range(1, trials + 1):
        row = {"trial": i, **run_trial(lab, fault, records, unsafe, **kwargs).row()}
        rows.append(row)
        if out is not None:
            print(table_line(row), file=out, flush=True)
    return pd.DataFrame(rows).set_index("trial")


COLUMNS = ("fault", "acked", "failed", "lost", "duplicates", "reordered", "unacked_present",
           "next_ack_s", "victims", "wall_s")


def _cell(column: str, value) -> str:
    width = max(len(column), 8)
    return f"{str(value):{width}}" if column in ("fault", "victims") else f"{str(value):>{width}}"


def table_header() -> str:
    return "trial  " + "  ".join(_cell(c, c) for c in COLUMNS)


def table_line(row: dict) -> str:
    return f"{row['trial']:>5}  " + "  ".join(_cell(c, row[c]) for c in COLUMNS)


def summary(df) -> str:
    """The one-line verdict: ``trials=N acked=A lost=L duplicates=D reordered=R``."""
    return (f"trials={len(df)} acked={int(df['acked'].sum())} lost={int(df['lost'].sum())} "
            f"duplicates={int(df['duplicates'].sum())} reordered={int(df['reordered'].sum())}")
