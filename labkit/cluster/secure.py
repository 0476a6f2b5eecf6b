"""The secured lab: SASL/SCRAM-SHA-512 logins and ACLs on the same 3-node cluster (notebook 12).

``labkit up --secure`` runs a cluster whose folder holds ``security.json`` (the admin's and the
controllers' secrets, mode 0600 inside the 0700 folder): that file is what records "secure", and
``check_mode`` refuses to start a plain folder secured or a secured folder plain. The brokers:

- client listeners ``SASL_PLAINTEXT`` on 127.0.0.1 with SCRAM-SHA-512 only; the brokers talk to
  each other as the SCRAM user ``admin``, created at format time (``kafka-storage format --add-scram``,
  KIP-900: SCRAM users live in the metadata log, which does not exist before the first start);
- the controller listener also SASL, mechanism PLAIN with one static user ``controller``: a
  PLAINTEXT controller listener would make ``User:ANONYMOUS`` the principal that needs super-user
  rights, and then anyone reaching the port would have them;
- ``StandardAuthorizer`` with ``allow.everyone.if.no.acl.found=false``: no ACL, no access.

Clients find the credentials through ``clients.register_credentials`` (keyed by bootstrap
servers), so every labkit helper, readiness probes included, logs in as admin.
"""
from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path

from .. import config
from ..errors import LabError
from .lock import os_error, write_atomic

SECURITY_FILE = "security.json"
USERS_DIR = "users"
MECHANISM = "SCRAM-SHA-512"
ADMIN = "admin"
CONTROLLER_USER = "controller"
# a learner's name becomes a principal (User:NAME) and the prefix NAME. of its topics and groups
USER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")


def is_secure(state_dir: Path) -> bool:
    return (state_dir / SECURITY_FILE).is_file()


def _has_cluster(state_dir: Path) -> bool:
    return (state_dir / "cluster.json").exists() or any(
        (state_dir / f"node-{n}" / "data" / "meta.properties").exists() for n in config.NODES)


def check_mode(state_dir: Path, secure: bool) -> None:
    """Refuse to mix: a plain cluster's folder is never started secured, nor the other way round."""
    if not _has_cluster(state_dir) or is_secure(state_dir) == secure:
        return
    if secure:
        raise LabError(f"{state_dir} holds a plain (PLAINTEXT) lab cluster; `--secure` will not turn it "
                       "into a secured one.",
                       hint="`labkit up --secure` uses its own folder (LABKIT_SECURE_STATE_DIR, default "
                            "the plain folder's name + '-secure'); point it at an empty folder.")
    raise LabError(f"{state_dir} holds a secured (SASL/SCRAM) lab cluster; a plain `up` will not start it "
                   "without its security.", hint="start it with `labkit up --secure`.")


def load(state_dir: Path) -> dict:
    """security.json: ``{"admin_password": ..., "controller_password": ...}``."""
    try:
        return json.loads((state_dir / SECURITY_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise LabError(f"The secured cluster's {state_dir / SECURITY_FILE} cannot be read ({exc}).",
                       hint="`labkit down --secure --wipe` starts the secured cluster afresh.") from None


def init(state_dir: Path) -> dict:
    """Create security.json with fresh random secrets, once; the existing one otherwise."""
    if is_secure(state_dir):
        return load(state_dir)
    secrets_ = {"mode": "sasl-scram", "admin_password": secrets.token_urlsafe(18),
                "controller_password": secrets.token_urlsafe(18)}
    try:
        write_atomic(state_dir / SECURITY_FILE, json.dumps(secrets_, indent=2))
        os.chmod(state_dir / SECURITY_FILE, 0o600)
    except OSError as exc:
        raise os_error(exc, state_dir) from None
    return secrets_


def attach(cluster, secrets: dict) -> None:
    """Every client labkit makes for ``cluster`` logs in as admin (clients.register_credentials)."""
    from .. import clients
    cluster.secrets = secrets
    clients.register_credentials(cluster.bootstrap_servers, client_settings(ADMIN, secrets["admin_password"]))


def detach(cluster) -> None:
    """After ``down``: clients for these ports no longer log in (``prepare`` attaches again)."""
    from .. import clients
    clients.forget_credentials(cluster.bootstrap_servers)


def prepare(cluster) -> None:
    """Before ``up``/``format``: refuse a folder of the other mode; a secured one gets its secrets
    (created once) and its login registered again."""
    check_mode(cluster.state_dir, cluster.secure)
    if cluster.secure:
        attach(cluster, cluster.secrets or init(cluster.state_dir))


def jaas(module: str, **options: str) -> str:
    body = " ".join(f'{k}="{v}"' for k, v in options.items())
    return f"org.apache.kafka.common.security.{module} required {body};"


def broker_properties(node: int, node_dir: Path, base: int, sec: dict) -> dict[str, str]:
    """The structural properties of a secured node (they replace settings.py's plain ones)."""
    client = f"{config.HOST}:{config.client_port(node, base)}"
    voters = ",".join(f"{n}@{config.HOST}:{config.controller_port(n, base)}" for n in config.NODES)
    ctl = sec["controller_password"]
    props = {
        "process.roles": "broker,controller",
        "node.id": str(node),
        "listeners": f"SASL_PLAINTEXT://{client},CONTROLLER://{config.HOST}:{config.controller_port(node, base)}",
        "advertised.listeners": f"SASL_PLAINTEXT://{client}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "SASL_PLAINTEXT",
        "listener.security.protocol.map": "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
        "controller.quorum.voters": voters,
        "log.dirs": str(node_dir / "data"),
        "sasl.enabled.mechanisms": MECHANISM,
        "sasl.mechanism.inter.broker.protocol": MECHANISM,
        "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config":
            jaas("scram.ScramLoginModule", username=ADMIN, password=sec["admin_password"]),
        # SCRAM users live in the metadata log the controllers serve: the controllers use PLAIN
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config":
            jaas("plain.PlainLoginModule", username=CONTROLLER_USER, password=ctl,
                 **{f"user_{CONTROLLER_USER}": ctl}),
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": f"User:{ADMIN};User:{CONTROLLER_USER}",
        "allow.everyone.if.no.acl.found": "false",
    }
    from ..classroom.roster import add_listener  # `labkit class up --listen ADDRESS` only (issue 20)
    return add_listener(props, node, node_dir.parent, base)


def format_args(sec: dict) -> list[str]:
    """``kafka-storage format`` arguments that create the admin's SCRAM credential (KIP-900)."""
    return ["--add-scram", f"{MECHANISM}=[name={ADMIN},password={sec['admin_password']}]"]


def client_settings(user: str, password: str) -> dict[str, str]:
    """The librdkafka settings a client needs to log in as ``user`` (``labkit client-config``)."""
    return {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": MECHANISM,
            "sasl.username": user, "sasl.password": password}


def java_settings(user: str, password: str) -> dict[str, str]:
    """The same login for Kafka's Java clients and tools (``--command-config``): Java has no
    ``sasl.username``/``sasl.password``; it takes a JAAS line in ``sasl.jaas.config``."""
    return {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": MECHANISM,
            "sasl.jaas.config": jaas("scram.ScramLoginModule", username=user, password=password)}


def check_user_name(name: str) -> str:
    """A learner name usable as principal and as topic prefix, or a LabError saying why not."""
    if not isinstance(name, str) or not USER_NAME.fullmatch(name):
        raise LabError(f"{name!r} is not a valid lab user name.",
                       hint="use a letter, then up to 31 letters, digits, '_' or '-' (it becomes the "
                            "principal User:NAME and the prefix 'NAME.' of its topics and groups).")
    if name in (ADMIN, CONTROLLER_USER):
        raise LabError(f"{name!r} is the lab's own super user.", hint="pick another name, e.g. alice.")
    return name


def user_file(state_dir: Path, name: str) -> Path:
    return state_dir / USERS_DIR / f"{name}.json"


def save_user(state_dir: Path, name: str, password: str) -> None:
    path = user_file(state_dir, name)
    try:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        write_atomic(path, json.dumps({"user": name, "password": password}))
        os.chmod(path, 0o600)
    except OSError as exc:
        raise os_error(exc, state_dir) from None


def credentials(state_dir: Path, name: str) -> dict[str, str]:
    """The client settings of ``name`` (admin or a user made by ``labkit user add``)."""
    if not is_secure(state_dir):
        raise LabError(f"{state_dir} is not a secured lab cluster.", hint="run `labkit up --secure` first.")
    if name == ADMIN:
        return client_settings(ADMIN, load(state_dir)["admin_password"])
    check_user_name(name)
    try:
        saved = json.loads(user_file(state_dir, name).read_text())
    except (OSError, ValueError):
        raise LabError(f"The secured lab has no user {name!r}.",
                       hint=f"create it with `labkit user add {name}`.") from None
    return client_settings(name, saved["password"])
