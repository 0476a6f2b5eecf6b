"""The instructor's side of a class: ``labkit class up | down | status | card N`` (issue 20).

A class is the secured lab (``labkit up --secure``, notebook 12) plus a ``class/`` folder in its
state dir: ``class.json`` (how many learners, the ``--listen`` address or none) and one card file
per learner in ``class/cards/`` (mode 0600; a card holds a password). A card is a client
properties file in librdkafka's names with comments saying what to do with it, so it is both
what a learner reads and what ``LABKIT_CLASS`` points at.

Binding: the secured lab's listeners stay on 127.0.0.1. Only ``--listen ADDRESS`` adds a second
SASL listener, named ``CLASS``, bound to and advertised at ADDRESS on the secure client ports + 50
(9442-9444 by default); SASL/SCRAM and the ACLs apply there exactly as on 127.0.0.1.
"""
from __future__ import annotations

import json
import shutil
import socket
import sys
import time
from pathlib import Path

from .. import config
from ..errors import LabError
from ..cluster import secure
from ..cluster.lock import os_error, write_atomic
from . import LEARNER_PREFIX

CLASS_DIR = "class"
CLASS_LISTENER = "CLASS"
CLASS_PORT_OFFSET = 50  # CLASS listener port = the secured broker's client port + 50
MAX_LEARNERS = 99  # learner01..learner99


def class_dir(state_dir: Path) -> Path:
    return Path(state_dir) / CLASS_DIR


def load(state_dir: Path) -> dict | None:
    """class.json of this secured lab, or None when no class was set up in it."""
    try:
        return json.loads((class_dir(state_dir) / "class.json").read_text())
    except (OSError, ValueError):
        return None


def learner_name(number: int, learners: int) -> str:
    """``learner07`` for 7, or a LabError when the class has no such seat."""
    if not isinstance(number, int) or not 1 <= number <= learners:
        raise LabError(f"There is no learner {number} in this class of {learners}.",
                       hint=f"cards go from 1 to {learners}; `labkit class up --learners N` with a larger "
                            "N adds seats (existing cards stay valid).")
    return f"{LEARNER_PREFIX}{number:02d}"


def check_listen(address: str | None) -> str | None:
    """The ``--listen`` address, checked: a concrete IPv4 address or host name of this machine."""
    if address is None:
        return None
    address = address.strip()
    if not address or address in ("0.0.0.0", "*", "::") or ":" in address:
        raise LabError(f"--listen {address!r} is not an address learners can connect to.",
                       hint="give this machine's address on the room's network (e.g. from "
                            "`hostname -I`), one IPv4 address or host name; it is bound and advertised.")
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((address, 0))  # an address of this machine can be bound
    except OSError as exc:
        raise LabError(f"--listen {address}: this machine cannot listen there ({exc.strerror or exc}).",
                       hint="use one of this machine's own addresses (`hostname -I` lists them).") from None
    return address


def class_port(node: int, base: int) -> int:
    return config.client_port(node, base) + CLASS_PORT_OFFSET


def add_listener(props: dict, node: int, state_dir: Path, base: int) -> dict:
    """The secured node's properties plus the CLASS listener, when ``class up --listen`` asked."""
    listen = (load(state_dir) or {}).get("listen")
    if not listen:
        return props
    extra = f"{CLASS_LISTENER}://{listen}:{class_port(node, base)}"
    return {**props,
            "listeners": f"{props['listeners']},{extra}",
            "advertised.listeners": f"{props['advertised.listeners']},{extra}",
            "listener.security.protocol.map":
                f"{props['listener.security.protocol.map']},{CLASS_LISTENER}:SASL_PLAINTEXT",
            # SCRAM's server side needs a (bare) login module per listener; the users are in the metadata
            f"listener.name.{CLASS_LISTENER.lower()}.scram-sha-512.sasl.jaas.config":
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"}


def learner_bootstrap(cluster, info: dict) -> str:
    """Where learners connect: the CLASS listener's addresses, or the lab's own 127.0.0.1 ones."""
    if not info.get("listen"):
        return cluster.bootstrap_servers
    return ",".join(f"{info['listen']}:{class_port(n, cluster.port_base)}" for n in config.NODES)


def card_text(cluster, info: dict, name: str, password: str, path: Path) -> str:
    """One learner's connection card: what to do as comments, then the client properties."""
    bootstrap = learner_bootstrap(cluster, info)
    return "\n".join([
        f"# Kafka lab class card for {name} (class of {info['learners']}; made {info['created']}).",
        "# Keep it to yourself: it holds your password. Copy it to your machine, then, before",
        "# starting JupyterLab (or in a notebook's first cell, with %env):",
        f"#   export LABKIT_CLASS={path}",
        f"# lk.start() then uses the class cluster as {name}; your topics and groups start with",
        f"# '{name}.': lab.name(\"orders\") gives \"{name}.orders\".",
        f"bootstrap.servers={bootstrap}",
        *(f"{k}={v}" for k, v in secure.client_settings(name, password).items()), ""])


def _save_info(cluster, info: dict) -> None:
    folder = class_dir(cluster.state_dir)
    try:
        (folder / "cards").mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(folder / "class.json", json.dumps(info, indent=2))
    except OSError as exc:
        raise os_error(exc, cluster.state_dir, "LABKIT_SECURE_STATE_DIR") from None


def _running(cluster) -> bool:
    return any(row["state"] == "running" for row in cluster.status())


def up(learners: int, listen: str | None = None, out=sys.stdout, cluster=None) -> list[Path]:
    """``labkit class up``: the secured lab, its learners, the progress topic, the cards.

    Idempotent: a learner who already has a card keeps it (and its password); a larger
    ``learners`` adds seats. Returns the card files, learner01 first.
    """
    from ..cluster.local import LocalCluster
    from . import progress
    if not isinstance(learners, int) or not 1 <= learners <= MAX_LEARNERS:
        raise LabError(f"--learners {learners!r}: a class has 1 to {MAX_LEARNERS} learners.",
                       hint="e.g. `labkit class up --learners 30`.")
    listen = check_listen(listen)
    cluster = cluster or LocalCluster(secure=True)
    old = load(cluster.state_dir) or {}
    if old and learners < old["learners"]:
        raise LabError(f"This class already has {old['learners']} learners; it does not shrink to {learners}.",
                       hint="keep the cards you need, or start afresh with `labkit class down --wipe`.")
    if old.get("listen") != listen and _running(cluster):  # e.g. notebook 12's secured lab, no CLASS listener
        raise LabError(f"The secured cluster runs with --listen {old.get('listen') or '(none: 127.0.0.1 only)'}; "
                       f"its listeners change only at a start.",
                       hint="`labkit class down` (or `labkit down --secure`), then `labkit class up` with the "
                            "--listen you want.")
    info = {"learners": learners, "listen": listen,
            "created": old.get("created") or time.strftime("%Y-%m-%d %H:%M")}
    _save_info(cluster, info)  # before up: the brokers' listeners come from it
    cluster.up(out=out)
    progress.ensure_topic(cluster.bootstrap_servers)
    cards = []
    for number in range(1, learners + 1):
        name = learner_name(number, learners)
        path = class_dir(cluster.state_dir) / "cards" / f"{name}.card"
        if path.exists() and secure.user_file(cluster.state_dir, name).exists():
            cards.append(path)
            continue
        from ..cluster.users import add_user
        password = add_user(cluster, name)["sasl.password"]
        progress.allow_writer(cluster.bootstrap_servers, name)
        try:
            write_atomic(path, card_text(cluster, info, name, password, path))
        except OSError as exc:
            raise os_error(exc, cluster.state_dir, "LABKIT_SECURE_STATE_DIR") from None
        cards.append(path)
    return cards


def card(number: int, cluster=None) -> Path:
    """The card file of learner ``number`` (``labkit class card N``), or a LabError saying why not."""
    from ..cluster.local import LocalCluster
    cluster = cluster or LocalCluster(secure=True)
    info = require(cluster)
    path = class_dir(cluster.state_dir) / "cards" / f"{learner_name(number, info['learners'])}.card"
    if not path.exists():
        raise LabError(f"{path} is missing.", hint="`labkit class up` writes the cards again.")
    return path


def require(cluster) -> dict:
    """class.json, or the LabError every instructor command gives when no class was set up."""
    info = load(cluster.state_dir)
    if info is None:
        raise LabError(f"No class is set up in {cluster.state_dir}.",
                       hint="start one with `labkit class up --learners N` (add --listen ADDRESS for "
                            "learners on other machines).")
    return info


def down(wipe: bool = False, out=sys.stdout, cluster=None) -> None:
    """``labkit class down``: stop the class cluster; ``wipe`` also deletes its users and cards."""
    from ..cluster.local import LocalCluster
    cluster = cluster or LocalCluster(secure=True)
    cluster.down(wipe=wipe, out=out)
    if wipe:
        shutil.rmtree(class_dir(cluster.state_dir), ignore_errors=True)
        out.write("The class's cards are gone: their users went with the cluster's data.\n")

