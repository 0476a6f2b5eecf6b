"""The compose backend: broker control through the docker SDK (a stand-in for Docker, not for
Kafka), compose commands and their failures, and the backend against a real engine where one
answers (otherwise that test is skipped and says why)."""
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
from labkit.cluster.compose import ComposeCluster, compose_cli_problem
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
        self.attrs = {"State": {"Pid": 4000 + node}}

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
    cluster = ComposeCluster(client=FakeClient(list(boxes.values()) + [stranger]))
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
    cluster = ComposeCluster(client=FakeClient([FakeContainer(compose.PROJECT, 1)]))
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
    assert "LABKIT_BACKEND" in err.value.hint


def test_a_failing_compose_command_is_a_lab_error(fake):
    cluster, _, _ = fake

    def run(cmd, **kw):
        assert kw["timeout"] > 0
        return subprocess.CompletedProcess(cmd, 1, "", "docker: 'compose' is not a docker command.")
    cluster._run = run
    with pytest.raises(LabError) as err:
        cluster.down()
    assert "compose plugin" in err.value.hint and "not a docker command" in err.value.log_tail



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

# ---- the backend against a real Docker engine, where one answers ----------------------------
def engine_reason() -> str | None:
    """None when a Docker engine and the compose plugin are usable here, else why not."""
    try:
        import docker
        docker.from_env(timeout=5).ping()
    except Exception as exc:
        return f"no Docker engine answers here ({type(exc).__name__}: {str(exc)[:80]})"
    return compose_cli_problem()


@pytest.mark.slow
def test_container_control_on_a_real_engine():
    reason = engine_reason()
    if reason:
        pytest.skip(f"compose backend container control not run: {reason}")
    from labkit.cluster import procs
    from labkit.lab import Lab

    cluster, out = ComposeCluster(), io.StringIO()
    ports = [config.client_port(n, cluster.port_base) for n in config.NODES]
    if cluster.container(1) is None and not all(procs.port_free(p) for p in ports):
        pytest.skip(f"compose backend container control not run: ports {ports} are taken "
                    "(a local lab cluster?)")
    try:
        assert [r["state"] for r in cluster.up(out)] == ["running"] * 3, out.getvalue()
        # a host client reaches every broker through the advertised 127.0.0.1:909N listeners
        lab = Lab(cluster, out=io.StringIO())
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

        assert cluster.kill(2) == "broker 2 killed (SIGKILL)"
        assert cluster.status()[1]["state"] == "stopped"
        with clients.quiet_admin(cluster.bootstrap_servers) as admin:
            end = time.monotonic() + 30  # fenced after broker.session.timeout.ms (4 s)
            while 2 in ready.registered(admin) and time.monotonic() < end:
                time.sleep(0.25)
            assert 2 not in ready.registered(admin)
        assert "registered" in cluster.start(2, out=out)
        assert "paused" in cluster.pause(3) and cluster.status()[2]["state"] == "paused"
        assert "resumed" in cluster.resume(3) and cluster.status()[2]["state"] == "running"
        cluster.stop(1)
        assert cluster.status()[0]["state"] == "stopped"
        assert [r["state"] for r in cluster.up(out)] == ["running"] * 3  # up heals, like local mode
        assert cluster.active_controller() in config.NODES
        assert "Kafka" in cluster.log_tail(1, 200)
    finally:
        cluster.down(wipe=True, out=out)
    assert cluster.container(1) is None


