"""How an exercise check speaks, and what it reads (every notebook's exercise, from 00 on).

Each check looks at the learner's answer, and at the live cluster where the answer lives there,
prints ONE short verdict line and returns True or False:

    ✔ correct: ...        the answer does what the exercise asks
    ✘ not yet: ...        what is wrong, in plain words, and what to try

A check never raises: a missing topic, a stopped cluster or a typo in the answer is a verdict too.
"""
from __future__ import annotations

import functools
import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import ConfigResource

from .. import clients, config
from ..errors import LabError
from ..wait import until


class Wrong(Exception):
    """Raised inside a check to say what is wrong with the answer."""


def _verdict(check):
    """Turn a check that returns a success text (or raises Wrong) into a printed verdict."""
    @functools.wraps(check)
    def run(*args, **kwargs) -> bool:
        try:
            line, ok = f"✔ correct: {check(*args, **kwargs)}", True
        except Wrong as exc:
            line, ok = f"✘ not yet: {exc}", False
        except LabError as exc:
            line, ok = (f"✘ not yet: {exc.message} ({exc.hint})" if exc.hint else f"✘ not yet: {exc.message}"), False
        except Exception as exc:  # the learner sees a sentence, never a traceback
            line, ok = f"✘ could not check: {type(exc).__name__}: {exc}", False
        print(line)
        _share(args[0] if args else kwargs.get("lab"), check, ok, line)
        return ok
    return run


def _share(lab, check, ok: bool, line: str) -> None:
    """The instructor's progress board (issue 20): class mode only, bounded, never fails the check."""
    if lab is None or not hasattr(lab, "cluster"):
        return
    try:
        from ..classroom import progress
        progress.publish(lab, check, ok, line)
    except Exception:  # sharing is a bonus; progress.publish already says once when it fails
        pass


# ---- reading what is in the cluster ---------------------------------------------------------
def _topic(lab, topic: str, wait: float = 5.0):
    """The metadata of ``topic``; a topic created a moment ago gets ``wait`` seconds to show up."""
    admin = lab.admin()

    def listed():
        md = admin.list_topics(timeout=config.TIMEOUTS.request)
        return md if topic in md.topics and md.topics[topic].error is None else None
    md = until(listed, wait)
    if md is None:
        md = admin.list_topics(timeout=config.TIMEOUTS.request)
        raise Wrong(f"there is no topic {topic!r} (topics here: {', '.join(sorted(t for t in md.topics if not t.startswith('_')))}).")
    return md.topics[topic]


def read_all(lab, topic: str, timeout: float = 15.0) -> list[dict]:
    """Every record of ``topic`` right now, partition by partition in offset order.

    Reads by assignment (no consumer group, nothing committed) up to the end offsets it sees at
    the start, so it ends on its own; used by checks and by notebooks 02 and 07.
    """
    parts = sorted(_topic(lab, topic).partitions)
    consumer = Consumer(clients.merge("consumer", lab.bootstrap_servers, {
        "group.id": f"labkit-check-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False}, {}))
    try:
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
                for p in parts}
        todo = {p for p, (low, high) in ends.items() if high > low}
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in todo])
        records: list[dict] = []
        deadline = time.monotonic() + timeout
        while todo and time.monotonic() < deadline:  # bounded: every partition has a known end
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            records.append({"partition": msg.partition(), "offset": msg.offset(),
                            "key": _text(msg.key()), "value": _text(msg.value())})
            if msg.offset() >= ends[msg.partition()][1] - 1:
                todo.discard(msg.partition())
        if todo:
            raise Wrong(f"could not read all of {topic!r} within {timeout:.0f} s (partitions {sorted(todo)}).")
        return sorted(records, key=lambda r: (r["partition"], r["offset"]))
    finally:
        consumer.close()


def _text(raw):
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def _topic_configs(lab, topic: str) -> dict[str, str]:
    admin = lab.admin()  # held until the answer is in: a dropped client cancels its requests
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)

    def ask(quiet: bool = True):
        try:
            entries = clients.result(admin.describe_configs([res])[res], f"Describing {topic!r}")
        except LabError as exc:
            if not quiet or "UNKNOWN_TOPIC_OR_PART" not in exc.message:
                raise
            return None
        return {name: entry.value for name, entry in entries.items()}
    # a topic created a moment ago may not have reached every broker: ask again for 5 s, then
    # once more letting the broker's answer through
    return until(ask, 5) or ask(quiet=False)
