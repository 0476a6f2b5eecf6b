"""Kafka's own tools through the shims: the learner's notes' commands work as written,
with only host and port changed."""
import subprocess

import pytest

from labkit import config, tools
from labkit.errors import LabError


def run(*args, stdin=None, timeout=120):
    return subprocess.run(list(args), input=stdin, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def server(lab):
    with lab.admin() as admin:
        if "Topic1" in admin.list_topics(timeout=10).topics:
            from labkit.topics import delete_topic
            delete_topic(admin, "Topic1")
    return lab.bootstrap_servers.split(",")[0]  # localhost:9092 in a learner's lab


def test_version():
    for tool in ("kafka-topics", "kafka-topics.sh"):
        res = run(tool, "--version")
        assert res.returncode == 0 and res.stdout.strip().startswith(config.KAFKA_VERSION)


def test_seed_topic_commands(server):
    res = run("kafka-topics.sh", "--bootstrap-server", server, "--create", "--topic", "Topic1",
              "--partitions", "1", "--replication-factor", "1")
    assert res.returncode == 0 and "Created topic Topic1" in res.stdout
    res = run("kafka-topics.sh", "--bootstrap-server", server, "--describe", "--topic", "Topic1")
    assert "PartitionCount: 1" in res.stdout and "ReplicationFactor: 1" in res.stdout
    res = run("kafka-topics", "--list", "--bootstrap-server", server)
    assert "Topic1" in res.stdout.split()


def test_seed_typo_is_refused_by_kafka(server):
    # the notes write --partitions1; Kafka's tool says what is wrong instead of guessing
    res = run("kafka-topics.sh", "--bootstrap-server", server, "--create", "--topic", "Topic2",
              "--partitions1", "--replication-factor", "1")
    assert res.returncode != 0 and "partitions1 is not a recognized option" in res.stdout + res.stderr


def test_seed_console_producer_and_consumer(server):
    run("kafka-topics.sh", "--bootstrap-server", server, "--create", "--if-not-exists", "--topic",
        "Topic1", "--partitions", "1", "--replication-factor", "1")
    res = run("kafka-console-producer.sh", "--bootstrap-server", server, "--topic", "Topic1",
              stdin="first\nsecond\n")
    assert res.returncode == 0, res.stderr
    res = run("kafka-console-consumer.sh", "--bootstrap-server", server, "--topic", "Topic1",
              "--from-beginning", "--max-messages", "2", "--timeout-ms", "30000")
    assert res.stdout.split()[-2:] == ["first", "second"], res.stdout + res.stderr


def test_metadata_quorum_agrees_with_labkit_controller(lab, server):
    res = run("kafka-metadata-quorum", "--bootstrap-server", server, "describe", "--status")
    leader = next(int(line.split()[-1]) for line in res.stdout.splitlines() if line.startswith("LeaderId"))
    assert leader == lab.controller


def test_every_tool_class_is_in_the_jars():
    # each shim names a class that really exists in the pinned release
    import zipfile
    from labkit.cluster import fetch
    classes = set()
    for jar in fetch.fetch().glob("*.jar"):
        with zipfile.ZipFile(jar) as z:
            classes.update(n[:-6].replace("/", ".") for n in z.namelist() if n.endswith(".class"))
    missing = {tool: cls for tool, cls in tools.TOOLS.items() if cls not in classes}
    assert not missing


def test_unknown_tool():
    with pytest.raises(LabError) as err:
        tools.command("kafka-zookeeper-shell.sh", [])
    assert "kafka-topics" in err.value.hint
