"""The cluster's state as pandas DataFrames, fresh from the cluster on every call (notebooks 02-05).

``lab.brokers()``, ``lab.partitions(topic)``, ``lab.groups()`` and ``lab.lag(group)`` ask the
brokers through confluent-kafka's ``AdminClient`` (metadata, ``list_offsets``,
``describe_consumer_groups``, ``list_consumer_group_offsets``) and put the answers in tables.
Requests are batched and resolved together; ``overview`` answers a dashboard refresh of a
100-partition topic and three groups in about one round trip (``tables`` shapes the answers).
A dead broker is shown as dead: the metadata says which brokers are registered, the cluster's
own process status says which are running.
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
from . import tables

WATERMARK_TIMEOUT = 3.0  # a partition whose leader just died answers within this, or shows NaN
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
        return self._watermarks_of(self._ask_watermarks(partitions))

    def _ask_watermarks(self, partitions: list[TopicPartition]) -> dict:
        """The two list_offsets requests (earliest, latest) for ``partitions``, sent, not awaited."""
        if not partitions:
            return {}
        return {spec: self.admin.list_offsets({TopicPartition(tp.topic, tp.partition): fn()
                                               for tp in partitions}, request_timeout=WATERMARK_TIMEOUT)
                for spec, fn in (("low", OffsetSpec.earliest), ("high", OffsetSpec.latest))}

    @staticmethod
    def _watermarks_of(futures: dict) -> dict[tuple[str, int], tuple]:
        found = {spec: {} for spec in futures}
        for spec, by_tp in futures.items():
            for tp, fut in by_tp.items():
                try:
                    found[spec][(tp.topic, tp.partition)] = fut.result(timeout=WATERMARK_TIMEOUT + 2).offset
                except Exception:  # leader gone or not elected yet: shown as unknown, not fatal
                    pass
        return {(tp.topic, tp.partition): (found["low"].get((tp.topic, tp.partition)),
                                           found["high"].get((tp.topic, tp.partition)))
                for tp in next(iter(futures.values()), {})}

    # ---- tables ---------------------------------------------------------------------------
    @_recycled_on_failure
    def brokers(self) -> pd.DataFrame:
        """One row per lab broker: id, host:port, state, alive, registered, controller, counts."""
        states = self.states()
        try:
            md = self.metadata()
        except LabError:  # every broker down: still show each one, as dead
            md = None
        return tables.broker_rows(states, md, self.cluster.port_base)

    def brokers_alive(self, md, states: dict | None = None) -> list[int]:
        """Ids of brokers that run and are registered: the ones that can lead a partition."""
        return [n for n, row in (self.states() if states is None else states).items()
                if row["state"] == "running" and n in md.brokers]

    def partitions(self, topic: str) -> pd.DataFrame:
        """One row per partition of ``topic``: leader, replicas, isr, health, watermarks."""
        return self.partitions_many([topic])

    @_recycled_on_failure
    def partitions_many(self, topics: list[str]) -> pd.DataFrame:
        """``partitions`` of several topics in one table (``lab.plot_partitions(*topics)``)."""
        md = self._metadata_of(topics)
        alive = set(self.brokers_alive(md))
        parts = tables.partition_list(md, topics)
        return tables.partition_rows(parts, alive, self.watermarks(
            [TopicPartition(t, p.id) for t, p in parts if p.leader in alive]))

    def _metadata_of(self, topics: list[str]):
        """Metadata that knows ``topics``: one created a moment ago may not have reached every broker."""
        def known():
            md = self.metadata()
            return md if all(t in md.topics and md.topics[t].error is None for t in topics) else None
        return until(known, 3) or self.metadata()

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
        return tables.group_rows(self.describe_groups(names) if names else {})

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
        """``lag`` for several groups in one batch of requests (the lag sampler's, notebook 05)."""
        if not groups:
            return tables.lag_rows({}, {})
        clients.require_cluster(self.cluster.bootstrap_servers)
        keys = self._group_keys(groups, self._ask_group_offsets(groups), strict)
        return tables.lag_rows(keys, self.watermarks(
            [TopicPartition(t, p) for t, p in {(k[1], k[2]) for k in keys}]))

    @_recycled_on_failure
    def overview(self, topic: str, groups: list[str] | None = None) -> tuple[pd.DataFrame, ...]:
        """``brokers()``, ``partitions(topic)`` and ``lag_many(groups, strict=False)`` in one go:
        what the live dashboard asks on every refresh (notebook 06).

        One look at the broker processes, one metadata request and one watermark request serve
        all three tables, and the groups' requests are in flight alongside, so a refresh costs
        about one round trip instead of a dozen (and the tables agree on every watermark).
        """
        groups = list(groups or [])
        states, md = self.states(), self._metadata_of([topic])
        alive, parts = set(self.brokers_alive(md, states)), tables.partition_list(md, [topic])
        offsets = self._ask_group_offsets(groups)
        asked = self._ask_watermarks([TopicPartition(t, p.id) for t, p in parts if p.leader in alive])
        keys = self._group_keys(groups, offsets, strict=False)
        marks = self._watermarks_of(asked)
        others = {(k[1], k[2]) for k in keys} - {(t, p.id) for t, p in parts}  # a group's other topics
        marks.update(self.watermarks([TopicPartition(t, p) for t, p in sorted(others)]))
        return (tables.broker_rows(states, md, self.cluster.port_base),
                tables.partition_rows(parts, alive, marks), tables.lag_rows(keys, marks))

    def _ask_group_offsets(self, groups: list[str]) -> dict:
        """Each group's committed offsets, requested (one request per group, all at once)."""
        return {g: self.admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(g)], request_timeout=config.TIMEOUTS.request)[g] for g in groups}

    def _group_keys(self, groups: list[str], offsets: dict, strict: bool) -> dict:
        """(group, topic, partition) -> [member, committed] for what each group owns or committed."""
        described = self.describe_groups(list(groups)) if groups else {}
        keys = {}
        for g in groups:
            for m in described[g].members:
                for tp in m.assignment.topic_partitions:
                    keys[(g, tp.topic, tp.partition)] = [m.client_id, None]
            for tp in clients.result(offsets[g], f"Reading group {g!r}'s offsets").topic_partitions:
                if tp.error is None:
                    keys.setdefault((g, tp.topic, tp.partition), ["", None])[1] = \
                        tp.offset if tp.offset >= 0 else None
            if strict and not any(k[0] == g for k in keys) and \
                    tables.state_name(described[g].state) in ("Dead", "Unknown"):
                raise LabError(f"There is no consumer group {g!r} (no members, no commits).",
                               hint="lab.groups() lists the groups; a group appears once a "
                                    "consumer with that group.id joins or commits.")
        return keys
