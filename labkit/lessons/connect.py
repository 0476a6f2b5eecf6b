"""The check for notebook 10's exercise: a connector created through Kafka Connect's REST API.

It asks the worker (``GET /connectors/<name>/config`` and ``/status``) what the learner created, then
reads the topic to see what the connector wrote: each line of the file, as a JSON object that a
transform tagged. Each check prints one verdict line, ✔ or ✘, and returns True or False
(``lessons.verdict``). Per-run names make it pass only on the learner's own connector.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import LabError
from ..wait import until
from .verdict import Wrong, _verdict, read_all

SOURCE_CLASSES = ("FileStreamSource", "org.apache.kafka.connect.file.FileStreamSourceConnector")


def _config(client, name: str) -> dict:
    names = client.connector_names()
    if name not in names:
        others = ", ".join(sorted(names)) or "none"
        raise Wrong(f"there is no connector named {name!r} (connectors now: {others}): create it with "
                    "connect.create(EX_NAME, {...}).")
    return client.config(name)


def _status(client, name: str) -> dict | None:
    try:
        return client.status(name)
    except LabError as exc:
        if "HTTP 404" in exc.message:  # created a moment ago: no status written yet
            return None
        raise


def _running(client, name: str) -> None:
    def state():
        st = _status(client, name)
        if st is None:
            return None
        states = [st["connector"]["state"], *(t["state"] for t in st["tasks"])]
        settled = len(states) > 1 and all(s == "RUNNING" for s in states)
        return st if settled or "FAILED" in states else None  # a failure will not mend itself
    st = until(state, 20)
    _no_failed_task(st, name)
    if st is None or st["connector"]["state"] != "RUNNING" or \
            any(t["state"] != "RUNNING" for t in st["tasks"]):
        st = st or _status(client, name) or {"connector": {"state": "not yet started"}, "tasks": []}
        tasks = ", ".join(f"task {t['id']} {t['state']}" for t in st["tasks"]) or "no task yet"
        raise Wrong(f"{name!r} is {st['connector']['state']} ({tasks}), not RUNNING: "
                    "connect.status(EX_NAME) shows why.")


def _no_failed_task(st: dict | None, name: str) -> None:
    """A Wrong naming the first failed task's error (a transform that cannot apply, say)."""
    failed = [t for t in (st or {}).get("tasks", []) if t["state"] == "FAILED"]
    if failed:
        trace = [line for line in (failed[0].get("trace") or "").splitlines()
                 if "Exception:" in line and "Tolerance exceeded" not in line]
        cause = trace[-1].split("Exception: ", 1)[-1].strip() if trace else "no trace"
        raise Wrong(f"task {failed[0]['id']} of {name!r} FAILED: {cause[:160]} "
                    "(connect.status(EX_NAME)['tasks'][0]['trace'] has the whole story).")


def _records(lab, topic: str, expected: int) -> list[dict]:
    got = until(lambda: (r if len(r := read_all(lab, topic)) >= expected else None), 20)
    return got if got is not None else read_all(lab, topic)


@_verdict
def check_tagged_source(lab, name: str, file, topic: str, field: str = "origin",
                        value: str = "exercise") -> str:
    """Notebook 10: connector ``name`` reads ``file`` into ``topic``, every line as {"line": ..., field: value}."""
    client = lab.connect()
    file = Path(file)
    conf = _config(client, name)
    cls = conf.get("connector.class", "")
    if cls not in SOURCE_CLASSES:
        raise Wrong(f"{name!r} runs {cls!r}; the exercise asks for the FileStream source "
                    "(connector.class FileStreamSource).")
    if conf.get("file") != str(file):
        raise Wrong(f"{name!r} reads {conf.get('file')!r}, not EX_FILE ({file}).")
    if conf.get("topic") != topic:
        raise Wrong(f"{name!r} writes to topic {conf.get('topic')!r}, not EX_TOPIC ({topic!r}).")
    _running(client, name)
    lines = [line for line in file.read_text().splitlines() if line]
    records = _records(lab, topic, len(lines))
    if len(records) < len(lines):
        _no_failed_task(_status(client, name), name)  # a task may fail on its first record
    if not records:
        raise Wrong(f"nothing has arrived in {topic!r} yet: is EX_FILE non-empty, and the task RUNNING?")
    values = []
    for r in records:
        try:
            values.append(json.loads(r["value"]) if r["value"] is not None else None)
        except (TypeError, ValueError):
            values.append(r["value"])
    first = values[0]
    if not all(isinstance(v, dict) and v.get(field) == value for v in values):
        raise Wrong(f"the records in {topic!r} carry no field {field!r} = {value!r} (the first one is "
                    f"{json.dumps(first) if not isinstance(first, bytes) else first!r}): a plain line is "
                    "a string; make it an object (HoistField$Value), then add the field (InsertField$Value).")
    got = [v.get("line") for v in values]
    if got != lines:
        raise Wrong(f"{topic!r} holds {len(got)} records whose 'line' fields are not EX_FILE's {len(lines)} "
                    f"lines in order (first: {got[:2]}): hoist each line into the field 'line'.")
    return (f"{name} copies the {len(lines)} lines of {file.name} into {topic!r}, each one an object "
            f"tagged {field}={value!r} by the connector's transforms.")
