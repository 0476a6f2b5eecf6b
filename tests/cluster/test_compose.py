"""The compose backend: broker control through the docker SDK (a stand-in for Docker, not for
Kafka), compose commands and their failures; then, marked ``engine``, the backend on a real Docker
engine (tests/cluster/conftest.py): up, status, each broker's kill/stop/start/pause/resume, the
ports the other backend holds, topic deletion with the controller down, one chaos trial per fault,
and notebooks 00, 05 and 06 under nbval, all on the suite's own compose project and ports."""
import io
import json
import subprocess
import time

import pytest

from labkit import clients, config

from labkit.cluster import ready
from labkit.cluster import composefile as compose
from labkit.cluster import BACKENDS, get_cluster
from labkit.cluster.local import LocalCluster
from labkit.cluster.compose import ComposeCluster
from labkit.errors import LabError

FILE = compose.compose_file()


def test_backend_choice():
    assert "compose" in BACKENDS
    assert get_cluster("compose").backend == "compose"
    assert get_cluster("COMPOSE").file == FILE
    with pytest.raises(LabError, match="compose"):
        get_cluster("kubernetes")


class FakeContainer:
    """Stands in for docker.models.containers.Container (Docker, not Kafka, is faked here)."""

    def __init__(self, project, node, status="running", quorum=None):
        self.labels = {"com.docker.compose.project": project,
                       "com.docker.compose.service": compose.service(node)}
        self.status, self.quorum, self.calls = status, quorum, []
        self.attrs = {"State": {"Pid": 4000 + node, "ExitCode": 143},
                      "HostConfig": {"PortBindings": {"9092/tcp": [{"HostPort": str(9091 + node)}]}}}

    def reload(self):
        pass

    def _to(self, name, status, kwargs):
        self.calls.append((name, kwargs))
        self.status = status

    def kill(self, **kw): self._to("kill", "exited", kw)
    def stop(self, **kw): self._to("stop", "exited", kw)
    def start(self, **kw): self._to("start", "running", kw)
    def pause(self, **kw): self._to("pause", "paused", kw)
    def unpause(self, **kw): self._to("unpause", "running", kw)

    def logs(self, tail):
        return "".join(f"log line {i}\n" for i in range(100 - tail, 100)).encode()

    def exec_run(self, cmd):
        assert cmd == ["cat", compose.QUORUM_STATE]
        return (0, json.dumps(self.quorum).encode()) if self.quorum else (1, b"No such file")


class FakeClient:
    def __init__(self, boxes):
        self.boxes = boxes
        self.containers = self

    def list(self, filters=None, **kwargs):
        assert kwargs == {"all": True}  # stopped containers must be found too
        wanted = dict(label.split("=", 1) for label in filters["label"])
        return [b for b in self.boxes if wanted.items() <= b.labels.items()]


@pytest.fixture
def fake():
    boxes = {n: FakeContainer(compose.PROJECT, n, quorum={"leaderId": 2, "leaderEpoch": 5 + n % 2})
             for n in config.NODES}
    stranger = FakeContainer("someone-else", 1)
    cluster = ComposeCluster(client=FakeClient(list(boxes.values()) + [stranger]),
                             project_name=compose.PROJECT, port_base=config.DEFAULT_PORT_BASE)
    return cluster, boxes, stranger


def test_broker_control_calls_the_right_container(fake):
    cluster, boxes, stranger = fake
    assert cluster.kill(2) == "broker 2 killed (SIGKILL)"
    assert boxes[2].calls == [("kill", {"signal": "SIGKILL"})]
    assert cluster.kill("2") == "broker 2 was not running" and len(boxes[2].calls) == 1
    assert "paused" in cluster.pause(1) and boxes[1].calls == [("pause", {})]
    cluster.pause(1)  # twice is harmless, as SIGSTOP twice is
    assert len(boxes[1].calls) == 1
    assert "resumed" in cluster.resume(1) and boxes[1].status == "running"
    assert cluster.stop(3).startswith("broker 3") and boxes[3].calls == [("stop", {"timeout": 30})]
    assert stranger.calls == []  # another project's kafka-1 is never touched
    with pytest.raises(LabError, match="not running"):
        cluster.pause(3)
    with pytest.raises(LabError, match="no broker 7"):
        cluster.kill(7)
    assert cluster.start(1) == "broker 1 is already running"


def test_stopping_a_paused_broker_resumes_it_first(fake):
    cluster, boxes, _ = fake
    cluster.pause(2)
    cluster.stop(2)
    assert [c[0] for c in boxes[2].calls] == ["pause", "unpause", "stop"]


def test_status_rows_match_local_mode(fake, tmp_path):
    cluster, boxes, _ = fake
    boxes[3].status = "paused"
    rows = cluster.status()
    local = LocalCluster(state_dir=tmp_path / "none", port_base=config.DEFAULT_PORT_BASE).status()
    assert [set(r) for r in rows] == [set(r) for r in local]
    assert [r["state"] for r in rows] == ["running", "running", "paused"]
    assert [r["port"] for r in rows] == [r["port"] for r in local]
    assert [r["pid"] for r in rows] == [4001, 4002, 4003]
    # node 2 reports the highest epoch; it leads while it runs
    assert [r["controller"] for r in rows] == [False, True, False]
    boxes[2].status = "exited"
    assert [r["controller"] for r in cluster.status()] == [False, False, False]
    assert cluster.status()[1]["pid"] is None


def test_log_tail_and_missing_containers():
    cluster = ComposeCluster(client=FakeClient([FakeContainer(compose.PROJECT, 1)]),
                             project_name=compose.PROJECT)
    assert cluster.log_tail(1, 3).splitlines() == ["log line 97", "log line 98", "log line 99"]
    assert cluster.log_tail(2) == ""
    assert cluster.status()[1]["state"] == "stopped"
    with pytest.raises(LabError, match="no container for broker 2") as err:
        cluster.start(2)
    assert "labkit up --backend compose" in err.value.hint


def test_no_engine_is_a_lab_error_with_a_hint(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    cluster = ComposeCluster()
    with pytest.raises(LabError) as err:
        cluster.status()
    assert "No Docker engine answers" in err.value.message
    assert "LABKIT_BACKEND" in err.value.hint and "make engine" in err.value.hint


def test_a_failing_compose_command_is_a_lab_error(fake):
    cluster, _, _ = fake

    def run(cmd, **kw):
        assert kw["timeout"] > 0
        return subprocess.CompletedProcess(cmd, 1, "", "docker: 'compose' is not a docker command.")
    cluster._run = run
    with pytest.raises(LabError) as err:
        cluster.down()
    assert "compose plugin is not installed" in err.value.message
    assert "docker compose version" in err.value.hint and "not a docker command" in err.value.log_tail



def test_up_and_down_run_compose(fake, tmp_path):
    cluster, boxes, _ = fake
    calls = []

    def run(cmd, **kw):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, "Container kafka-lab-kafka-1-1  Removed\n", "")
    cluster._run = run
    out = io.StringIO()
    boxes[2].status = "paused"  # paused counts as running, as in local mode
    assert [r["broker"] for r in cluster.up(out)] == list(config.NODES)
    assert calls == [] and "already running" in out.getvalue()
    cluster.down(wipe=True, out=out)
    assert calls == [compose.compose_command("down", FILE, wipe=True)]
    assert "Removed" in out.getvalue() and "data volumes" in out.getvalue()
    with pytest.raises(LabError, match="does not exist"):
        ComposeCluster(client=cluster.client, file=tmp_path / "none.yml").down()


def test_project_and_ports_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("LABKIT_COMPOSE_PROJECT", "kafka-lab-test")
    monkeypatch.setenv("LABKIT_PORT_BASE", "17092")
    cluster = ComposeCluster(client=FakeClient([]))
    assert cluster.project == "kafka-lab-test"
    assert cluster.bootstrap_servers == "127.0.0.1:17092,127.0.0.1:17093,127.0.0.1:17094"
    assert compose.port_env(17092) == {"LABKIT_PORT_1": "17092", "LABKIT_PORT_2": "17093",
                                       "LABKIT_PORT_3": "17094"}
    monkeypatch.setenv("LABKIT_COMPOSE_PROJECT", "Kafka Lab!")
    with pytest.raises(LabError, match="not a compose project name") as err:
        ComposeCluster(client=FakeClient([]))
    assert "kafka-lab-test" in err.value.hint


class FakeImages:
    def __init__(self, present):
        self.present = present

    def get(self, name):
        if name not in self.present:
            raise LookupError(name)  # docker.errors.ImageNotFound in the real SDK


def test_a_missing_image_that_cannot_be_pulled_names_the_build(fake, monkeypatch):
    cluster, boxes, _ = fake
    cluster.client.boxes = []  # no containers yet: up must create them, so it needs the image
    cluster.client.images = FakeImages(present=set())
    monkeypatch.setattr(cluster, "check_ports_free", lambda nodes: None)
    calls = []

    def run(cmd, **kw):
        calls.append(cmd)
        assert kw["env"]["LABKIT_PORT_1"] == "9092"
        return subprocess.CompletedProcess(cmd, 1, "", "Error response from daemon: Get "
                                           "\"https://registry-1.docker.io/v2/\": no such host")
    cluster._run = run
    with pytest.raises(LabError) as err:
        cluster.up(io.StringIO())
    assert calls == [["docker", "pull", compose.image()]]  # compose up never ran
    assert "cannot be pulled" in err.value.message and compose.image() in err.value.message
    assert "make engine" in err.value.hint and "scripts/engine.sh" in err.value.hint
    assert "no such host" in err.value.log_tail


def test_up_creates_missing_containers_and_starts_stopped_ones_itself(fake, monkeypatch):
    """`docker compose up` only for what does not exist; a stopped (or just resumed) container is
    started through the SDK, never by `up --wait`, which fails on a stale "unhealthy"."""
    cluster, boxes, stranger = fake
    boxes[1].status = "exited"
    cluster.client.boxes = [boxes[1], boxes[2], stranger]  # kafka-3's container is gone
    cluster.client.images = FakeImages(present={compose.image()})
    calls, waits = [], []

    def run(cmd, **kw):
        calls.append(cmd)
        cluster.client.boxes.append(boxes[3])
        return subprocess.CompletedProcess(cmd, 0, "", " Container kafka-lab-kafka-3-1  Started\n")
    cluster._run = run
    monkeypatch.setattr(cluster, "check_ports_free", lambda nodes: waits.append(("ports", nodes)))
    monkeypatch.setattr(cluster, "wait_listening", lambda nodes, timeout: waits.append(("listening", nodes)))
    monkeypatch.setattr(ready, "wait_cluster", lambda c, started, out, timeout: waits.append(("ready", timeout)))
    out = io.StringIO()
    rows = cluster.up(out)
    assert calls == [compose.compose_command("up", FILE, project_name=compose.PROJECT, services=["kafka-3"])]
    assert calls[0][-5:] == ["up", "-d", "--no-recreate", "--no-deps", "kafka-3"] and "--wait" not in calls[0]
    assert boxes[1].calls == [("start", {})] and boxes[2].calls == [] and stranger.calls == []
    assert waits == [("ports", [1, 3]), ("listening", [1, 3]), ("ready", config.TIMEOUTS.up)]
    assert [r["state"] for r in rows] == ["running"] * 3


def test_up_refuses_ports_the_local_cluster_holds(fake, monkeypatch):
    from labkit.cluster import procs

    cluster, boxes, _ = fake
    boxes[2].status = "exited"
    monkeypatch.setattr(procs, "port_free", lambda port, host=config.HOST: port != 9093)
    monkeypatch.setattr(procs, "port_owner", lambda port: "pid 77: java -Xmx256m kafka.Kafka /x/node-2/server.properties")
    with pytest.raises(LabError, match="Port 9093 for broker 2 is already taken by pid 77") as err:
        cluster.up(io.StringIO())
    assert "labkit --backend local down" in err.value.hint
    assert boxes[2].calls == []


def test_up_refuses_a_container_made_with_other_ports(fake):
    cluster, boxes, _ = fake
    boxes[1].status = "exited"
    cluster.port_base = 17092
    with pytest.raises(LabError, match="publishes port 9092, not 17092") as err:
        cluster.up(io.StringIO())
    assert "compose down" in err.value.hint


# ---- the backend on a real Docker engine (tests/cluster/conftest.py: compose_cluster) ----------
# The suite's own project (kafka-lab-test) and ports (17092-17094): a learner's lab is untouched.
ROOT = FILE.parent
NOTEBOOKS = {"00": "00_kafka_and_the_lab_cluster.ipynb", "05": "05_consumer_groups_and_lag.ipynb",
             "06": "06_replication_and_failover.ipynb", "10": "10_kafka_connect.ipynb"}


def _lab(cluster):
    from labkit.lab import Lab
    return Lab(cluster, out=io.StringIO())


def _held_open(port: int) -> bool:
    """A connection to ``port`` is accepted and kept (a paused broker's kernel still accepts)."""
    import socket
    with socket.create_connection((config.HOST, port), timeout=2) as sock:
        sock.settimeout(0.3)
        try:
            return sock.recv(1) != b""
        except socket.timeout:
            return True


@pytest.mark.engine
def test_up_status_and_readiness_on_a_real_engine(compose_cluster):
    cluster = compose_cluster
    PORT_BASE, PROJECT = cluster.port_base, cluster.project
    assert PROJECT != compose.PROJECT and PORT_BASE not in (config.DEFAULT_PORT_BASE, 19092)
    rows = cluster.status()
    assert [r["state"] for r in rows] == ["running"] * 3 and all(r["answers"] for r in rows)
    assert [r["port"] for r in rows] == [PORT_BASE, PORT_BASE + 1, PORT_BASE + 2]
    assert all(isinstance(r["pid"], int) for r in rows)
    assert sum(r["controller"] for r in rows) == 1
    for n in config.NODES:  # the suite's own project, published on 127.0.0.1 only
        box = cluster.container(n)
        assert box.labels["com.docker.compose.project"] == PROJECT
        assert box.attrs["HostConfig"]["PortBindings"]["9092/tcp"] == [{"HostIp": "127.0.0.1",
                                                                        "HostPort": str(PORT_BASE + n - 1)}]
    t0, out = time.monotonic(), io.StringIO()
    assert [r["state"] for r in cluster.up(out)] == ["running"] * 3
    assert "already running" in out.getvalue() and time.monotonic() - t0 < 15
    # ready means usable: the probe partition is in sync and host clients reach every leader
    with clients.quiet_admin(cluster.bootstrap_servers) as admin:
        probe = admin.list_topics(ready.PROBE_TOPIC, timeout=10).topics[ready.PROBE_TOPIC].partitions[0]
        assert len(probe.isrs) == 3
        brokers = admin.list_topics(timeout=10).brokers
        assert {b.id: (b.host, b.port) for b in brokers.values()} == \
            {n: (config.HOST, PORT_BASE + n - 1) for n in config.NODES}  # advertised EXTERNAL ports
    lab = _lab(cluster)
    topic = lab.fresh_topic("labkit-compose-check", partitions=3, replication_factor=3)
    with lab.producer(acks="all") as producer:
        for i in range(30):
            producer.produce(topic, key=str(i), value=f"v{i}")
        assert producer.flush(30) == 0
    consumer = lab.consumer("labkit-compose-check", auto_offset_reset="earliest")
    consumer.subscribe([topic])
    seen, end = 0, time.monotonic() + 60
    while seen < 30 and time.monotonic() < end:
        msg = consumer.poll(1.0)
        seen += msg is not None and msg.error() is None
    consumer.close()
    assert seen == 30
    assert "Kafka" in cluster.log_tail(1, 400)


@pytest.mark.engine
@pytest.mark.parametrize("node", config.NODES)
def test_each_broker_paused_killed_stopped_and_back(healthy_compose, node):
    """pause/resume, kill (port refused at once), up after a pause (no stale "unhealthy"), stop/start."""
    from labkit.cluster import procs

    cluster, out = healthy_compose, io.StringIO()
    other = config.NODES[node % 3]  # the next broker
    port = cluster.port(node)
    assert cluster.pause(node) == f"broker {node} paused (docker pause)"
    assert cluster.status()[node - 1]["state"] == "paused"
    assert _held_open(port)  # like a SIGSTOPped JVM: the port accepts, nobody answers
    assert cluster.resume(node) == f"broker {node} resumed (docker unpause)"
    assert cluster.status()[node - 1]["state"] == "running"

    assert cluster.kill(other) == f"broker {other} killed (SIGKILL)"
    assert cluster.status()[other - 1]["state"] == "stopped"
    assert not procs.port_answers(cluster.port(other))  # refused at once, as in local mode
    assert [r["answers"] for r in cluster.status() if r["broker"] != other] == [True, True]
    # Docker reports the resumed container unhealthy for up to 10 s: `up` must not care
    t0 = time.monotonic()
    assert [r["state"] for r in cluster.up(out)] == ["running"] * 3, out.getvalue()
    assert "Ready in" in out.getvalue() and time.monotonic() - t0 < config.TIMEOUTS.up

    assert cluster.stop(node) == f"broker {node}: stopped (docker stop)"
    assert cluster.status()[node - 1]["state"] == "stopped"
    assert cluster.start(node, out=out) == f"broker {node} started (container kafka-{node}) and registered"
    assert cluster.start(node, out=out) == f"broker {node} is already running"
    with clients.quiet_admin(cluster.bootstrap_servers) as admin:
        assert node in ready.registered(admin)


@pytest.mark.engine
def test_each_backend_refuses_the_ports_the_other_holds(compose_cluster, tmp_path):
    """Local mode on the compose cluster's ports: a LabError that names the compose cluster, at once."""
    from labkit.cluster.local import LocalCluster

    local = LocalCluster(state_dir=tmp_path / "lab", port_base=compose_cluster.port_base)
    t0 = time.monotonic()
    with pytest.raises(LabError, match=f"Port {compose_cluster.port_base} for broker 1 is already taken "
                                       "by pid [0-9]+: .*docker-proxy") as err:
        local.up(io.StringIO())
    assert "labkit --backend compose down" in err.value.hint and time.monotonic() - t0 < 30


@pytest.mark.engine
def test_topic_deletion_with_the_controller_killed(healthy_compose, timings):
    """Seen in notebook 06 on compose: deleting a topic while a broker (here the active KRaft
    controller, the hardest case) is down timed out. It must work as in local mode."""
    cluster = healthy_compose
    lab = _lab(cluster)
    for name in ("labkit-delete-a", "labkit-delete-b"):
        lab.fresh_topic(name, partitions=1, replication_factor=3)
    victim = cluster.active_controller()
    assert victim in config.NODES
    cluster.kill(victim)
    t0 = time.monotonic()
    for name in ("labkit-delete-a", "labkit-delete-b"):  # delete and recreate, as notebook 06 does
        lab.fresh_topic(name, partitions=1, replication_factor=3)
    with clients.quiet_admin(cluster.bootstrap_servers) as admin:
        from labkit import topics
        topics.delete_topic(admin, "labkit-delete-a")
        assert "labkit-delete-a" not in admin.list_topics(timeout=10).topics
    timings["2 topics recreated + 1 deleted, controller killed"] = time.monotonic() - t0
    assert time.monotonic() - t0 < 90


@pytest.mark.engine
@pytest.mark.parametrize("fault", ["kill", "stop", "pause", "bounce"])
def test_chaos_checker_on_compose(compose_cluster, fault):
    from labkit import chaos

    trial = chaos.run_trial(_lab(compose_cluster), fault=fault, records=1000, rounds=1)
    assert trial.acked >= 1000 and trial.victims
    assert trial.lost == 0 and trial.duplicates == 0 and trial.reordered == 0, trial.row()
    assert [r["state"] for r in compose_cluster.status()] == ["running"] * 3  # healed


@pytest.mark.engine
@pytest.mark.parametrize("number", sorted(NOTEBOOKS))
def test_notebook_on_compose(compose_cluster, compose_env, number):
    """The notebook under nbval (saved outputs compared), its kernel on the suite's compose cluster."""
    import os
    import sys

    env = {**os.environ, **compose_env}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
           "--nbval-lax", "--nbval-current-env", "--nbval-sanitize-with", "notebooks/sanitize.cfg",
           "--nbval-cell-timeout=300", f"notebooks/{NOTEBOOKS[number]}"]
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-2000:]
    assert " passed" in res.stdout and "failed" not in res.stdout.splitlines()[-1]


@pytest.mark.engine
def test_connect_worker_on_compose(compose_cluster, tmp_path):
    """docker-compose.yml's connect service: the lab's worker, its files shared, down removes it."""
    import os
    from labkit import connect
    from labkit.connect.container import ContainerWorker

    worker, out = connect.worker(compose_cluster), io.StringIO()
    assert isinstance(worker, ContainerWorker)
    worker.up(out)
    box = worker.container()
    assert box.status == "running"
    published = box.attrs["HostConfig"]["PortBindings"]["8083/tcp"]
    assert published == [{"HostIp": "127.0.0.1", "HostPort": str(worker.port)}]
    props = worker.props.read_text()
    assert "bootstrap.servers=kafka-1:19092,kafka-2:19092,kafka-3:19092" in props  # INTERNAL listeners
    assert f"plugin.path=/opt/labkit/connect/connect-file-{config.CONNECT_VERSION}.jar" in props

    client, run = worker.client(), str(time.time_ns())[-8:]
    source = worker.files / f"in-{run}.txt"
    source.write_text("one\ntwo\n")
    copy = worker.files / f"out-{run}.txt"
    topic = _lab(compose_cluster).fresh_topic(f"compose-connect-{run}", partitions=1)
    client.create(f"in-{run}", {"connector.class": "FileStreamSource", "file": str(source), "topic": topic})
    client.create(f"out-{run}", {"connector.class": "FileStreamSink", "file": str(copy), "topics": topic})
    from labkit.wait import wait_for
    wait_for("the copy written by the worker in its container",
             lambda: copy.exists() and copy.read_text() == "one\ntwo\n", 60)
    if hasattr(os, "getuid"):  # written by the container as the host user: the learner's own file
        assert copy.stat().st_uid == os.getuid()

    assert worker.kill().startswith("killed")
    assert worker.status()["state"] == "stopped"
    worker.up(out)  # the same container again; its connectors come back from their topics
    assert {f"in-{run}", f"out-{run}"} <= set(worker.client().connector_names())

    connect.stop_with_cluster(compose_cluster, wipe=True, out=out)  # `labkit down`'s hook
    assert worker.container() is None and not worker.folder.exists()
