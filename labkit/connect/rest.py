"""A small client for Kafka Connect's REST API (notebook 10).

Connectors are created, inspected, stopped and reset through the worker's REST API with JSON
bodies; the worker's own settings are a ``.properties`` file (``worker.py``). Every call is a
plain HTTP request (stdlib ``urllib``), so the notebook shows the API as it is: a path, a method,
a JSON body. The worker's refusals (HTTP 4xx/5xx, with its ``message``) become a ``LabError``
carrying that message; a worker that is still rebalancing (HTTP 409) is asked again, bounded.
Reference: https://kafka.apache.org/documentation/#connect_rest
"""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

from ..errors import LabError
from ..wait import wait_for

REBALANCE_WAIT = 60.0  # seconds a write may wait for the worker's group to settle (HTTP 409)


class _Busy(LabError):
    """HTTP 409: the worker is rebalancing or forwarding; the same request succeeds a moment later."""


class ConnectClient:
    """The REST API of one Connect worker, e.g. ``http://127.0.0.1:8083`` (``lab.connect()``)."""

    def __init__(self, url: str, timeout: float = 15.0, files=None):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.files = files  # the worker's folder for FileStream connectors' files (a Path), if known

    def __repr__(self) -> str:
        return f"<Kafka Connect REST API at {self.url}>"

    # ---- HTTP ---------------------------------------------------------------------------------
    def request(self, method: str, path: str, body=None):
        """One request; the parsed JSON answer (None for an empty one). Errors: LabError."""
        # default=str: a pathlib.Path (a file connector's "file") is sent as its text
        data = None if body is None else json.dumps(body, default=str).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                text = resp.read().decode()
        except urllib.error.HTTPError as exc:
            raise _refusal(method, path, exc) from None
        except (urllib.error.URLError, OSError) as exc:
            raise LabError(f"No Kafka Connect worker answers at {self.url} ({_reason(exc)}).",
                           hint="start it with `labkit connect up` in a terminal, or "
                                "`lab.connect(start=True)` in a notebook.") from None
        return json.loads(text) if text.strip() else None

    def _asked(self, method: str, path: str, body=None):
        """A request asked again while the worker's group is rebalancing (HTTP 409, or a 500 saying so)."""
        return wait_for(f"the Connect worker to accept {method} {path}",
                        lambda: _Done(self.request(method, path, body)), REBALANCE_WAIT, 0.5,
                        retry_on=(_Busy,), hint="`labkit connect logs` shows what the worker is doing.").value

    # ---- plugins and connectors ---------------------------------------------------------------
    def plugins(self) -> list[dict]:
        """GET /connector-plugins: the connector classes this worker can run."""
        return self.request("GET", "/connector-plugins")

    def connector_names(self) -> list[str]:
        return self._asked("GET", "/connectors")

    def create(self, name: str, config: dict) -> dict:
        """PUT /connectors/<name>/config: create the connector, or update it (idempotent)."""
        return self._asked("PUT", f"/connectors/{_q(name)}/config", config)

    def delete(self, name: str, missing_ok: bool = True) -> None:
        """DELETE /connectors/<name>: the connector and its tasks go; its committed offsets stay."""
        try:
            self._asked("DELETE", f"/connectors/{_q(name)}")
        except LabError as exc:
            if not (missing_ok and "HTTP 404" in exc.message):
                raise

    def config(self, name: str) -> dict:
        return self._asked("GET", f"/connectors/{_q(name)}/config")

    def status(self, name: str) -> dict:
        """GET /connectors/<name>/status: the connector's and each task's state (and a failure's trace)."""
        return self._asked("GET", f"/connectors/{_q(name)}/status")

    def validate(self, connector_class: str, config: dict) -> dict:
        """PUT /connector-plugins/<class>/config/validate: the worker's verdict on every key."""
        return self._asked("PUT", f"/connector-plugins/{_q(connector_class)}/config/validate", config)

    # ---- lifecycle ----------------------------------------------------------------------------
    def pause(self, name: str) -> None:
        self._asked("PUT", f"/connectors/{_q(name)}/pause")

    def resume(self, name: str) -> None:
        self._asked("PUT", f"/connectors/{_q(name)}/resume")

    def stop(self, name: str) -> None:
        """PUT /connectors/<name>/stop: tasks shut down, config kept; offsets may then be changed."""
        self._asked("PUT", f"/connectors/{_q(name)}/stop")

    def restart(self, name: str, include_tasks: bool = True, only_failed: bool = False):
        """POST /connectors/<name>/restart (KIP-745: with its tasks, or only the failed ones)."""
        query = urllib.parse.urlencode({"includeTasks": str(include_tasks).lower(),
                                        "onlyFailed": str(only_failed).lower()})
        return self._asked("POST", f"/connectors/{_q(name)}/restart?{query}")

    def restart_task(self, name: str, task: int = 0) -> None:
        self._asked("POST", f"/connectors/{_q(name)}/tasks/{int(task)}/restart")

    # ---- offsets (KIP-875) --------------------------------------------------------------------
    def offsets(self, name: str) -> list[dict]:
        """GET /connectors/<name>/offsets: a source's positions, or a sink's consumer offsets."""
        return self._asked("GET", f"/connectors/{_q(name)}/offsets")["offsets"]

    def reset_offsets(self, name: str) -> str:
        """DELETE /connectors/<name>/offsets: forget every position (the connector must be STOPPED)."""
        return (self._asked("DELETE", f"/connectors/{_q(name)}/offsets") or {}).get("message", "")

    def alter_offsets(self, name: str, offsets: list[dict]) -> str:
        """PATCH /connectors/<name>/offsets: set positions (the connector must be STOPPED)."""
        return (self._asked("PATCH", f"/connectors/{_q(name)}/offsets", {"offsets": offsets}) or {}).get("message", "")

    # ---- waiting ------------------------------------------------------------------------------
    def wait_state(self, name: str, state: str = "RUNNING", tasks: int | None = 1, timeout: float = 60.0) -> dict:
        """Until the connector and its ``tasks`` tasks (all of them) are in ``state``.

        A FAILED task ends the wait with its trace's first line, unless FAILED is awaited: then only
        the tasks count, since a connector whose task failed stays RUNNING itself.
        """
        def reached():
            try:
                st = self.status(name)
            except LabError as exc:
                if "HTTP 404" in exc.message:  # created a moment ago: no status written yet
                    return None
                raise
            failed = [t for t in st["tasks"] if t["state"] == "FAILED"]
            if failed and state != "FAILED":
                trace = (failed[0].get("trace") or "").strip().splitlines()
                raise LabError(f"Task {failed[0]['id']} of connector {name!r} FAILED: "
                               f"{trace[0] if trace else 'no trace'}",
                               hint="fix the config and `restart` it; the full trace is in `status(name)`.")
            ok = st["connector"]["state"] == state or state == "FAILED"
            if tasks is not None:
                ok = ok and len(st["tasks"]) == tasks and all(t["state"] == state for t in st["tasks"])
            return st if ok else None
        return wait_for(f"connector {name!r} to be {state}", reached, timeout, 0.3, retry_on=(_Busy,),
                        hint="`lab.connect().status(name)` shows each task; `labkit connect logs` the worker's log.")

    def connectors(self):
        """A DataFrame: one row per connector with its class, type, state, tasks and topics."""
        import pandas as pd
        found = self._asked("GET", "/connectors?expand=status&expand=info") or {}
        rows = []
        for name, both in sorted(found.items()):
            conf, st = both["info"]["config"], both["status"]
            rows.append({"connector": name, "type": both["info"]["type"],
                         "class": conf["connector.class"].rsplit(".", 1)[-1],
                         "state": st["connector"]["state"],
                         "tasks": ",".join(t["state"] for t in st["tasks"]) or "-",
                         "topics": conf.get("topic") or conf.get("topics") or "",
                         "file": conf.get("file", "")})
        columns = ["connector", "type", "class", "state", "tasks", "topics", "file"]
        return pd.DataFrame(rows, columns=columns).set_index("connector")


class _Done:
    """Wraps an answer so that an empty (falsy) one still ends ``wait_for``."""

    def __init__(self, value):
        self.value = value


def _q(part: str) -> str:
    return urllib.parse.quote(str(part), safe="")


def _reason(exc: Exception) -> str:
    return str(getattr(exc, "reason", exc))


def _refusal(method: str, path: str, exc: urllib.error.HTTPError) -> LabError:
    """The worker's own message for a refused request (Connect answers {"error_code", "message"})."""
    try:
        message = json.loads(exc.read().decode()).get("message") or exc.reason
    except (ValueError, OSError, AttributeError):
        message = exc.reason
    busy = exc.code == 409 or (exc.code == 500 and "rebalance" in str(message))
    cls = _Busy if busy else LabError
    if ", available connectors are" in str(message):  # then a long dump of every plugin's descriptor
        message = str(message).split(", available connectors are")[0] + "."
        return cls(f"The Connect worker refused {method} {path.split('?')[0]} (HTTP {exc.code}): {message}",
                   hint="`lab.connect().plugins()` (GET /connector-plugins) lists the classes this worker "
                        "has; an alias such as FileStreamSource works too.")
    hint = {400: "the worker checked the config and named what is wrong above; fix that key and send it again.",
            404: "no such connector or path: `lab.connect().connector_names()` lists the connectors.",
            409: "the worker's group is rebalancing; ask again in a moment.",
            500: "`labkit connect logs` shows the worker's side of it."}.get(exc.code, "see the worker's message above.")
    return cls(f"The Connect worker refused {method} {path.split('?')[0]} (HTTP {exc.code}): {message}", hint=hint)
