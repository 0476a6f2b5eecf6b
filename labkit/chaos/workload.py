"""Failover you can trust: write, break a leader, heal, read everything back, check (notebook 06).

A trial writes unique, sequence-numbered records (keys spread over every partition) with
``acks=all`` and idempotence to a replication-factor-3, ``min.insync.replicas=2`` topic while a
fault schedule (``faults``) kills, stops, pauses or bounces a partition leader. It records every
acknowledgement, heals the cluster, reads the topic back and lets ``checker`` compare; it also
measures, per fault, the seconds until a partition the victim led acknowledged again.

``unsafe=True`` is the negative control of the same fault: ``acks=1``, replication factor 2,
``min.insync.replicas=1``, unclean leader election allowed; the follower is isolated first, so the
leader acknowledges alone, then the same kill, stop, pause or bounce strikes the leader. It must
lose acknowledged records: it shows the checker can see a loss under that fault, and that
durability is a configuration, not a given.

The books close: every record sent is acknowledged, failed or still unresolved after the final
flush (``unresolved``, which must be 0); every acknowledgement is checked at its own offset.
"""
from __future__ import annotations

import statistics
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field

from .. import clients, config, topics
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
    unresolved: int = 0  # sent - acked - failed: no delivery report at all (must be 0)
    flush_left: int = 0  # what the final flush() said was still queued (must be 0)
    read: int = 0
    lost: int = 0
    misplaced: int = 0
    duplicates: int = 0
    reordered: int = 0
    hw_short: int = 0
    unacked_present: int = 0
    time_to_ack: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    victims: list[int] = field(default_factory=list)
    lost_sample: list[int] = field(default_factory=list)

    def row(self) -> dict:
        row = asdict(self)
        tta = row.pop("time_to_ack")
        row["next_ack_s"] = round(statistics.median(tta), 2) if tta else None
        row["next_ack_max_s"] = round(max(tta), 2) if tta else None
        row["faults"] = len(tta)
        return row

    @property
    def books_closed(self) -> bool:
        """Every record accounted for and every acknowledgement where it was acknowledged."""
        return self.unresolved == 0 and self.flush_left == 0 and self.acked + self.failed == self.sent


_previous: faults.Schedule | None = None  # the last trial's schedule, until it has ended


def run_trial(lab, fault: str = "kill", records: int = 2000, unsafe: bool = False,
              rate: int = RATE, rounds: int = 2, keep_topic: bool = False) -> Trial:
    """One chaos trial on the running lab: produce at least ``records`` while ``fault`` strikes."""
    faults.check_fault(fault)
    if records < 1:
        raise LabError(f"A trial needs at least 1 record, not {records}.", hint="use --records 2000.")
    _end_previous()
    t0 = time.monotonic()
    bootstrap = lab.bootstrap_servers
    clients.require_cluster(bootstrap)  # a cluster that is down is the learner's to start
    lab.heal()  # every trial starts from a healthy cluster
    name = f"labkit-chaos-{'unsafe-' if unsafe else ''}{fault}-{uuid.uuid4().hex[:6]}"
    topic_config = ({"min.insync.replicas": 1, "unclean.leader.election.enable": "true"} if unsafe
                    else {"min.insync.replicas": 2, "unclean.leader.election.enable": "false"})
    lab.fresh_topic(name, PARTITIONS, 2 if unsafe else 3, topic_config)
    trial = Trial(fault=f"unsafe-{fault}" if unsafe else fault, unsafe=unsafe, topic=name)
    acks = Acks()
    with clients.quiet_admin(bootstrap) as admin:
        try:
            got, high = _run(lab, admin, trial, acks, fault, records, rate, rounds, unsafe, t0)
        finally:
            if not keep_topic:
                _delete(admin, name)
    trial.acked, trial.failed = len(acks.acked), len(acks.failed)
    trial.unresolved = trial.sent - trial.acked - trial.failed
    for key, value in check(acks.acked, got, high).items():
        setattr(trial, key, value)
    events = list(_previous.events) if _previous is not None else []
    trial.victims = [e.broker for e in events]
    trial.time_to_ack = [_next_ack(acks, e) for e in events if not e.kind.startswith("pause-f")]
    trial.time_to_ack = [t for t in trial.time_to_ack if t is not None]
    trial.wall_s = round(time.monotonic() - t0, 1)
    return trial


def _run(lab, admin, trial: Trial, acks: Acks, fault: str, records: int, rate: int, rounds: int,
         unsafe: bool, t0: float):
    """Produce through the fault, close the producer's books, heal, read back."""
    global _previous
    prod = clients.producer(lab.bootstrap_servers, UNSAFE_PRODUCER if unsafe else SAFE_PRODUCER,
                            on_delivery=acks.on_delivery)
    schedule = _previous = faults.Schedule(lab.cluster, admin, trial.topic, fault, acks, rounds, unsafe)
    schedule.start()
    try:
        trial.sent = _produce(prod, trial.topic, records, rate, schedule, acks, t0)
    finally:
        schedule.stop_requested.set()
        schedule.join(config.TIMEOUTS.start_broker)
        try:  # error_cb may raise from inside flush(): the heal below runs all the same
            trial.flush_left = prod.flush(SAFE_PRODUCER["message.timeout.ms"] / 1000 + 10)
        finally:
            clients.close(prod)
            lab.heal()  # paused brokers resumed, stopped ones started: read from the whole cluster
    if schedule.error is not None:
        raise schedule.error
    return read_back(lab.bootstrap_servers, trial.topic, with_high=True)


def _end_previous() -> None:
    """A schedule still inside a broker action after its join is waited for, bounded, or refused."""
    if _previous is not None and _previous.is_alive():
        _previous.stop_requested.set()
        _previous.join(config.TIMEOUTS.start_broker + config.TIMEOUTS.stop_broker)
        if _previous.is_alive():
            raise LabError("The last chaos trial's fault schedule is still acting on the cluster.",
                           hint="wait a minute and run the trial again; `labkit status` shows the brokers.")


def _delete(admin, name: str) -> None:
    """Delete the chaos topic and wait until it is gone, even after a failed trial."""
    try:
        topics.delete_topic(admin, name)
    except LabError as exc:  # never hide the trial's own error behind the clean-up's
        print(f"labkit: could not delete chaos topic {name!r}: {exc.message}", file=sys.stderr)


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
