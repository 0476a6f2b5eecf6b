"""confluent-kafka clients with the lab's boilerplate done: bootstrap, timeouts, readable errors.

Introduced in notebook 00. What comes back is the real ``Producer``, ``Consumer`` or
``AdminClient``: learners call confluent-kafka's own API on it. labkit adds only what every lab
client needs: the bootstrap servers, timeouts that end waits in seconds rather than minutes,
librdkafka's connection chatter kept out of the notebook, and "all brokers are down" turned into
a ``LabError`` that says what to do.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import logging

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient

from . import config
from .cluster import procs
from .errors import ClusterDown, LabError, no_cluster


class AuthenticationFailed(LabError):
    """The broker refused a client's SASL login (wrong user or password; notebook 12)."""

# librdkafka logs every refused connection; during a failover demo that is noise, not news.
_LOG = logging.getLogger("labkit.librdkafka")
_LOG.addHandler(logging.NullHandler())
_LOG.propagate = False

# Python callbacks keep their underscores; every other keyword maps linger_ms -> linger.ms.
_CALLBACKS = {"error_cb", "stats_cb", "throttle_cb", "oauth_cb", "on_delivery", "on_commit", "logger"}

DEFAULTS = {
    # a request to a dead broker fails after 10 s instead of 60
    "admin": {"socket.timeout.ms": 10000, "socket.connection.setup.timeout.ms": 5000},
    # an undeliverable record is reported after 30 s instead of 5 minutes
    "producer": {"message.timeout.ms": 30000, "socket.connection.setup.timeout.ms": 5000},
    # a vanished consumer leaves its group after 10 s instead of 45
    "consumer": {"session.timeout.ms": 10000, "socket.connection.setup.timeout.ms": 5000},
}


# Login settings per bootstrap string: the secured lab's admin (notebook 12, cluster/secure.py).
_CREDENTIALS: dict[str, dict] = {}


def register_credentials(bootstrap: str, settings: dict) -> None:
    """Make every client labkit builds for ``bootstrap`` use ``settings`` (SASL login) by default."""
    _CREDENTIALS[bootstrap] = dict(settings)


def forget_credentials(bootstrap: str) -> None:
    """A plain cluster now answers at ``bootstrap``: its clients log in as nobody."""
    _CREDENTIALS.pop(bootstrap, None)


def credentials(bootstrap: str) -> dict:
    """The login settings registered for ``bootstrap`` ({} for the plain lab)."""
    return dict(_CREDENTIALS.get(bootstrap, {}))


def merge(kind: str, bootstrap: str, settings: dict | None, kwargs: dict) -> dict:
    """Lab defaults, then the caller's settings; ``linger_ms=5`` is accepted for ``linger.ms``."""
    conf = {"bootstrap.servers": bootstrap, **credentials(bootstrap), **DEFAULTS[kind], "logger": _LOG,
            "error_cb": _raise_when_all_down(bootstrap)}
    conf.update(settings or {})
    conf.update({k if k in _CALLBACKS else k.replace("_", "."): v for k, v in kwargs.items()})
    if conf.get("group.protocol") == "consumer":
        # KIP-848 (notebook 05): session and heartbeat are the broker's business; librdkafka
        # refuses a consumer that sets them, so the lab's default must not be the one that does
        for key in ("session.timeout.ms", "heartbeat.interval.ms"):
            if key not in (settings or {}) and key.replace(".", "_") not in kwargs:
                conf.pop(key, None)
    return conf


def _raise_when_all_down(bootstrap: str):
    def error_cb(err: KafkaError) -> None:
        if err.code() == KafkaError._AUTHENTICATION:  # SASL refused: retrying will not help
            raise AuthenticationFailed(f"Authentication failed at {bootstrap}: {err.str()}",
                                       hint="check sasl.username and sasl.password; `labkit client-config "
                                            "NAME` prints a lab user's settings (notebook 12).")
        # librdkafka also says this when a dead bootstrap broker fails before the others have
        # connected (during a failover demo, say): only a cluster with no port answering is down
        if err.code() == KafkaError._ALL_BROKERS_DOWN and not _any_answers(bootstrap):
            raise ClusterDown(f"All brokers at {bootstrap} are down or unreachable.",
                              hint="start them with `labkit up` (or lab.start_broker(n) for each "
                                   "stopped one); `labkit status` shows which are running.")
    return error_cb


def _any_answers(bootstrap: str) -> bool:
    hosts = [hp.rsplit(":", 1) for hp in bootstrap.split(",")]
    return any(procs.port_answers(int(port), host) for host, port in hosts)


def require_cluster(bootstrap: str) -> None:
    """Fail fast, with a hint, when no broker of ``bootstrap`` answers at all."""
    if not _any_answers(bootstrap):
        raise no_cluster(bootstrap)


def _build(cls, conf: dict):
    """Construct a client; librdkafka's refusal of a setting becomes a LabError naming it."""
    try:
        return cls(conf)
    except (KafkaException, ValueError, TypeError) as exc:
        err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
        raise LabError(f"Invalid client setting: {err.str() if err else exc}",
                       hint="check the name and value against librdkafka's CONFIGURATION.md; "
                            "keywords use '_' for '.', e.g. auto_offset_reset='earliest'.") from None


def check_login(client, conf: dict, timeout: float = 10.0):
    """A SASL client's login tried at once (notebook 12): a wrong password is a LabError in about
    a second, not a request that times out later. ``client.poll`` serves error_cb, which raises."""
    if "sasl.username" not in conf:
        return client
    from .wait import wait_for

    def logged_in() -> bool:
        client.poll(0.1)
        client.list_topics(timeout=0.5)
        return True
    try:
        wait_for(f"a login as {conf['sasl.username']!r}", logged_in, timeout, 0.1, retry_on=(KafkaException,),
                 hint="is the secured lab up? `labkit up --secure` starts it.")
    except BaseException:
        close(client)
        raise
    return client


def admin(bootstrap: str, settings: dict | None = None, **kwargs) -> AdminClient:
    require_cluster(bootstrap)
    conf = merge("admin", bootstrap, settings, kwargs)
    return check_login(_build(AdminClient, conf), conf)


def producer(bootstrap: str, settings: dict | None = None, **kwargs) -> Producer:
    require_cluster(bootstrap)
    conf = merge("producer", bootstrap, settings, kwargs)
    return check_login(_build(Producer, conf), conf)


def consumer(bootstrap: str, group: str, settings: dict | None = None, **kwargs) -> Consumer:
    require_cluster(bootstrap)
    return _build(Consumer, merge("consumer", bootstrap, {"group.id": group, **(settings or {})}, kwargs))


@contextlib.contextmanager
def quiet_admin(bootstrap: str):
    """An admin client for labkit's own waits: no liveness check, no raising callback.

    It is closed on the way out (its log queue served first), so none outlives its wait.
    """
    client = quiet_admin_client(bootstrap)
    try:
        yield client
    finally:
        close(client)


def quiet_admin_client(bootstrap: str):
    """A long-lived quiet admin client (the inspector's); its owner closes it with ``close``."""
    return AdminClient({"bootstrap.servers": bootstrap, **credentials(bootstrap), **DEFAULTS["admin"],
                        "logger": _LOG})


def close(client) -> None:
    """Serve a client's queued logs and callbacks, then destroy it (librdkafka's resources)."""
    with contextlib.suppress(Exception):  # closing must never hide the error that ended a block
        client.poll(0)
    with contextlib.suppress(Exception):
        if hasattr(client, "close"):  # Consumer
            client.close()
        else:  # AdminClient and Producer destroy their handle on __exit__ (confluent-kafka 2.13+)
            client.__exit__(None, None, None)


def result(future, what: str, timeout: float = config.TIMEOUTS.request):
    """Resolve one admin future; Kafka's error becomes a LabError that names ``what`` failed."""
    try:
        return future.result(timeout=timeout)
    except KafkaException as exc:
        err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
        name = err.name() if err else type(exc).__name__
        text = err.str() if err else str(exc)
        raise LabError(f"{what} failed: {name}: {text}", hint=HINTS.get(name, "")) from None
    except (TimeoutError, concurrent.futures.TimeoutError):  # distinct classes before Python 3.11
        raise LabError(f"{what} got no answer within {timeout:.0f} s.",
                       hint="is the cluster up? `labkit status` tells.") from None


# What a consumer reports while a coordinator or a leader moves (a broker restarted, a group's
# coordinator still loading); librdkafka retries these itself, so a read loop carries on.
TRANSIENT = frozenset({KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_NOT_AVAILABLE,
                       KafkaError.COORDINATOR_LOAD_IN_PROGRESS, KafkaError.NOT_LEADER_FOR_PARTITION,
                       KafkaError.LEADER_NOT_AVAILABLE})


def transient(err: KafkaError) -> bool:
    """True for a consumer error event librdkafka recovers from by itself (notebook 09's loops)."""
    return err.retriable() or err.code() in TRANSIENT


# Kafka's error names learners meet, and what to do about each (notebooks 01 and 06).
HINTS = {
    "TOPIC_ALREADY_EXISTS": "delete it first, or pick another name.",
    "UNKNOWN_TOPIC_OR_PART": "check the name with lab.admin().list_topics().topics.",
    "INVALID_TOPIC_EXCEPTION": "topic names use letters, digits, '.', '_' and '-', at most 249 chars.",
    "TOPIC_EXCEPTION": "topic names use letters, digits, '.', '_' and '-', at most 249 chars "
                       "(and are not '.' or '..').",
    "INVALID_CONFIG": "a topic setting has a wrong name or value; Kafka's message says which.",
    "NOT_COORDINATOR": "the group's coordinator moved (a broker restarted?): try again in a few seconds.",
    "COORDINATOR_NOT_AVAILABLE": "the group coordinator is not up yet (a broker restarted?): try "
                                 "again in a few seconds.",
    "COORDINATOR_LOAD_IN_PROGRESS": "the group coordinator is still loading: try again in a few seconds.",
    "INVALID_REPLICATION_FACTOR": "the replication factor cannot exceed the number of live brokers.",
    "INVALID_PARTITIONS": "partitions can be added but never removed; ask for more than there are.",
    "NOT_ENOUGH_REPLICAS": "fewer in-sync replicas than min.insync.replicas: start a broker again.",
    "GROUP_ID_NOT_FOUND": "no such consumer group; lab.admin().list_consumer_groups() lists them.",
    "POLICY_VIOLATION": "the broker's policy refused this request.",
    "_TIMED_OUT": "a broker did not answer in time: is the cluster up? `labkit status` tells.",
    # the secured lab (notebook 12)
    "_AUTHENTICATION": "the broker refused the login: check sasl.username and sasl.password.",
    "TOPIC_AUTHORIZATION_FAILED": "no ACL allows this user on that topic; a lab user may use topics "
                                  "named 'NAME.' + anything (`labkit user add NAME`).",
    "GROUP_AUTHORIZATION_FAILED": "no ACL allows this user in that group; a lab user's groups start with 'NAME.'.",
    "CLUSTER_AUTHORIZATION_FAILED": "this needs a cluster-wide right (admin's); lab users have none.",
}
