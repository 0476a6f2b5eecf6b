"""The notes' kafkajs program, corrected (examples/node), against the live lab (notebook 12).

Runs when node and npm exist (CI has them); skipped, saying why, when they do not.
"""
import json

import pytest

from labkit import node
from labkit.errors import LabError

pytestmark = pytest.mark.skipif(not node.available(), reason="node and npm are not installed")


def test_lock_file_pins_kafkajs_2_2_4():
    lock = json.loads((node.EXAMPLE_DIR / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/kafkajs"]["version"] == "2.2.4"
    source = (node.EXAMPLE_DIR / "offsets.js").read_text()
    assert "autoCommit: false" in source and "BigInt(message.offset) + 1n" in source
    assert "replicationFactor: 3" in source


def test_commits_offset_plus_one_up_to_the_end(lab):
    topic = lab.fresh_topic("node-orders-test", partitions=3)
    summary = node.run_example(lab.bootstrap_servers, topic, count=9)
    assert summary["produced"] == 9 and summary["consumed"] == 9
    # the committed offset of each partition is the next one to read: its end offset
    assert summary["committed"] == summary["end"]
    assert sum(int(v) for v in summary["end"].values()) == 9
    with lab.admin() as admin:
        desc = admin.describe_topics(__import__("confluent_kafka").TopicCollection([topic]))[topic].result(10)
        assert all(len(p.replicas) == 3 for p in desc.partitions)


def test_failure_is_a_lab_error():
    with pytest.raises(LabError, match="Node example failed"):
        node.run_example("127.0.0.1:1", "node-nowhere", count=1)
