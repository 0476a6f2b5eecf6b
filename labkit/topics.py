"""Creating fresh topics for a lesson, so every notebook re-runs cleanly (notebook 00 onwards).

``fresh_topic`` deletes a topic left by an earlier run and creates it anew, waiting on the
cluster metadata (not on a timer) until the new topic has a leader for every partition.
"""
from __future__ import annotations

from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import NewTopic, OffsetSpec

from . import clients, config
from .errors import LabError
from .wait import wait_for

POLL = 0.2


def _exists(admin, name: str) -> bool:
    md = admin.list_topics(timeout=config.TIMEOUTS.request)
    return name in md.topics


def delete_topic(admin, name: str, timeout: float = 30.0) -> None:
    """Delete ``name`` if it exists and wait until the metadata no longer lists it."""
    if not _exists(admin, name):
        return
    try:
        admin.delete_topics([name], operation_timeout=timeout)[name].result(timeout=timeout)
    except KafkaException as exc:
        if "UNKNOWN_TOPIC" not in str(exc):
            raise LabError(f"Deleting topic {name!r} failed: {exc}", hint="is the cluster healthy? "
                           "`labkit status`.") from None
    wait_for(f"topic {name!r} to leave the metadata after its deletion", lambda: not _exists(admin, name),
             timeout, POLL, hint="a broker may be down; `labkit status` tells.")


def fresh_topic(admin, name: str, partitions: int = 3, replication_factor: int = 3,
                config_: dict | None = None, timeout: float = 30.0) -> None:
    """(Re)create ``name`` empty, and return once every partition has a leader."""
    delete_topic(admin, name, timeout)
    new = NewTopic(name, num_partitions=partitions, replication_factor=replication_factor,
                   config={k: str(v) for k, v in (config_ or {}).items()})
    def created() -> bool:
        try:
            clients.result(admin.create_topics([new], operation_timeout=timeout)[name],
                           f"Creating topic {name!r}", timeout + 5)
            return True
        except LabError as exc:
            # a topic just deleted can linger for a moment; anything else is the learner's to fix
            if "TOPIC_ALREADY_EXISTS" not in exc.message:
                raise
            return False
    wait_for(f"topic {name!r} to be created (an earlier one of that name still lingered)", created,
             timeout, POLL, hint="a broker may be down; `labkit status` tells.")
    wait_leaders(admin, name, partitions, timeout)


def wait_leaders(admin, name: str, partitions: int, timeout: float) -> None:
    """Wait until ``name`` has ``partitions`` partitions and each leader answers for its partition.

    The metadata comes from one broker; the leader itself may not have taken up the partition
    yet (a consumer asking it then hears NOT_LEADER_FOR_PARTITION). Asking every leader for its
    end offset is the real condition: producers and consumers work once it holds.
    """
    def led() -> bool:
        topic = admin.list_topics(name, timeout=config.TIMEOUTS.request).topics.get(name)
        return topic is not None and topic.error is None and len(topic.partitions) == partitions \
            and all(p.leader >= 0 for p in topic.partitions.values()) \
            and _leaders_answer(admin, name, partitions)
    wait_for(f"topic {name!r} to have an answering leader for every partition", led, timeout, POLL,
             hint="are enough brokers running? `labkit status` tells.")


def _leaders_answer(admin, name: str, partitions: int) -> bool:
    """True when every partition's leader tells its end offset (list_offsets goes to the leader)."""
    asked = admin.list_offsets({TopicPartition(name, p): OffsetSpec.latest() for p in range(partitions)},
                               request_timeout=2)  # short: the caller asks again until its deadline
    try:
        for future in asked.values():
            future.result(timeout=4)
    except Exception:  # NOT_LEADER_FOR_PARTITION, UNKNOWN_TOPIC_OR_PART, a timeout: not yet
        return False
    return True
