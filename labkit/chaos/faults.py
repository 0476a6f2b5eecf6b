"""Fault schedules for the chaos trials: kill, stop, pause or bounce a partition leader (notebook 06).

A schedule runs in its own thread while ``labkit.chaos`` keeps producing. It picks its victim
from the live metadata (the leader of partition 0 at that moment), records when it struck and
which partitions the victim led, and waits on real conditions (a new leader, a full ISR, fresh
acknowledgements), each wait bounded. ``unsafe`` is each mode's negative control: it isolates
the leader (pauses its follower until the leader alone is in sync), then strikes the leader with
that mode's own fault, so that only an out-of-date replica is left to take over.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from confluent_kafka import ElectionType, TopicPartition

from .. import config
from ..errors import LabError
from ..wait import wait_for

FAULTS = ("kill", "stop", "pause", "bounce")
POLL = 0.2
WAIT = 30.0  # seconds any one condition may take before the schedule gives up


@dataclass
class FaultEvent:
    """One fault: what was done to which broker, when (time.monotonic), and what it led."""

    kind: str
    broker: int
    t: float
    partitions: list[int] = field(default_factory=list)


def check_fault(fault: str) -> str:
    if fault not in FAULTS:
        raise LabError(f"Unknown fault {fault!r}.", hint=f"use one of: {', '.join(FAULTS)}.")
    return fault


def partitions(admin, topic: str) -> dict:
    """Partition id -> metadata (leader, replicas, isrs) as the cluster reports it now."""
    try:
        md = admin.list_topics(topic, timeout=2).topics.get(topic)
    except Exception:  # a paused or dead bootstrap broker: the caller polls again
        return {}
    return dict(md.partitions) if md is not None and md.error is None else {}


def led_by(admin, topic: str, broker: int) -> list[int]:
    return sorted(p for p, m in partitions(admin, topic).items() if m.leader == broker)


class Schedule(threading.Thread):
    """Apply one fault mode to ``cluster`` while a producer writes ``topic``; see ``events``.

    ``acks`` is the workload's recorder (``count(partitions)``): the schedule waits for fresh
    acknowledgements before and after each fault, so every fault lands in live traffic.
    """

    def __init__(self, cluster, admin, topic: str, fault: str, acks, rounds: int = 2,
                 unsafe: bool = False):
        super().__init__(name=f"labkit-fault-{fault}", daemon=True)
        self.cluster, self.admin, self.topic, self.acks = cluster, admin, topic, acks
        self.fault, self.rounds, self.unsafe = check_fault(fault), rounds, unsafe
        self.events: list[FaultEvent] = []
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.stop_requested = threading.Event()

    # ---- waits on real conditions -------------------------------------------------------
    def _until(self, what: str, cond, timeout: float = WAIT):
        def met():
            if self.stop_requested.is_set():
                raise LabError("Chaos trial stopped.", hint="the producer ended the trial early.")
            return cond()
        return wait_for(f"{what} (chaos trial)", met, timeout, POLL,
                        hint="the cluster may be overloaded or unhealthy; `labkit status` tells, "
                             "`labkit up` heals it.")

    def _fresh_acks(self, n: int, parts=None, timeout: float = WAIT) -> None:
        start = self.acks.count(parts)
        self._until(f"{n} new acknowledgements", lambda: self.acks.count(parts) >= start + n, timeout)

    def _leader(self, partition: int = 0) -> int:
        def lead():
            meta = partitions(self.admin, self.topic).get(partition)
            return meta.leader if meta is not None and meta.leader > 0 else None
        return self._until(f"leader for partition {partition}", lead)

    def _moved_away(self, broker: int, parts: list[int]) -> None:
        """Wait until none of ``parts`` is led by ``broker`` any more (a new leader took over)."""
        def moved():
            md = partitions(self.admin, self.topic)
            return md and all(md[p].leader >= 0 and md[p].leader != broker for p in parts if p in md)
        self._until(f"new leader replacing broker {broker}", moved)

    def _full_isr(self) -> None:
        def full():
            md = partitions(self.admin, self.topic)
            return md and all(len(m.isrs) == len(m.replicas) and m.leader >= 0 for m in md.values())
        self._until("full in-sync replica set", full, config.TIMEOUTS.start_broker)

    def _strike(self, kind: str, broker: int, action) -> None:
        if self.stop_requested.is_set():  # the trial ended: touch no broker any more
            raise LabError("Chaos trial stopped.", hint="the producer ended the trial early.")
        parts = led_by(self.admin, self.topic, broker) or [0]
        self.events.append(FaultEvent(kind, broker, time.monotonic(), parts))
        action(broker)

    # ---- the modes ----------------------------------------------------------------------
    def run(self) -> None:
        try:
            self._fresh_acks(200)  # the producer is in full flow before anything breaks
            getattr(self, f"_do_{'unsafe' if self.unsafe else self.fault}")()
            self._fresh_acks(200)  # and flows again afterwards
        except BaseException as exc:  # reported by the workload, not lost in a thread
            self.error = exc
        finally:
            self.done.set()

    def _do_kill(self) -> None:
        victim = self._leader()
        self._strike("kill", victim, self.cluster.kill)
        self._moved_away(victim, self.events[-1].partitions)

    def _do_stop(self) -> None:
        victim = self._leader()
        self._strike("stop", victim, self.cluster.stop)
        self._moved_away(victim, self.events[-1].partitions)

    def _do_pause(self) -> None:
        victim = self._leader()
        self._strike("pause", victim, self.cluster.pause)
        try:  # paused until the cluster fences it and hands its partitions on
            self._moved_away(victim, self.events[-1].partitions)
            self._fresh_acks(100, self.events[-1].partitions)
        finally:
            self.cluster.resume(victim)

    def _do_bounce(self) -> None:
        for _ in range(self.rounds):
            self._full_isr()
            victim = self._leader()
            self._strike("bounce", victim, self.cluster.kill)
            self._moved_away(victim, self.events[-1].partitions)
            self._fresh_acks(100, self.events[-1].partitions)
            self.cluster.start(victim, out=_Null())

    def _do_unsafe(self) -> None:
        """Isolate partition 0's leader (follower paused), let it acknowledge alone, then strike it
        with this mode's fault; the stale follower takes over (unclean election allowed)."""
        md = self._until("metadata", lambda: partitions(self.admin, self.topic).get(0))
        leader = md.leader
        follower = next(r for r in md.replicas if r != leader)
        strike = {"kill": self.cluster.kill, "bounce": self.cluster.kill, "stop": self.cluster.stop,
                  "pause": self.cluster.pause}[self.fault]
        self._strike("pause-follower", follower, self.cluster.pause)
        try:
            self._until("follower dropped from the ISR",
                        lambda: (partitions(self.admin, self.topic).get(0) or _NoLeader).isrs == [leader])
            self._fresh_acks(300, [0])  # acknowledged by the leader alone (acks=1)
            self._strike(f"{self.fault}-leader", leader, strike)
        finally:
            self.cluster.resume(follower)
        # unclean.leader.election.enable=true: the stale follower may now lead partition 0. The
        # controller does that on its own; asking for it explicitly makes the control quicker.
        def stale_leads():
            return (partitions(self.admin, self.topic).get(0) or _NoLeader).leader == follower
        try:
            try:
                self._until("unclean election of the stale follower", stale_leads, 10)
            except LabError:
                self.admin.elect_leaders(ElectionType.UNCLEAN, [TopicPartition(self.topic, 0)])
                self._until("unclean election of the stale follower", stale_leads)
            self._fresh_acks(100, [0])  # the stale follower acknowledges as leader
        finally:
            if self.fault == "pause":
                self.cluster.resume(leader)  # it rejoins and truncates to the new leader's log
            elif self.fault == "bounce":
                self.cluster.start(leader, out=_Null())


class _NoLeader:
    leader = -1
    isrs: list[int] = []


class _Null:
    def write(self, _text: str) -> None:
        pass

    def flush(self) -> None:
        pass
