"""The check of notebook 12 against a live secured lab: the right grant passes, each typical wrong
grant fails with a verdict that names the mistake."""
import io

import pytest
from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation, AclPermissionType, NewTopic,
                                   ResourcePatternType, ResourceType)

from labkit import clients
from labkit import lessons as exercises
from labkit.lab import Lab
from helpers import verdict
from spares import secured_cluster

TOPIC = "announcements"


@pytest.fixture(scope="module")
def secure_lab(tmp_path_factory):
    with secured_cluster(tmp_path_factory.mktemp("secure-lesson")) as cluster:
        yield _prepared(Lab(cluster, out=io.StringIO()))


def _prepared(lab):
    """bob, and a topic of three partitions with one record in each."""
    lab.add_user("bob")
    with lab.admin() as admin:
        clients.result(admin.create_topics([NewTopic(TOPIC, 3, 3)])[TOPIC], "create")
    with lab.producer() as p:
        for i in range(3):
            p.produce(TOPIC, f"news {i}".encode(), partition=i)
        assert p.flush(15) == 0
    return lab


def _only(lab, *bindings):
    """bob's ACLs on the topic are exactly ``bindings`` (earlier tests' removed)."""
    with lab.admin() as admin:
        flt = AclBindingFilter(ResourceType.TOPIC, None, ResourcePatternType.ANY, "User:bob", None,
                               AclOperation.ANY, AclPermissionType.ANY)
        for f in admin.delete_acls([flt]).values():  # also bob's own prefix: put back below
            f.result(10)
        keep = AclBinding(ResourceType.TOPIC, "bob.", ResourcePatternType.PREFIXED, "User:bob", "*",
                          AclOperation.ALL, AclPermissionType.ALLOW)
        for f in admin.create_acls([keep, *bindings]).values():
            f.result(10)


def _grant(name, pattern, operation):
    return AclBinding(ResourceType.TOPIC, name, pattern, "User:bob", "*", operation, AclPermissionType.ALLOW)


def test_right_grant(secure_lab, capsys):
    _only(secure_lab, _grant(TOPIC, ResourcePatternType.LITERAL, AclOperation.READ))
    assert exercises.check_read_grant(secure_lab, "bob", TOPIC) is True
    line = verdict(capsys)
    assert line.startswith("✔ correct") and "read 3 record(s)" in line


def test_no_grant_yet(secure_lab, capsys):
    _only(secure_lab)
    assert exercises.check_read_grant(secure_lab, "bob", TOPIC) is False
    assert "has no ACL on 'announcements' yet" in verdict(capsys)


def test_prefixed_grant_is_too_wide(secure_lab, capsys):
    _only(secure_lab, _grant("announce", ResourcePatternType.PREFIXED, AclOperation.READ))
    assert exercises.check_read_grant(secure_lab, "bob", TOPIC) is False
    line = verdict(capsys)
    assert line.startswith("✘ not yet") and "PREFIXED 'announce'" in line


def test_all_operations_is_more_than_reading(secure_lab, capsys):
    _only(secure_lab, _grant(TOPIC, ResourcePatternType.LITERAL, AclOperation.ALL))
    assert exercises.check_read_grant(secure_lab, "bob", TOPIC) is False
    line = verdict(capsys)
    assert line.startswith("✘ not yet") and "may also ALL" in line and "least privilege" in line


def test_unknown_user(secure_lab, capsys):
    assert exercises.check_read_grant(secure_lab, "zoe", TOPIC) is False
    assert "no user 'zoe'" in verdict(capsys)
