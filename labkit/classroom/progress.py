"""Exercise verdicts on the ``_lab.progress`` topic, and the instructor's table of them (issue 20).

Every exercise check (``lessons.verdict``) calls ``publish`` after printing its verdict. Nothing
is sent unless the learner's lab is in class mode (``LABKIT_CLASS``), or a local learner opted in
with ``LABKIT_PROGRESS=1``. Publishing never fails a check and never holds it long: one producer
per cluster, a 3 s delivery timeout, and one sentence (once per session) when a verdict could not
be shared. A record: key = learner, value = JSON ``{learner, notebook, exercise, verdict, ok,
text, time}``. Learners may only write this topic (``allow_writer``); the instructor (admin) reads
it: ``table`` is what ``lab.progress()`` shows.
"""
from __future__ import annotations

import getpass
import json
import os
import re
import sys
import time

from confluent_kafka import Producer
from confluent_kafka.admin import (AclBinding, AclOperation, AclPermissionType, NewTopic,
                                   ResourcePatternType, ResourceType)

from .. import clients, config
from ..errors import LabError
from . import PROGRESS_TOPIC

DELIVERY_TIMEOUT = 3.0  # seconds a check may wait for its verdict to be shared
_PRODUCERS: dict[str, Producer] = {}
_WARNED: set[str] = set()


def ensure_topic(bootstrap: str, timeout: float = 30.0) -> None:
    """Create ``_lab.progress`` (3 partitions keyed by learner, RF 3) unless it exists."""
    with clients.quiet_admin(bootstrap) as admin:
        if PROGRESS_TOPIC in admin.list_topics(timeout=min(timeout, config.TIMEOUTS.request)).topics:
            return
        future = admin.create_topics([NewTopic(PROGRESS_TOPIC, 3, 3)], operation_timeout=timeout)[PROGRESS_TOPIC]
        try:
            clients.result(future, f"creating {PROGRESS_TOPIC}", timeout=timeout)
        except LabError as exc:
            if "TOPIC_ALREADY_EXISTS" not in exc.message:
                raise


def allow_writer(bootstrap: str, learner: str) -> None:
    """Let ``learner`` write (only write: no read, no delete) the progress topic, and read the
    brokers' settings (DESCRIBE_CONFIGS on the cluster: notebook 01 shows them; Kafka never
    returns the values of password settings), and read ``__consumer_offsets`` (notebook 04's
    check reads the learner's own group's commit records there; a learner sees group names and
    offsets of others, never their records)."""
    bindings = [AclBinding(ResourceType.TOPIC, PROGRESS_TOPIC, ResourcePatternType.LITERAL,
                           f"User:{learner}", "*", AclOperation.WRITE, AclPermissionType.ALLOW),
                AclBinding(ResourceType.TOPIC, "__consumer_offsets", ResourcePatternType.LITERAL,
                           f"User:{learner}", "*", AclOperation.READ, AclPermissionType.ALLOW),
                AclBinding(ResourceType.BROKER, "kafka-cluster", ResourcePatternType.LITERAL,
                           f"User:{learner}", "*", AclOperation.DESCRIBE_CONFIGS, AclPermissionType.ALLOW)]
    with clients.quiet_admin(bootstrap) as admin:
        futures = admin.create_acls(bindings, request_timeout=config.TIMEOUTS.request)
        for binding, future in futures.items():
            clients.result(future, f"allowing {learner!r} {binding.operation.name} on {binding.name}")


def enabled(lab) -> bool:
    """Class mode, or a local lab whose learner set LABKIT_PROGRESS=1 (off by default)."""
    if getattr(lab.cluster, "class_mode", False):
        return True
    return os.environ.get("LABKIT_PROGRESS", "").strip().lower() in ("1", "yes", "true", "on")


def learner(lab) -> str:
    return getattr(lab.cluster, "learner", None) or os.environ.get("LABKIT_LEARNER") or getpass.getuser()


def exercise_of(check) -> tuple[str, str]:
    """(notebook, exercise) of a check: its docstring starts "Notebook NN:", its name says which."""
    found = re.match(r"\s*Notebook (\d\d)", check.__doc__ or "")
    name = check.__name__.removeprefix("check_")
    return (found.group(1) if found else "??"), name


def record(lab, check, ok: bool, line: str) -> dict:
    notebook, exercise = exercise_of(check)
    return {"learner": learner(lab), "notebook": notebook, "exercise": f"{notebook} {exercise}",
            "verdict": line.split(":", 1)[0], "ok": ok, "text": line, "time": time.time()}


def publish(lab, check, ok: bool, line: str, out=None) -> bool:
    """Share one verdict when enabled; True if it was delivered. Never raises, bounded in time."""
    if not enabled(lab):
        return False
    bootstrap = lab.bootstrap_servers
    try:
        if not getattr(lab.cluster, "class_mode", False) and bootstrap not in _PRODUCERS:
            ensure_topic(bootstrap, DELIVERY_TIMEOUT)  # a local opt-in lab has no instructor to make it
        producer = _PRODUCERS.get(bootstrap)
        if producer is None:
            producer = _PRODUCERS[bootstrap] = Producer({
                "bootstrap.servers": bootstrap, **clients.credentials(bootstrap), "logger": clients._LOG,
                "message.timeout.ms": int(DELIVERY_TIMEOUT * 1000),
                "socket.connection.setup.timeout.ms": 2000})
        outcome = []
        rec = record(lab, check, ok, line)
        producer.produce(PROGRESS_TOPIC, json.dumps(rec).encode(), rec["learner"].encode(),
                         on_delivery=lambda err, _msg: outcome.append(err))
        producer.flush(DELIVERY_TIMEOUT + 1)
        if outcome and outcome[0] is None:
            return True
        reason = outcome[0].str() if outcome and outcome[0] else f"no answer within {DELIVERY_TIMEOUT:.0f} s"
    except Exception as exc:  # a verdict is the learner's; sharing it is a bonus that must not break it
        reason = f"{type(exc).__name__}: {exc}"
    if bootstrap not in _WARNED:
        _WARNED.add(bootstrap)
        print(f"(progress board: this verdict was not shared: {reason}. Your check is unaffected; "
              "later checks try again.)", file=out or sys.stdout)
    return False


def read_lab(lab, timeout: float = 15.0) -> list[dict]:
    """``read`` for a lab handle: a learner's lab (class mode) is refused at once, with why."""
    if getattr(lab.cluster, "class_mode", False):
        raise LabError(f"The progress board is the instructor's: {lab.cluster.learner} may write verdicts to "
                       f"{PROGRESS_TOPIC}, not read them.",
                       hint="the instructor runs `labkit class status`, `labkit class board`, or in a notebook "
                            "lab = lk.start_secure(); lab.progress()")
    return read(lab.bootstrap_servers, timeout)


def read(bootstrap: str, timeout: float = 15.0) -> list[dict]:
    """Every verdict on the progress topic, read as admin; a LabError when no class runs there."""
    from ..lessons.verdict import Wrong, read_all
    try:
        clients.require_cluster(bootstrap)
    except LabError:
        raise LabError(f"No class cluster answers at {bootstrap}.",
                       hint="start the class with `labkit class up --learners N`, then in the "
                            "instructor's notebook lab = lk.start_secure(); lab.progress()") from None

    class _Lab:  # read_all wants something with bootstrap_servers and admin()
        bootstrap_servers = bootstrap

        @staticmethod
        def admin():
            return clients.admin(bootstrap)
    try:
        rows = read_all(_Lab, PROGRESS_TOPIC, timeout)
    except Wrong as exc:
        raise LabError(f"No class progress at {bootstrap}: {exc}",
                       hint="the progress topic is made by `labkit class up --learners N` (or by a "
                            "local lab with LABKIT_PROGRESS=1).") from None
    out = []
    for row in rows:
        try:
            out.append(json.loads(row["value"]))
        except (TypeError, ValueError):
            continue  # not a verdict (someone else wrote here): skipped, not fatal
    return out


def table(records: list[dict]):
    """learner x exercise: the latest verdict and its time (``✔ 22:31``), empty where none yet."""
    import pandas as pd
    if not records:
        return pd.DataFrame(index=pd.Index([], name="learner"))
    df = pd.DataFrame(records).sort_values("time")
    latest = df.groupby(["learner", "exercise"]).last()
    cells = latest.apply(lambda r: f"{'✔' if r['ok'] else '✘'} {time.strftime('%H:%M', time.localtime(r['time']))}",
                         axis=1)
    return cells.unstack("exercise").fillna("").sort_index()


def stuck(records: list[dict], minutes: float, now: float | None = None) -> list[dict]:
    """(learner, exercise, since) for each exercise tried but not solved for more than ``minutes``."""
    now = time.time() if now is None else now
    first: dict = {}
    solved = set()
    for rec in sorted(records, key=lambda r: r["time"]):
        key = (rec["learner"], rec["exercise"])
        first.setdefault(key, rec["time"])
        if rec["ok"]:
            solved.add(key)
    return [{"learner": k[0], "exercise": k[1], "minutes": (now - t) / 60}
            for k, t in sorted(first.items()) if k not in solved and now - t > minutes * 60]
