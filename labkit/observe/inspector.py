"""The cluster's state as pandas DataFrames, fresh from the cluster on every call (notebooks 02-05).

``lab.brokers()``, ``lab.partitions(topic)``, ``lab.groups()`` and ``lab.lag(group)`` ask the
brokers through confluent-kafka's ``AdminClient`` (metadata, ``list_offsets``,
``describe_consumer_groups``, ``list_consumer_group_offsets``) and put the answers in tables.
Requests are batched and resolved together, so one refresh of a 100-partition topic and three
groups takes a few round trips, not hundreds. A dead broker is shown as dead: the metadata says
which brokers are registered, the cluster's own process status says which are running.
"""
from __future__ import annotations

import functools
import threading

import pandas as pd
from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import OffsetSpec

from .. import clients, config
from ..errors import LabError
from ..wait import until

NO_OFFSET = -1001  # librdkafka's OFFSET_INVALID: the group never committed this partition
WATERMARK_TIMEOUT = 3.0  # a partition whose leader just died answers within this, or shows NaN
# kafka-consumer-groups spells group states like this; confluent-kafka's enum names differ
_STATE_NAMES = {"PREPARING_REBALANCING": "PreparingRebalance",
                "COMPLETING_REBALANCING": "CompletingRebalance"}


# Retriable answers while a group's coordinator moves to another broker.
COORDINATOR_MOVING = ("NOT_COORDINATOR", "COORDINATOR_LOAD_IN_PROGRESS", "COORDINATOR_NOT_AVAILABLE")


def _recycled_on_failure(method):
    """An unanswered request is retried once on a fresh admin client: after a broker was
    killed and restarted, a long-lived librdkafka admin client can stop answering for good."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except LabError as exc:
            if "got no answer" not in exc.message and "did not answer" not in exc.message:
                raise
            self.close()
            return method(self, *args, **kwargs)
    return wrapper


def _state_name(state) -> str:
    name = getattr(state, "name", str(state))
    return _STATE_NAMES.get(name, name.title())


class Inspector:
    """Asks one cluster about its brokers, partitions and groups; keeps one admin client."""

    def __init__(self, cluster):
        self.cluster = cluster
        self._admin = None
        self._lock = threading.Lock()  # the sampler and the dashboard share this object

    @property
    def admin(self):
        with self._lock:
            if self._admin is None:  # kept for the session: quiet_admin would close it on exit
                self._admin = clients.quiet_admin_client(self.cluster.bootstrap_servers)
            return self._admin

    def close(self) -> None:
        """Drop the admin client now (librdkafka shuts it down before the interpreter does)."""
        with self._lock:
            if self._admin is not None:
                clients.close(self._admin)
            self._admin = None

    # ---- raw answers ----------------------------------------------------------------------
    def metadata(self):
        """Cluster metadata (brokers, topics, leaders, ISR); a LabError if nobody answers."""
        clients.require_cluster(self.cluster.bootstrap_servers)
        try:
            # always all topics: a metadata request naming a missing topic makes the broker
            # auto-create it (auto.create.topics.enable), so looking would change what we look at
            return self.admin.list_topics(timeout=config.TIMEOUTS.request)
        except KafkaException as exc:
            raise LabError(f"The cluster did not answer a metadata request: {exc.args[0]}",
                           hint="are the brokers up? `labkit status` tells.") from None

    def states(self) -> dict[int, dict]:
        """Each broker's process status (running/paused/stopped) from the cluster itself."""
        return {row["broker"]: row for row in self.cluster.status()}

    def watermarks(self, partitions: list[TopicPartition]) -> dict[tuple[str, int], tuple]:
        """(low, high) per (topic, partition), asked in two batched requests; None if unanswered."""
        if not partitions:
            return {}
        futures = {spec: self.admin.list_offsets({TopicPartition(tp.topic, tp.partition): fn()
                                                  for tp in partitions},
                                                 request_timeout=WATERMARK_TIMEOUT)
                   for spec, fn in (("low", OffsetSpec.earliest), ("high", OffsetSpec.latest))}
        found = {spec: {} for spec in futures}
        for spec, by_tp in futures.items():
            for tp, fut in by_tp.items():
                try:
                    found[spec][(tp.topic, tp.partition)] = fut.result(timeout=WATERMARK_TIMEOUT + 2).offset
                except Exception:  # leader gone or not elected yet: shown as unknown, not fatal
                    pass
        return {key: (found["low"].get(key), found["high"].get(key))
                for key in ((tp.topic, tp.partition) for tp in partitions)}

    # ---- tables ---------------------------------------------------------------------------
    @_recycled_on_failure
    def brokers(self) -> pd.DataFrame:
        """One row per lab broker: id, host:port, state, alive, registered, controller, counts."""
        states = self.states()
        try:
            md = self.metadata()
            registered, topics = md.brokers, md.topics.values()
        except LabError:  # every broker down: still show each one, as dead
            registered, topics = {}, []
        leaders = {n: 0 for n in config.NODES}
        hosted = {n: 0 for n in config.NODES}
        for topic in topics:
            for part in topic.partitions.values():
                if part.leader in leaders:
                    leaders[part.leader] += 1
                for replica in part.replicas:
                    hosted[replica] = hosted.get(replica, 0) + 1
        rows = []
        for n in config.NODES:
            state = states.get(n, {}).get("state", "unknown")
            rows.append({"id": n, "host:port": f"{config.HOST}:{config.client_port(n, self.cluster.port_base)}",
                         "state": state, "alive": state == "running" and n in registered,
                         "registered": n in registered,
                         "is_controller": bool(states.get(n, {}).get("controller")),
                         "leaders": leaders[n], "partitions": hosted.get(n, 0)})
        return pd.DataFrame(rows)

    def brokers_alive(self, md) -> list[int]:
        """Ids of brokers that run and are registered: the ones that can lead a partition."""
        return [n for n, row in self.states().items() if row["state"] == "running" and n in md.brokers]

    def partitions(self, topic: str) -> pd.DataFrame:
        """One row per partition of ``topic``: leader, replicas, isr, health, watermarks."""
        return self.partitions_many([topic])

    @_recycled_on_failure
    def partitions_many(self, topics: list[str]) -> pd.DataFrame:
        def known():  # a topic created a moment ago may not have reached every broker
            md = self.metadata()
            return md if all(t in md.topics and md.topics[t].error is None for t in topics) else None
        md = until(known, 3) or self.metadata()
        alive = set(self.brokers_alive(md))
        parts = []
        for name in topics:
            meta = md.topics.get(name)
            if meta is None or meta.error is not None:
                raise LabError(f"There is no topic {name!r} on the cluster.",
                               hint="lab.admin().list_topics().topics lists them; "
                                    "lab.fresh_topic(name) creates one.")
            parts += [(name, p) for _, p in sorted(meta.partitions.items())]
        live = [TopicPartition(t, p.id) for t, p in parts if p.leader in alive]
        marks = self.watermarks(live)
        rows = []
        for name, p in parts:
            low, high = marks.get((name, p.id), (None, None))
            rows.append({"topic": name, "partition": p.id, "leader": p.leader,
                         "replicas": list(p.replicas), "isr": list(p.isrs),
                         "under_replicated": len(p.isrs) < len(p.replicas),
                         "offline": p.leader not in alive, "low": low, "high": high})
        df = pd.DataFrame(rows, columns=["topic", "partition", "leader", "replicas", "isr",
                                         "under_replicated", "offline", "low", "high"])
        df[["low", "high"]] = df[["low", "high"]].astype("Int64")
        return df

    def describe_groups(self, groups: list[str]) -> dict:
        """Each group's description. A group whose coordinator is moving (a broker restarted a
        moment ago) answers NOT_COORDINATOR or the like: it alone is asked again, for up to 15 s."""
        found, moving = {}, {}

        def ask() -> bool:
            todo = [g for g in groups if g not in found]
            futures = self.admin.describe_consumer_groups(todo, request_timeout=config.TIMEOUTS.request)
            moving.clear()
            for g, f in futures.items():
                try:
                    found[g] = clients.result(f, f"Describing consumer group {g!r}")
                except LabError as exc:
                    if not any(code in exc.message for code in COORDINATOR_MOVING):
                        raise
                    moving[g] = exc
            return not moving
        if not until(ask, 15, 0.5):
            raise next(iter(moving.values()))
        return {g: found[g] for g in groups}

    @_recycled_on_failure
    def groups(self) -> pd.DataFrame:
        """One row per consumer group: state, type, members, assignor, coordinator (notebook 05).

        ``type`` is the group's protocol: ``classic`` (members assign partitions themselves) or
        ``consumer`` (KIP-848: the broker assigns). Share groups (KIP-932) are not consumer groups
        and are not listed; Kafka's ``kafka-share-groups`` tool lists them.
        """
        clients.require_cluster(self.cluster.bootstrap_servers)
        listing = clients.result(self.admin.list_consumer_groups(request_timeout=config.TIMEOUTS.request),
                                 "Listing consumer groups")
        names = sorted(g.group_id for g in listing.valid)
        rows = []
        for name, d in (self.describe_groups(names) if names else {}).items():
            rows.append({"group": name, "state": _state_name(d.state),
                         "type": getattr(getattr(d, "type", None), "name", "").lower(),
                         "members": len(d.members), "assignor": d.partition_assignor or "",
                         "coordinator": d.coordinator.id if d.coordinator else None})
        return pd.DataFrame(rows, columns=["group", "state", "type", "members", "assignor", "coordinator"])

    def lag(self, group: str) -> pd.DataFrame:
        """Per partition: owner (client id), committed, end, lag (notebooks 04 and 05).

        Like ``kafka-consumer-groups --describe``, the table lists only the partitions the group
        has committed or a member owns: a partition it never touched is not a row, however many
        records wait there. lag = end - committed; a partition owned but never committed counts
        from the low watermark (end - low), where the tool prints "-".
        """
        return self.lag_many([group])

    @_recycled_on_failure
    def lag_many(self, groups: list[str], strict: bool = True) -> pd.DataFrame:
        """``lag`` for several groups in one batch of requests (the dashboard's refresh)."""
        columns = ["group", "topic", "partition", "member", "committed", "low", "end", "lag"]
        if not groups:
            return pd.DataFrame(columns=columns)
        clients.require_cluster(self.cluster.bootstrap_servers)
        offsets = {g: self.admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(g)], request_timeout=config.TIMEOUTS.request)[g]
            for g in groups}
        described = self.describe_groups(list(groups))
        keys = {}  # (group, topic, partition) -> [member, committed]
        for g in groups:
            for m in described[g].members:
                for tp in m.assignment.topic_partitions:
                    keys[(g, tp.topic, tp.partition)] = [m.client_id, None]
            for tp in clients.result(offsets[g], f"Reading group {g!r}'s offsets").topic_partitions:
                if tp.error is None:
                    keys.setdefault((g, tp.topic, tp.partition), ["", None])[1] = \
                        tp.offset if tp.offset >= 0 else None
            if strict and not any(k[0] == g for k in keys) and \
                    _state_name(described[g].state) in ("Dead", "Unknown"):
                raise LabError(f"There is no consumer group {g!r} (no members, no commits).",
                               hint="lab.groups() lists the groups; a group appears once a "
                                    "consumer with that group.id joins or commits.")
        marks = self.watermarks([TopicPartition(t, p) for t, p in {(k[1], k[2]) for k in keys}])
        rows = []
        for (g, topic, part), (member, committed) in sorted(keys.items()):
            low, high = marks.get((topic, part), (None, None))
            start = committed if committed is not None else low
            rows.append({"group": g, "topic": topic, "partition": part, "member": member,
                         "committed": committed, "low": low, "end": high,
                         "lag": None if high is None or start is None else high - start})
        df = pd.DataFrame(rows, columns=columns)
        df[["committed", "low", "end", "lag"]] = df[["committed", "low", "end", "lag"]].astype("Int64")
        return df
