"""The check for notebook 12's exercise: give a lab user read access to one shared topic, no more.

On the secured lab (``lk.start_secure()``), user ``bob`` may use only topics and groups named
``bob.*``. The learner, as admin, grants ``User:bob`` READ on the admin's topic ``announcements``
with one ACL. The check reads the cluster's ACLs for ``User:bob`` (``describe_acls``) and then
really reads the topic with bob's login: right is READ (DESCRIBE is implied) on exactly that
topic name. A PREFIXED pattern (it would also open ``announcements-payroll``) and an operation
beyond reading (WRITE, ALL, ...) are wrong, each with its own message.
"""
from __future__ import annotations

import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import (AclBindingFilter, AclOperation, AclPermissionType, ResourcePatternType,
                                   ResourceType)

from .. import clients, config
from .verdict import Wrong, _verdict

READ_ONLY = {AclOperation.READ, AclOperation.DESCRIBE}


def _bindings(lab, user: str) -> list:
    """Every ACL binding of ``User:user`` (admin's view)."""
    flt = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, f"User:{user}", None,
                           AclOperation.ANY, AclPermissionType.ANY)
    with lab.admin() as admin:
        return clients.result(admin.describe_acls(flt, request_timeout=config.TIMEOUTS.request),
                              f"listing the ACLs of User:{user}")


def _read_as(lab, login: dict, topic: str, timeout: float = 10.0) -> int:
    """How many records ``login`` reads from ``topic`` from the beginning (0 if refused or empty)."""
    with lab.admin() as admin:
        parts = list(admin.list_topics(topic, timeout=config.TIMEOUTS.request).topics[topic].partitions)
    c = Consumer({"bootstrap.servers": lab.bootstrap_servers, **login, "logger": clients._LOG,
                  "group.id": f"{login['sasl.username']}.check-{time.monotonic_ns()}",
                  "enable.auto.commit": False})
    try:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        got, deadline = 0, time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = c.poll(0.5)
            if msg is None:
                if got:
                    break
                continue
            if msg.error():
                if msg.error().name() == "TOPIC_AUTHORIZATION_FAILED":
                    return 0
                continue
            got += 1
        return got
    finally:
        c.close()


@_verdict
def check_read_grant(lab, user: str, topic: str) -> str:
    """Notebook 12: ``user`` may read ``topic`` (a LITERAL READ ACL) and do nothing else on it."""
    login = lab.client_config(user)
    others = [b for b in _bindings(lab, user) if b.restype == ResourceType.TOPIC
              and not (b.resource_pattern_type == ResourcePatternType.PREFIXED and b.name == f"{user}.")]
    mine = [b for b in others if topic.startswith(b.name)] if others else []
    if not mine:
        raise Wrong(f"User:{user} has no ACL on {topic!r} yet: create one with admin.create_acls([AclBinding("
                    f"ResourceType.TOPIC, {topic!r}, ResourcePatternType.LITERAL, 'User:{user}', '*', "
                    "AclOperation.READ, AclPermissionType.ALLOW)]).")
    prefixed = [b for b in mine if b.resource_pattern_type == ResourcePatternType.PREFIXED]
    if prefixed:
        raise Wrong(f"the ACL's pattern is PREFIXED {prefixed[0].name!r}: it also opens every topic whose name "
                    f"starts with it (say '{prefixed[0].name}-payroll'). Delete it and grant on the LITERAL "
                    "name.")
    beyond = sorted({b.operation.name for b in mine if b.permission_type == AclPermissionType.ALLOW
                     and b.operation not in READ_ONLY})
    if beyond:
        raise Wrong(f"User:{user} may also {' and '.join(beyond)} on {topic!r}: grant READ only "
                    "(least privilege), and delete the broader ACL.")
    read = _read_as(lab, login, topic)
    if not read:
        raise Wrong(f"logged in as {user}, nothing could be read from {topic!r}: is the ACL an ALLOW for "
                    f"READ on that exact name, and does the topic hold records?")
    return (f"User:{user} read {read} record(s) of {topic!r} and may do nothing else there: one LITERAL "
            "READ ACL, least privilege.")
