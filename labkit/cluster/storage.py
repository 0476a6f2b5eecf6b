"""A local cluster's folder: who owns it, its ``cluster.json``, and each node's formatted storage.

Recovery here never deletes what the learner did not ask to delete (notebook 00's promise): the
cluster id lives in every node's ``data/meta.properties``, so a lost or damaged ``cluster.json``
is rebuilt from them, and a node whose folder was deleted is formatted again on its own while the
others keep their data. Only an explicit ``labkit down --wipe`` deletes data, and only in a
folder labkit made (it writes ``.labkit-owner`` when it creates one).
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .. import config
from ..errors import LabError
from . import fetch
from .lock import os_error, write_atomic

STATE_FILE = "cluster.json"
STATE_KIND = "labkit-local-cluster"
OWNER_FILE = config.OWNER_FILE
# what labkit itself keeps in a state folder (dot-files: the lock and atomic writes' temporaries)
OWN_NAMES = {STATE_FILE, "idle.pid", "idle.log", "security.json", "users", "class"} | {f"node-{n}" for n in config.NODES}
WIPE_HINT = "`labkit down --wipe` starts afresh; it deletes every topic of this cluster."


def owner(state_dir: Path) -> str | None:
    """The owner written at creation ('lab', 'test-suite', 'bench'), or None if labkit did not."""
    try:
        return (state_dir / OWNER_FILE).read_text().strip() or None
    except OSError:
        return None


def check_not_foreign(state_dir: Path) -> None:
    """Refuse a folder that holds files labkit did not write (LABKIT_STATE_DIR set by mistake)."""
    if not state_dir.is_dir() or owner(state_dir):
        return
    strangers = [p.name for p in state_dir.iterdir() if p.name not in OWN_NAMES and not p.name.startswith(".")]
    if strangers:
        raise LabError(f"{state_dir} holds files labkit did not write ({', '.join(sorted(strangers)[:3])}).",
                       hint="point LABKIT_STATE_DIR at an empty or labkit-made folder.")


def claim(state_dir: Path) -> None:
    """Create the state folder (private: mode 0700) with its owner marker, or adopt a labkit one."""
    check_not_foreign(state_dir)
    try:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(state_dir, 0o700)  # topic data and logs are nobody else's to read on a shared host
        if owner(state_dir) is None:
            write_atomic(state_dir / OWNER_FILE, config.owner() + "\n")
    except OSError as exc:
        raise os_error(exc, state_dir) from None


def check_wipe(state_dir: Path) -> None:
    """Raise unless this caller may delete ``state_dir``'s data (see module docstring)."""
    if not state_dir.exists():
        return
    found, me = owner(state_dir), config.owner()
    if found is None:
        raise LabError(f"labkit did not create {state_dir} (it has no {OWNER_FILE}), so it will not "
                       "delete anything in it.",
                       hint="if you are sure nothing in it matters, delete it yourself; "
                            "`labkit down` (without --wipe) stops its brokers.")
    if me != "lab" and found != me:
        raise LabError(f"{state_dir} belongs to {found!r}, not to the {me}: it is not wiped.",
                       hint="the test suite and the bench only wipe the folders they made; check "
                            "LABKIT_STATE_DIR.")


def read_state(state_dir: Path) -> dict | None:
    """cluster.json, None when missing; a damaged one raises ValueError (repaired by the caller)."""
    try:
        text = (state_dir / STATE_FILE).read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise os_error(exc, state_dir) from None
    state = json.loads(text)  # ValueError when damaged
    if not isinstance(state, dict) or state.get("kind") != STATE_KIND or not state.get("cluster_id"):
        raise ValueError("not a labkit cluster state")
    return state


def write_state(state_dir: Path, cluster_id: str, port_base: int) -> dict:
    state = {"kind": STATE_KIND, "cluster_id": cluster_id, "kafka_version": config.KAFKA_VERSION,
             "port_base": port_base}
    write_atomic(state_dir / STATE_FILE, json.dumps(state, indent=2))
    return state


def meta(node_dir: Path) -> dict | None:
    """A node's ``data/meta.properties`` (written by Kafka's storage tool) as a dict, or None."""
    try:
        lines = (node_dir / "data" / "meta.properties").read_text().splitlines()
    except OSError:
        return None
    pairs = (line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    found = {k.strip(): v.strip() for k, v in pairs}
    return found if found.get("cluster.id") else None


def has_data(node_dir: Path) -> bool:
    data = node_dir / "data"
    return data.is_dir() and any(data.iterdir())


def plan(state_dir: Path, port_base: int, running: set[int], new_id, out) -> tuple[str, list[int]]:
    """The cluster id, and the nodes to format; cluster.json rebuilt or repaired on the way.

    Raises a LabError (asking for --wipe) only where going on would mean guessing about data.
    """
    metas = {n: meta(state_dir / f"node-{n}") for n in config.NODES}
    ids = {m["cluster.id"] for m in metas.values() if m}
    if len(ids) > 1:
        raise LabError(f"The nodes in {state_dir} belong to different clusters ({', '.join(sorted(ids))}).",
                       hint=WIPE_HINT)
    try:
        state, damaged = read_state(state_dir), None
    except ValueError as exc:
        state, damaged = None, exc
    if ids:
        cluster_id = next(iter(ids))
        if state is None or state["cluster_id"] != cluster_id:
            why = f"was damaged ({damaged})" if damaged else "was missing" if state is None else "disagreed"
            out.write(f"{STATE_FILE} {why}: rebuilt from the nodes' meta.properties (cluster id {cluster_id}).\n")
            state = write_state(state_dir, cluster_id, port_base)
    elif any(has_data(state_dir / f"node-{n}") for n in config.NODES):
        raise LabError(f"The brokers' data in {state_dir} has no meta.properties to say which "
                       "cluster it belongs to; labkit will not guess.", hint=WIPE_HINT)
    elif state is None:  # a fresh cluster, or one that never got past formatting
        state = write_state(state_dir, new_id(), port_base)
    need = [n for n in config.NODES if metas[n] is None or metas[n]["cluster.id"] != state["cluster_id"]]
    for n in need:
        if n in running:
            raise LabError(f"Broker {n} runs, but its folder {state_dir / f'node-{n}'} lost its storage.",
                           hint=f"`labkit stop {n}` and then `labkit up`: it is formatted again and "
                                "copies its partitions back from the other brokers.")
        if has_data(state_dir / f"node-{n}"):
            raise LabError(f"Broker {n}'s data in {state_dir / f'node-{n}'} has no meta.properties.",
                           hint=WIPE_HINT)
    return state["cluster_id"], need


def format_nodes(state_dir: Path, nodes: list[int], cluster_id: str, props, extra: list[str] = ()) -> None:
    """Run Kafka's storage tool on each of ``nodes`` with ``cluster_id``, in parallel.

    ``props(node)`` writes that node's server.properties and returns its path; ``extra`` are more
    arguments (the secured lab's ``--add-scram``, notebook 12).
    """
    def one(node: int) -> None:
        ndir = state_dir / f"node-{node}"
        try:
            (ndir / "data").mkdir(parents=True, exist_ok=True)
            path = props(node)
        except OSError as exc:
            raise os_error(exc, ndir) from None
        cmd = fetch.java_command("kafka.tools.StorageTool", ["format", "-t", cluster_id, "-c", str(path), *extra])
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=config.TIMEOUTS.format)
        except subprocess.TimeoutExpired:
            raise LabError(f"Formatting broker {node}'s storage took over "
                           f"{config.TIMEOUTS.format:.0f} s.", hint="is the machine overloaded?") from None
        if res.returncode != 0:
            raise LabError(f"Kafka's storage tool could not format broker {node}'s log dir.",
                           hint=f"check that {ndir} is writable and has free space (`df -h {ndir}`).",
                           log_tail="\n".join((res.stdout + res.stderr).splitlines()[-10:]))
    with ThreadPoolExecutor(len(nodes)) as pool:
        list(pool.map(one, nodes))


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding (as StorageTool's).

    Like Kafka's own Uuid.randomUuid, never one starting with '-': tools would read it as an option.
    """
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid
