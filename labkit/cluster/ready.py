"""Waiting for a cluster to be really ready, and asking it who leads the quorum (notebook 00).

Ready means what a learner needs: every broker's port answers, every broker is registered in
the cluster metadata, and a probe partition with replication factor 3 has a leader and a full
ISR. Each stage polls a real condition and races it against the broker process exiting; a broker
that dies during start-up ends the wait at once with its last log lines.
"""
from __future__ import annotations

import time

from confluent_kafka import KafkaException
from confluent_kafka.admin import NewTopic

from .. import clients, config
from ..errors import LabError
from ..wait import wait_for
from . import procs

PROBE_TOPIC = "labkit-probe"
POLL = 0.1  # a start-up is seconds long: a tight poll is most of what is left to win


class _Deadline:
    """One time budget for all stages of a start-up, raced against the started brokers' exits."""

    def __init__(self, cluster, started: dict[int, int], timeout: float):
        self.cluster, self.started, self.timeout = cluster, started, timeout
        self.end = time.monotonic() + timeout

    def _died(self, waiting_for: str) -> None:
        for node, pid in self.started.items():
            if not procs.alive(pid):
                raise LabError(f"Broker {node} exited during start-up (while waiting for {waiting_for}).",
                               hint=f"read its log with `labkit logs {node}`; `labkit down --wipe` "
                                    "starts afresh if its data is damaged.",
                               log_tail=self.cluster.log_tail(node, 15))

    def until(self, waiting_for: str, condition) -> None:
        """Wait for ``condition`` within what is left of the budget; a dead broker ends it at once."""
        def ready():
            self._died(waiting_for)
            return condition()
        node = next(iter(self.started), config.NODES[0])
        wait_for(f"the cluster to be ready (still waiting for {waiting_for})", ready,
                 max(0.0, self.end - time.monotonic()), POLL, retry_on=(KafkaException,),
                 hint="a slow machine may need more time: `labkit up` again continues; "
                      "`labkit logs N` shows what a broker is doing.",
                 on_timeout=lambda: self.cluster.log_tail(node, 10))


def wait_cluster(cluster, started: dict[int, int], out, timeout: float, probe: bool = True) -> None:
    """Block until the started brokers (and the whole cluster, with ``probe``) are ready."""
    t0 = time.monotonic()
    deadline = _Deadline(cluster, started, timeout)
    for node in started:
        port = config.client_port(node, cluster.port_base)
        deadline.until(f"broker {node} to listen on port {port}", lambda: procs.port_answers(port))
        out.write(f"  broker {node} listens on {port} ({time.monotonic() - t0:.1f} s)\n")
    want = set(config.NODES) if probe else set(started)
    with clients.quiet_admin(cluster.bootstrap_servers) as admin:
        deadline.until(f"broker(s) {sorted(want)} to register", lambda: want <= registered(admin))
        out.write(f"  brokers {sorted(want)} registered ({time.monotonic() - t0:.1f} s)\n")
        if probe:
            deadline.until(f"the probe partition to have a leader and {len(config.NODES)} in-sync replicas",
                           lambda: _probe_created(admin, out) and _probe_in_sync(admin))
    out.write(f"Ready in {time.monotonic() - t0:.1f} s: {cluster.bootstrap_servers}\n")


def _probe_created(admin, out) -> bool:
    """Create the probe topic (again, if an attempt failed); True once it exists."""
    if PROBE_TOPIC in admin.list_topics(timeout=2).topics:
        return True
    futures = admin.create_topics([NewTopic(PROBE_TOPIC, 1, len(config.NODES))],
                                  request_timeout=config.TIMEOUTS.request)
    try:
        futures[PROBE_TOPIC].result(timeout=config.TIMEOUTS.request + 5)
    except Exception as exc:  # TOPIC_ALREADY_EXISTS is fine; anything else: asked again next round
        if "TOPIC_ALREADY_EXISTS" not in str(exc):
            out.write(f"  probe topic: {exc}; retrying\n")
            return False
    return True


def registered(admin) -> set[int]:
    """Ids of the brokers the cluster metadata lists now (registered and not fenced)."""
    try:
        return set(admin.list_topics(timeout=2).brokers)
    except Exception:  # not answering yet is what we are waiting through
        return set()


def _probe_in_sync(admin) -> bool:
    try:
        topic = admin.list_topics(PROBE_TOPIC, timeout=2).topics[PROBE_TOPIC]
        part = topic.partitions.get(0)
        return topic.error is None and part is not None and part.leader >= 0 \
            and len(part.isrs) == len(config.NODES)
    except Exception:
        return False


def leader_from_states(states: list[dict]) -> int | None:
    """The quorum leader among KRaft ``quorum-state`` documents: the highest epoch's leaderId."""
    best = (-1, None)
    for state in states:
        epoch, leader = state.get("leaderEpoch", -1), state.get("leaderId", -1)
        if leader is not None and leader >= 0 and epoch > best[0]:
            best = (epoch, leader)
    return best[1]
