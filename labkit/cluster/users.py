"""Lab users on the secured cluster: a SCRAM login plus ACLs on its own name prefix (notebook 12).

``labkit user add alice`` (or ``add_user``) asks the cluster, as admin, to store a SCRAM-SHA-512
credential for ``alice`` (KIP-554, the AdminClient's ``alter_user_scram_credentials``) and to
allow ``User:alice`` every operation on topics, groups and transactional ids whose names start
with ``alice.`` (PREFIXED ACLs, KIP-290). Nothing else: the authorizer refuses the rest.
"""
from __future__ import annotations

import secrets

from confluent_kafka import KafkaException
from confluent_kafka.admin import (AclBinding, AclOperation, AclPermissionType, ResourcePatternType,
                                   ResourceType, ScramCredentialInfo, ScramMechanism,
                                   UserScramCredentialUpsertion)

from .. import clients, config
from ..errors import LabError
from ..wait import wait_for
from . import secure

PREFIXED = (ResourceType.TOPIC, ResourceType.GROUP, ResourceType.TRANSACTIONAL_ID)
ITERATIONS = 8192  # SCRAM's salted-hash rounds; Kafka's minimum is 4096


def acl_bindings(name: str) -> list[AclBinding]:
    """The ACLs a lab user gets: ALL on its ``NAME.`` topics, groups and transactional ids."""
    return [AclBinding(kind, f"{name}.", ResourcePatternType.PREFIXED, f"User:{name}", "*",
                       AclOperation.ALL, AclPermissionType.ALLOW) for kind in PREFIXED]


def add_user(cluster, name: str, password: str | None = None) -> dict[str, str]:
    """Create (or reset) lab user ``name``; return its client settings once it can log in."""
    secure.check_user_name(name)
    if not getattr(cluster, "secure", False) or not cluster.secrets:
        raise LabError("Users exist only on the secured lab cluster.", hint="start it with `labkit up --secure`.")
    password = password or secrets.token_urlsafe(12)
    upsert = UserScramCredentialUpsertion(
        name, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, ITERATIONS), password.encode())
    admin = clients.admin(cluster.bootstrap_servers)
    try:
        clients.result(admin.alter_user_scram_credentials([upsert])[name], f"creating user {name!r}")
        futures = admin.create_acls(acl_bindings(name), request_timeout=config.TIMEOUTS.request)
        for binding, future in futures.items():
            clients.result(future, f"allowing {name!r} on {binding.restype.name.lower()}s '{name}.*'")
    finally:
        clients.close(admin)
    secure.save_user(cluster.state_dir, name, password)
    settings = secure.client_settings(name, password)
    _wait_usable(cluster.bootstrap_servers, settings)
    return settings


def _wait_usable(bootstrap: str, settings: dict) -> None:
    """Every broker learns the credential from the metadata log: wait until each accepts it."""
    from confluent_kafka.admin import AdminClient

    for host in bootstrap.split(","):
        def logs_in() -> bool:
            probe = AdminClient({"bootstrap.servers": host, **settings, "logger": clients._LOG})
            try:
                probe.list_topics(timeout=1)  # a refused login leaves this without an answer
                return True
            finally:
                clients.close(probe)
        wait_for(f"broker {host} to accept the new user", logs_in, 15, 0.2, retry_on=(KafkaException,),
                 hint="is every broker of the secured lab running? `labkit status --secure` tells.")


def client_config(cluster, name: str, java: bool = False) -> str:
    """The properties file text a client needs to log in as ``name`` (``labkit client-config``):
    librdkafka's names, or with ``java`` those of Kafka's Java tools (``--command-config``)."""
    login = secure.credentials(cluster.state_dir, name)
    if java:
        login = secure.java_settings(login["sasl.username"], login["sasl.password"])
    settings = {"bootstrap.servers": cluster.bootstrap_servers, **login}
    return "\n".join(f"{k}={v}" for k, v in settings.items()) + "\n"
