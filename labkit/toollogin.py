"""The login Kafka's tools need on a cluster with security (notebook 12; the shims in tools.py).

A tool run with ``--bootstrap-server`` pointing at the external backend (``LABKIT_BOOTSTRAP``)
or at the secured lab gets ``--command-config FILE``: the login of ``LABKIT_CLIENT_CONFIG`` (or
the secured lab's admin, as ``lab.admin()`` has), translated to Java's names by
``cluster/javaconf.py`` and written 0600 beside the cluster's state. Kafka 4.4's tools all take
``--command-config`` for their clients (KIP-1147 renamed the console clients' ``--producer.config``
and ``--consumer.config`` to it). Before the JVM starts, the same login is tried with librdkafka:
an unknown host, a cluster that does not answer or a refused password end the run within
``PREFLIGHT`` seconds with a LabError, where Kafka's console producer would wait forever.
"""
from __future__ import annotations

import os
import re
import socket
from pathlib import Path

from . import config
from .errors import LabError

PREFLIGHT = 15.0  # seconds, at most, before a tool on a secured cluster runs or is refused
CONFIG_FLAGS = ("--command-config", "--producer.config", "--consumer.config", "--admin.config",
                "--consumer-config")
JAVA_FILE = "tools-login.properties"


def _hosts(bootstrap: str) -> set[tuple[str, int]]:
    """``host:port,...`` as a set; localhost counts as 127.0.0.1 (what the lab advertises)."""
    out = set()
    for item in bootstrap.split(","):
        host, _, port = item.strip().rpartition(":")
        if host and port.isdigit():
            out.add(("127.0.0.1" if host == "localhost" else host.strip("[]"), int(port)))
    return out


def bootstrap_arg(args: list[str]) -> str | None:
    """The value of ``--bootstrap-server`` in a tool's arguments, if any."""
    for i, arg in enumerate(args):
        if arg == "--bootstrap-server" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--bootstrap-server="):
            return arg.split("=", 1)[1]
    return None


def external_folder() -> Path:
    """Where the external backend's tool login is written: the lab's state folder + '-external'."""
    plain = config.state_dir()
    return plain.with_name(plain.name + "-external")


def login_for(bootstrap: str) -> tuple[dict, Path, str] | None:
    """(librdkafka login, where its Java file goes, where it came from) for a tool run against
    ``bootstrap``; None for a cluster without security (the plain lab: its tools run unchanged)."""
    wanted = _hosts(bootstrap)
    external = os.environ.get("LABKIT_BOOTSTRAP", "")
    if external and wanted & _hosts(external):
        path = os.environ.get("LABKIT_CLIENT_CONFIG")
        if not path:
            return None  # an external cluster without security
        from .cluster.external import read_properties
        settings = read_properties(Path(path))
        settings.pop("bootstrap.servers", None)
        return settings, external_folder() / JAVA_FILE, f"{path} (LABKIT_CLIENT_CONFIG)"
    from .cluster import secure
    folder = config.secure_state_dir()
    if secure.is_secure(folder):
        from .cluster.local import LocalCluster
        lab = LocalCluster(state_dir=folder, secure=True)
        if wanted & _hosts(lab.bootstrap_servers):
            return secure.credentials(folder, secure.ADMIN), folder / JAVA_FILE, "the secured lab's admin"
    return None


def preflight(bootstrap: str, settings: dict, source: str) -> None:
    """Try the login with librdkafka first: a LabError within PREFLIGHT seconds, not a hung tool."""
    from . import clients
    hosts = sorted(_hosts(bootstrap))
    for host, port in hosts:
        try:
            socket.getaddrinfo(host, port)
        except (socket.gaierror, UnicodeError):
            raise LabError(f"{host} (in --bootstrap-server {bootstrap}) is not a host name this machine "
                           "can resolve.", hint="check the address in LABKIT_BOOTSTRAP and the tool's "
                                                "--bootstrap-server (a typo? no network?).") from None
    from .cluster.procs import port_answers
    if not any(port_answers(port, host, timeout=3) for host, port in hosts):
        raise LabError(f"No broker answers at {bootstrap}.",
                       hint="is the cluster up? For the secured lab: `labkit up --secure`; for an "
                            "external one: check LABKIT_BOOTSTRAP and your network.")
    try:
        client = clients.admin(bootstrap, settings)  # a SASL login is tried here (check_login)
        try:
            client.list_topics(timeout=config.TIMEOUTS.request)
        finally:
            clients.close(client)
    except clients.AuthenticationFailed as exc:
        raise LabError(f"{exc.message}; the login came from {source}.",
                       hint="check sasl.username, sasl.password and sasl.mechanism(s) in that file; "
                            "for a lab user `labkit client-config NAME` prints the right ones.") from None
    except LabError:
        raise
    except Exception as exc:  # librdkafka's KafkaException: no metadata within the timeout
        raise LabError(f"The cluster at {bootstrap} did not answer the login from {source} "
                       f"({exc}).", hint="check security.protocol and the address.") from None


def add_login(tool: str, args: list[str]) -> list[str]:
    """``args`` with ``--command-config FILE`` added when the tool's cluster needs a login and the
    learner gave no client config of their own; unchanged otherwise (the plain lab)."""
    bootstrap = bootstrap_arg(args)
    if bootstrap is None or any(a.split("=", 1)[0] in CONFIG_FLAGS for a in args):
        return args
    login = login_for(bootstrap)
    if login is None:
        return args
    settings, path, source = login
    if settings.get("sasl.username"):  # one file per login: two learners sharing a state folder never swap
        who = re.sub(r"[^A-Za-z0-9._-]", "_", settings["sasl.username"])[:64]
        path = path.with_name(f"{path.stem}-{who}{path.suffix}")
    from .cluster import javaconf
    java = javaconf.java_settings(settings)  # before the preflight: an untranslatable file says so at once
    preflight(bootstrap, settings, source)
    # first, not last: kafka-transactions and kafka-metadata-quorum take it only before their
    # subcommand (describe ...); the other tools take options in any order
    return ["--command-config", str(javaconf.write(path, java)), *args]
