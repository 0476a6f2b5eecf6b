"""The lessons and Kafka's tools on an external cluster that wants a login (issue 19).

The secured lab stands in for a managed cluster: SASL/SCRAM on its client ports, and a login
made like a provider's API key (``labkit user add`` plus ACLs on every topic, group and
transactional id and on describing the cluster, as a managed service's cluster-admin key has;
not a super user). A second environment points at it with ``LABKIT_BOOTSTRAP`` and
``LABKIT_CLIENT_CONFIG`` (librdkafka's names), as a learner with a managed cluster does.
The test_secure.py tests cover the Python side (clients, inspection, refused broker control).
"""
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType

from labkit import clients, toollogin
from labkit.cluster import users
from labkit.cluster.external import needs_lab_brokers
from spares import secured_cluster

ROOT = Path(__file__).resolve().parents[2]
# quotes, a backslash and an accent: the login must survive librdkafka's file, JAAS and Java's properties
PASSWORD = 'ma"na\\ged-é-1'


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    with secured_cluster(tmp_path_factory.mktemp("ext-secure")) as cluster:
        yield cluster


def _grants(name: str) -> list[AclBinding]:
    """What a managed cluster's admin key may do, as ACLs: all topics, groups, transactional ids."""
    every = [AclBinding(kind, "*", ResourcePatternType.LITERAL, f"User:{name}", "*", AclOperation.ALL,
                        AclPermissionType.ALLOW)
             for kind in (ResourceType.TOPIC, ResourceType.GROUP, ResourceType.TRANSACTIONAL_ID)]
    cluster = [AclBinding(ResourceType.BROKER, "kafka-cluster", ResourcePatternType.LITERAL, f"User:{name}", "*",
                          op, AclPermissionType.ALLOW)
               for op in (AclOperation.DESCRIBE, AclOperation.DESCRIBE_CONFIGS, AclOperation.IDEMPOTENT_WRITE)]
    return every + cluster


@pytest.fixture(scope="module")
def managed(secured, tmp_path_factory):
    """(environment, client properties file): a second environment pointed at the secured lab."""
    users.add_user(secured, "managed", password=PASSWORD)
    with clients.admin(secured.bootstrap_servers) as admin:  # the lab's admin grants the key its rights
        for binding, future in admin.create_acls(_grants("managed"), request_timeout=10).items():
            clients.result(future, f"granting {binding}")
    home = tmp_path_factory.mktemp("ext-env")
    path = home / "client.properties"
    path.write_text(users.client_config(secured, "managed"))  # what `labkit client-config managed` prints
    env = {**os.environ, "LABKIT_BOOTSTRAP": ",".join(secured.bootstrap_servers.split(",")[:2]),
           "LABKIT_CLIENT_CONFIG": str(path), "LABKIT_STATE_DIR": str(home / "cluster"),
           "LABKIT_TEST_BACKEND": "external", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("LABKIT_BACKEND", None)
    return env, path


def tool(env, *args, stdin=None, timeout=90):
    return subprocess.run(list(args), input=stdin, capture_output=True, text=True, env=env, timeout=timeout)


def test_tools_log_in_with_the_client_config(managed):
    env, _ = managed
    server = env["LABKIT_BOOTSTRAP"].split(",")[0]
    topic = f"ext-tools-{time.time_ns()}"
    res = tool(env, "kafka-topics.sh", "--bootstrap-server", server, "--create", "--topic", topic,
               "--partitions", "2", "--replication-factor", "3")
    assert res.returncode == 0 and f"Created topic {topic}" in res.stdout, res.stdout + res.stderr
    login = Path(env["LABKIT_STATE_DIR"] + "-external") / toollogin.JAVA_FILE.replace(".properties", "-managed.properties")
    assert stat.S_IMODE(login.stat().st_mode) == 0o600 and "ScramLoginModule" in login.read_text()
    res = tool(env, "kafka-console-producer.sh", "--bootstrap-server", server, "--topic", topic,
               "--reader-property", "parse.key=true", "--reader-property", "key.separator=:",
               stdin="ada:first\nada:second\n")
    assert res.returncode == 0, res.stderr
    res = tool(env, "kafka-console-consumer.sh", "--bootstrap-server", server, "--topic", topic, "--group",
               f"{topic}-readers", "--from-beginning", "--max-messages", "2", "--timeout-ms", "30000")
    assert res.stdout.split() == ["first", "second"], res.stdout + res.stderr
    res = tool(env, "kafka-consumer-groups.sh", "--bootstrap-server", server, "--describe", "--group",
               f"{topic}-readers")
    assert res.returncode == 0 and topic in res.stdout, res.stdout + res.stderr
    res = tool(env, "kafka-configs.sh", "--bootstrap-server", server, "--describe", "--entity-type", "topics",
               "--entity-name", topic)
    assert res.returncode == 0 and f"Dynamic configs for topic {topic}" in res.stdout, res.stdout + res.stderr


def test_wrong_password_is_refused_in_seconds(managed, tmp_path):
    env, path = managed
    wrong = tmp_path / "wrong.properties"
    wrong.write_text(path.read_text().replace("sasl.password=", "sasl.password=x"))
    env = {**env, "LABKIT_CLIENT_CONFIG": str(wrong)}
    server = env["LABKIT_BOOTSTRAP"].split(",")[0]
    t0 = time.monotonic()  # the tool: the console producer alone would wait for ever
    res = tool(env, "kafka-console-producer.sh", "--bootstrap-server", server, "--topic", "anything", stdin="x\n")
    assert time.monotonic() - t0 < 10
    assert res.returncode == 2 and "Authentication failed" in res.stderr and str(wrong) in res.stderr
    t0 = time.monotonic()  # the Python clients: lk.start() on that environment
    code = "import labkit as lk\ntry:\n    lk.start(quiet=True)\nexcept lk.LabError as exc:\n    print(exc)\n"
    res = tool({**env, "LABKIT_BACKEND": "external"}, sys.executable, "-c", code)
    assert time.monotonic() - t0 < 15
    assert "Authentication failed" in res.stdout and "Hint:" in res.stdout, res.stdout + res.stderr


def external_copy(notebook: Path, folder: Path) -> Path:
    """``notebook`` as the external backend runs it: cells marked as needing the lab's own brokers
    print why they are skipped (cluster/external.py), so their saved output is not compared."""
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and needs_lab_brokers(cell.source):
            cell.source = "\n".join(line for line in cell.source.splitlines()
                                    if line.strip() != "# NBVAL_CHECK_OUTPUT")
    path = folder / notebook.name
    nbformat.write(nb, path)
    return path


# Every lesson but those whose point is breaking brokers (06: failover; 09-11: Streams, Connect
# and metrics need the lab's own processes beside the cluster). 02 and 03 once failed here.
LESSONS = [("02", "03"), ("00", "01", "04", "05", "07", "08")]


@pytest.mark.parametrize("numbers", LESSONS, ids=["-".join(n) for n in LESSONS])
def test_lessons_run_on_the_external_cluster(managed, numbers, tmp_path):
    """The lessons under nbval, their kernels pointed at the external cluster."""
    env, _ = managed
    copies = [str(external_copy(next((ROOT / "notebooks").glob(f"{n}_*.ipynb")), tmp_path)) for n in numbers]
    t0 = time.monotonic()
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(ROOT),
                          "-c", str(ROOT / "pyproject.toml"), "--nbval-lax", *copies],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    seconds = time.monotonic() - t0
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert " passed" in res.stdout and "failed" not in res.stdout
    print(f"notebooks {', '.join(numbers)} on the external backend: {seconds:.0f} s")
    assert seconds < 90 * len(numbers)


def test_marked_cells_are_skipped_with_a_message_in_ipython(capsys):
    """Run All does not stop at a cell that needs the lab's own brokers: IPython runs a message
    instead (no cluster needed: labkit's input transformer in a real InteractiveShell)."""
    from IPython.core.interactiveshell import InteractiveShell

    from labkit.cluster import external
    shell = InteractiveShell.instance()
    try:
        external.guard_cells("broker.example:9092")
        external.guard_cells("broker.example:9092")  # once only, however often lk.start() runs
        assert sum(getattr(t, "labkit_guard", False) for t in shell.input_transformers_cleanup) == 1
        result = shell.run_cell("# NBVAL_CHECK_OUTPUT\n" + external.CELL_MARKER + ": data folders\nraise SystemError\n")
        assert result.success, result.error_in_exec
        out = capsys.readouterr().out
        assert "Skipped" in out and "broker.example:9092 is not the lab's to break" in out
        assert shell.run_cell("print(6 * 7)\n").success and capsys.readouterr().out == "42\n"
    finally:
        shell.input_transformers_cleanup[:] = [t for t in shell.input_transformers_cleanup
                                               if not getattr(t, "labkit_guard", False)]
        InteractiveShell.clear_instance()


def test_kill_is_refused_not_run(managed, secured):
    """A broker-breaking helper on the external backend: the LabError saying so, nothing stopped."""
    env, _ = managed
    code = ("import labkit as lk\nlab = lk.start(quiet=True)\ntry:\n    lab.kill(1)\n"
            "except lk.LabError as exc:\n    print(exc)\n")
    res = tool({**env, "LABKIT_BACKEND": "external"}, sys.executable, "-c", code)
    assert "not the lab's to break" in res.stdout, res.stdout + res.stderr
    assert all(row["state"] == "running" for row in secured.status())
