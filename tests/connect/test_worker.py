"""The Connect worker as a managed JVM: up and ready, loopback only, down with no JVM left, and
what `up` says when it cannot start (no brokers, its port taken)."""
import io
import socket

import pytest

from labkit import config
from labkit.cluster import procs
from labkit.connect import Worker
from labkit.connect.worker import PLUGINS
from labkit.errors import LabError


def test_up_is_ready_and_lists_the_file_connectors(worker):
    st = worker.status()
    assert st["state"] == "running" and st["pid"]
    assert st["version"] == config.CONNECT_VERSION
    classes = {p["class"] for p in worker.client().plugins()}
    assert set(PLUGINS) <= classes
    root = worker.client().request("GET", "/")
    assert root["version"] == config.CONNECT_VERSION  # the worker's own release, not the brokers'


def test_rest_binds_loopback_only(worker):
    listening = procs.listening_addresses(worker.pid())
    rest = [addr for addr, port in listening if port == worker.port]
    assert rest == ["127.0.0.1"], listening


def test_internal_topics_have_three_replicas(lab, worker):
    md = lab.admin().list_topics(timeout=10)
    for kind in ("configs", "offsets", "status"):
        topic = md.topics[f"labkit-connect-{kind}"]
        assert all(len(p.replicas) == 3 for p in topic.partitions.values()), kind


def test_second_up_finds_the_running_worker(worker):
    pid = worker.pid()
    out = io.StringIO()
    assert worker.up(out=out)["pid"] == pid
    assert "Started" not in out.getvalue()


def test_down_leaves_no_jvm_and_up_starts_again(worker):
    pid = worker.pid()
    assert worker.stop(out=io.StringIO()) == "stopped"
    assert not procs.alive(pid)
    assert procs.pids_matching(str(worker.props)) == []
    assert worker.status()["state"] == "stopped"
    with pytest.raises(LabError, match="No Kafka Connect worker answers"):
        worker.client().plugins()
    worker.up(out=io.StringIO())
    assert worker.status()["state"] == "running"


def test_up_before_the_brokers_says_start_them_first(spare):
    w = Worker(spare)  # a cluster whose brokers were never started
    with pytest.raises(LabError, match="No Kafka broker answers") as err:
        w.up(out=io.StringIO())
    assert "labkit up" in err.value.hint
    assert w.pid() is None


def test_up_with_its_port_taken_names_the_holder(spare):
    w = Worker(spare)
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # an earlier run's probe may linger
        squatter.bind((config.HOST, w.port))
        squatter.listen()
        with pytest.raises(LabError, match=f"Port {w.port} for the Connect worker's REST API is already taken"):
            w.up(out=io.StringIO())
    assert w.pid() is None


@pytest.mark.slow
def test_labkit_down_stops_the_worker_too(spare):
    spare.up(out=io.StringIO())
    w = Worker(spare)
    w.up(out=io.StringIO())
    pid = w.pid()
    out = io.StringIO()
    spare.down(wipe=True, out=out)
    assert "Connect worker (pid" in out.getvalue()
    assert not procs.alive(pid)
    assert procs.pids_matching(str(w.props)) == []
    assert not w.folder.exists()  # its topics went with the wiped data: nothing of it is left


def test_connect_version_is_set_in_one_place():
    import re
    pom = config.CONNECT_POM.read_text()
    assert "${connect.version}" in pom and not re.search(r"<version>4\.\d+\.\d+</version>", pom)
    assert re.fullmatch(r"4\.\d+\.\d+", config.CONNECT_VERSION)
