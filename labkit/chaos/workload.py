"""Failover you can trust: write, break a leader, heal, read everything back, check (notebook 06).

A trial writes unique, sequence-numbered records (keys spread over every partition) with
``acks=all`` and idempotence to a replication-factor-3, ``min.insync.replicas=2`` topic while a
fault schedule (``faults``) kills, stops, pauses or bounces a partition leader. It records every
acknowledgement, heals the cluster, reads the topic back and lets ``checker`` compare; it also
measures, per fault, the seconds until a partition the victim led acknowledged again.

``unsafe=True`` is the negative control: ``acks=1``, replication factor 2, ``min.insync.replicas=1``,
unclean leader election allowed; a follower is paused, then the leader killed. It shows that
durability is a configuration, not a given.
"""
from __future__ import annotations

import statistics
import time
import uuid
from dataclasses import asdict, dataclass, field

from .. import clients, config
from ..errors import LabError
from . import faults
from .checker import PARTITIONS, check, read_back
from .report import table_line

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
