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


# A controller moving (a broker just killed) makes these answers "not yet", never "no".
TRANSIENT = ("_TIMED_OUT", "REQUEST_TIMED_OUT", "NOT_CONTROLLER", "_TRANSPORT", "_ALL_BROKERS_DOWN")
ATTEMPT = 5.0  # seconds one request may take before it is sent again on fresh metadata


def _transient(text: str) -> bool:
    return any(code in text for code in TRANSIENT)


def delete_topic(admin, name: str, timeout: float = 60.0) -> None:
    """Delete ``name`` if it exists and wait until the metadata no longer lists it.

    With a broker just killed, the KRaft controller may be moving: a request can then time out
    although the deletion goes through, or wait on a controller that is gone (seen on Docker,
    notebook 06). So it is sent again, after fresh metadata, until the topic has left the metadata.
    """
    def gone() -> bool:
        if not _exists(admin, name):
            return True
        try:
            admin.delete_topics([name], operation_timeout=ATTEMPT,
                                request_timeout=ATTEMPT)[name].result(timeout=ATTEMPT + 5)
        except KafkaException as exc:
            if "UNKNOWN_TOPIC" not in str(exc) and not _transient(str(exc)):
                raise LabError(f"Deleting topic {name!r} failed: {exc}", hint="is the cluster healthy? "
                               "`labkit status`.") from None
        return not _exists(admin, name)
    wait_for(f"topic {name!r} to be deleted and leave the metadata", gone, timeout, POLL,
             hint="a broker may be down; `labkit status` tells.", retry_on=(KafkaException,))


def fresh_topic(admin, name: str, partitions: int = 3, replication_factor: int = 3,
                config_: dict | None = None, timeout: float = 60.0) -> None:
    """(Re)create ``name`` empty, and return once every partition has a leader."""
    delete_topic(admin, name, timeout)
    new = NewTopic(name, num_partitions=partitions, replication_factor=replication_factor,
                   config={k: str(v) for k, v in (config_ or {}).items()})
    unanswered = []  # requests that timed out: one may have created the topic after all

    def created() -> bool:
        try:
            clients.result(admin.create_topics([new], operation_timeout=ATTEMPT,
                                               request_timeout=ATTEMPT)[name],
                           f"Creating topic {name!r}", ATTEMPT + 5)
            return True
        except LabError as exc:
            if "TOPIC_ALREADY_EXISTS" in exc.message:
                # ours, if an earlier request went unanswered; else the old one still lingers
                return bool(unanswered)
            if _transient(exc.message) or "got no answer" in exc.message:
                unanswered.append(exc)
                return False
            raise  # the learner's to fix: a bad setting, too few brokers, ...
    wait_for(f"topic {name!r} to be created", created, timeout, POLL,
             hint="a broker may be down; `labkit status` tells.")
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
