"""A catalogue of bad input and faults: each ends in a LabError with a hint within its stated time.

Never a hang, never a raw stack trace, never lost data. Cases that need a cluster of their own
start a throwaway one in pytest's tmp_path on ports derived from LABKIT_PORT_BASE (one at a time,
and stopped whatever happens). Issue 2's basics (port taken for `up`, `kill 7`, a broker exiting
during start, stale pid files, Java/Maven missing, a partial jar cache) live in cluster/test_local.py,
test_fetch.py and test_clients.py; issue 14's (two `up` at once, `up` during `down`, a node folder
deleted by hand, a full disk, SIGTERM mid-`up`) in cluster/test_lifecycle.py; this file does not
repeat them.
"""
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import TopicCollection
from confluent_kafka.admin import NewPartitions

import labkit as lk
from labkit import clients, config
from labkit.cluster import fetch, procs
from labkit import chaos as failover
from labkit.cluster.local import LocalCluster
from labkit.errors import ClusterDown, LabError
from spares import free_base

ROOT = Path(__file__).resolve().parent.parent


# ---- helpers ----------------------------------------------------------------------------
def expect_lab_error(action, within: float, *needles: str) -> LabError:
    """Run ``action``; it must raise a LabError with a hint, within ``within`` seconds."""
    t0 = time.monotonic()
    with pytest.raises(LabError) as info:
        action()
    elapsed = time.monotonic() - t0
    assert elapsed < within, f"took {elapsed:.1f} s, stated {within} s"
    assert info.value.hint, f"no hint: {info.value}"
    for needle in needles:
        assert needle in str(info.value), str(info.value)
    return info.value


def cli(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labkit.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout, cwd=ROOT)


def expect_cli_error(res: subprocess.CompletedProcess, *needles: str) -> None:
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "Hint:" in res.stderr and "Traceback" not in res.stderr, res.stderr
    for needle in needles:
        assert needle in res.stderr, res.stderr


def spare_env(cluster) -> dict:
    return {"LABKIT_STATE_DIR": str(cluster.state_dir), "LABKIT_PORT_BASE": str(cluster.port_base)}


# ---- topics and groups: Kafka says no, labkit says why -----------------------------------
@pytest.mark.timeout(60, func_only=True)
@pytest.mark.parametrize("name", ["bad name!", "a" * 250, "..", "ünïcode"])
def test_invalid_topic_name(lab, name):
    expect_lab_error(lambda: lab.fresh_topic(name, 1), 40, "Creating topic")


@pytest.mark.timeout(60, func_only=True)
def test_replication_factor_above_brokers(lab):
    expect_lab_error(lambda: lab.fresh_topic("robust-rf4", 1, 4), 40, "INVALID_REPLICATION_FACTOR",
                     "live brokers")


@pytest.mark.timeout(60, func_only=True)
def test_zero_partitions(lab):
    expect_lab_error(lambda: lab.fresh_topic("robust-p0", 0), 40, "INVALID_PARTITIONS")


@pytest.mark.timeout(60, func_only=True)
def test_shrinking_partitions(lab):
    topic = lab.fresh_topic("robust-shrink", 3)
    admin = lab.admin()
    err = expect_lab_error(lambda: clients.result(admin.create_partitions([NewPartitions(topic, 2)])[topic],
                                                  f"Shrinking {topic}"), 20, "INVALID_PARTITIONS")
    assert "never removed" in err.hint
    assert len(admin.list_topics(topic, timeout=10).topics[topic].partitions) == 3  # untouched


@pytest.mark.timeout(60, func_only=True)
@pytest.mark.parametrize("setting", [{"min.insync.replicas": "many"}, {"cleanup.policy": "shred"}])
def test_invalid_topic_config(lab, setting):
    expect_lab_error(lambda: lab.fresh_topic("robust-config", 1, 3, setting), 40, "INVALID_CONFIG")


@pytest.mark.timeout(60, func_only=True)
def test_unknown_topic(lab):
    admin = lab.admin()
    expect_lab_error(lambda: clients.result(
        admin.describe_topics(TopicCollection(["robust-no-such-topic"]))["robust-no-such-topic"],
        "Describing robust-no-such-topic"), 20, "UNKNOWN_TOPIC")


@pytest.mark.timeout(90, func_only=True)
def test_unknown_group(lab):
    admin = lab.admin()
    # the first group request may meet a coordinator still loading: that, too, must carry a hint
    err = expect_lab_error(lambda: clients.result(
        admin.delete_consumer_groups(["robust-no-such-group"], request_timeout=10)["robust-no-such-group"],
        "Deleting group robust-no-such-group"), 30, "robust-no-such-group")
    assert "GROUP_ID_NOT_FOUND" in err.message or "COORDINATOR" in err.message


@pytest.mark.timeout(30, func_only=True)
@pytest.mark.parametrize("setting", [{"auto_offset_reset": "sometimes"}, {"no_such_setting": 1}])
def test_bad_client_setting(lab, setting):
    expect_lab_error(lambda: lab.consumer("robust-group", **setting), 10, "setting")


@pytest.mark.timeout(30, func_only=True)
def test_bad_producer_setting(lab):
    expect_lab_error(lambda: lab.producer(acks="maybe"), 10, "acks")


# ---- brokers and the command line ----------------------------------------------------------
@pytest.mark.timeout(60, func_only=True)
@pytest.mark.parametrize("args", [("pause", "9"), ("resume", "0"), ("start", "4"), ("logs", "x")])
def test_cli_unknown_broker_id(lab, args):
    t0 = time.monotonic()
    expect_cli_error(cli(*args), "There is no broker")
    assert time.monotonic() - t0 < 30


@pytest.mark.timeout(30, func_only=True)
def test_pause_a_broker_that_is_not_running(spare):
    expect_lab_error(lambda: spare.pause(2), 5, "not running", "labkit start 2")


@pytest.mark.timeout(30, func_only=True)
def test_start_a_broker_without_a_cluster(spare):
    expect_lab_error(lambda: spare.start(1, out=io.StringIO()), 5, "no lab cluster", "labkit up")


@pytest.mark.timeout(60, func_only=True)
def test_cluster_down(spare):
    """Clients, topics and chaos trials on a cluster that is not running: at once, not a hang."""
    lab = lk.Lab(spare)
    for action in (lab.producer, lambda: lab.fresh_topic("t"), lambda: failover.run_trial(lab, "kill", 10)):
        err = expect_lab_error(action, 10, "labkit up")
        assert isinstance(err, ClusterDown)
    expect_cli_error(cli("chaos", "--fault", "kill", "--records", "10", env=spare_env(spare)), "labkit up")


# ---- the state directory -------------------------------------------------------------------
@pytest.mark.timeout(120, func_only=True)
def test_corrupted_state_file_is_repaired_from_the_nodes(spare):
    """A damaged or truncated cluster.json is rebuilt from the nodes' meta.properties: no wipe."""
    spare.format(out=io.StringIO())
    cluster_id = json.loads((spare.state_dir / "cluster.json").read_text())["cluster_id"]
    metas = {n: (spare.node_dir(n) / "data" / "meta.properties").read_text() for n in config.NODES}
    for content in ("{not json", "", '{"kind": "something-else"}', "[1, 2]", '{"kind": "labkit-loc'):
        (spare.state_dir / "cluster.json").write_text(content)
        out = io.StringIO()
        spare.format(out=out)
        assert "rebuilt from the nodes' meta.properties" in out.getvalue(), out.getvalue()
        assert json.loads((spare.state_dir / "cluster.json").read_text())["cluster_id"] == cluster_id
        assert {n: (spare.node_dir(n) / "data" / "meta.properties").read_text()
                for n in config.NODES} == metas, "a node was formatted again"


@pytest.mark.timeout(60, func_only=True)
def test_foreign_state_dir(spare):
    spare.state_dir.mkdir(parents=True)
    (spare.state_dir / "thesis.tex").write_text("precious")
    expect_lab_error(lambda: spare.up(out=io.StringIO()), 10, "did not write", "LABKIT_STATE_DIR")
    assert (spare.state_dir / "thesis.tex").read_text() == "precious"  # nothing of theirs touched


@pytest.mark.timeout(60, func_only=True)
def test_unwritable_data_path(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")  # a file where a folder must go: unwritable even for root
    cluster = LocalCluster(state_dir=blocker / "cluster", port_base=free_base())
    expect_lab_error(lambda: cluster.up(out=io.StringIO()), 30, "LABKIT_STATE_DIR")
    assert not procs.pids_matching(str(cluster.state_dir))


# ---- fetching Kafka ----------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.timeout(300, func_only=True)
def test_fetch_interrupted_halfway_is_not_trusted(tmp_path, monkeypatch):
    """Kill a real `labkit fetch` while Maven copies jars: the cache is not trusted afterwards."""
    fetch.fetch(out=io.StringIO())  # Maven's local repository holds the jars: the copy is quick
    env = {**os.environ, "LABKIT_CACHE": str(tmp_path)}
    env.pop("KAFKA_HOME", None)
    proc = subprocess.Popen([sys.executable, "-m", "labkit.cli", "fetch"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        end = time.monotonic() + 120
        while not any(tmp_path.rglob("libs.partial-*/*.jar")):
            assert proc.poll() is None, "fetch finished before it could be interrupted"
            assert time.monotonic() < end, "Maven never started copying jars"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # labkit and Maven, halfway
        proc.wait(10)
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path))
    monkeypatch.delenv("KAFKA_HOME", raising=False)
    assert fetch.libs_dir() is None, "a half-fetched cache was trusted"
    assert not fetch.cached_libs().exists(), "the trusted name holds a partial download"
    # and without Maven the next attempt says what to install instead of running half a Kafka
    bare = {"PATH": str(tmp_path / "empty-bin"), "HOME": str(tmp_path), "LABKIT_CACHE": str(tmp_path),
            "JAVA_HOME": str(Path(fetch.java()).resolve().parent.parent)}
    res = subprocess.run([sys.executable, "-m", "labkit.cli", "fetch"], capture_output=True, text=True,
                         env=bare, timeout=60, cwd=ROOT)
    expect_cli_error(res, "Maven")


# ---- start-up interrupted ------------------------------------------------------------------
def _wait_pids(cluster, timeout: float) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        pids = {n: cluster.pid(n) for n in config.NODES}
        if all(pids.values()):
            return pids
        time.sleep(0.1)
    pytest.fail("brokers never started")


@pytest.mark.slow
@pytest.mark.timeout(400, func_only=True)
def test_broker_killed_while_up_waits(spare):
    outcome = {}

    def up():
        try:
            spare.up(out=io.StringIO())
        except BaseException as exc:  # handed to the test thread below
            outcome["error"] = exc

    waiter = threading.Thread(target=up, daemon=True)
    waiter.start()
    pids = _wait_pids(spare, 180)
    os.kill(pids[2], signal.SIGKILL)
    waiter.join(config.TIMEOUTS.up + 30)
    assert not waiter.is_alive(), "up kept waiting for a dead broker"
    err = outcome.get("error")
    assert isinstance(err, LabError) and err.hint and "Broker 2 exited" in err.message, err
    assert "labkit logs 2" in err.hint
    assert not any(procs.alive(p) for p in pids.values()), "up left brokers running after failing"


@pytest.mark.slow
@pytest.mark.timeout(400, func_only=True)
def test_labkit_killed_mid_up_then_down_stops_every_broker(spare):
    proc = subprocess.Popen([sys.executable, "-m", "labkit.cli", "up"], env={**os.environ, **spare_env(spare)},
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pids = _wait_pids(spare, 180)
    proc.kill()  # labkit itself dies mid-`up`; its brokers run on in their own sessions
    proc.wait(10)
    assert all(procs.alive(p) for p in pids.values())
    (spare.node_dir(3) / "pid").unlink()  # even a lost pid file does not hide a broker
    res = cli("down", env=spare_env(spare), timeout=120)
    assert res.returncode == 0, res.stderr
    assert not any(procs.alive(p) for p in pids.values()), res.stdout
    assert not procs.pids_matching(str(spare.state_dir))


# ---- exposure and data -------------------------------------------------------------------
def _lab_ports(cluster) -> set[int]:
    return {p for n in config.NODES for p in (config.client_port(n, cluster.port_base),
                                              config.controller_port(n, cluster.port_base),
                                              config.metrics_port(n, cluster.port_base))}


def _own_addresses() -> set[str]:
    """This machine's IPv4 addresses: its host name's, and the one outgoing traffic would use."""
    found = set()
    try:
        found |= {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
    except OSError:
        pass
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # UDP connect sends nothing; it only picks a route
            found.add(probe.getsockname()[0])
        except OSError:
            pass
    return found


def test_no_lab_port_listens_beyond_loopback(lab):
    """Every listening socket on a lab port, whoever owns it, is bound to 127.0.0.1 only."""
    import psutil
    ports = _lab_ports(lab.cluster)
    seen = {}
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port in ports:
            seen[conn.laddr.port] = procs._plain(conn.laddr.ip)
    assert set(seen) == ports, f"not every lab port listens: {sorted(ports - set(seen))}"
    assert set(seen.values()) == {"127.0.0.1"}, seen
    # and from this machine's other addresses, nothing answers
    for addr in _own_addresses() - {"127.0.0.1"}:
        assert not any(procs.port_answers(p, addr) for p in ports), addr


@pytest.mark.slow
@pytest.mark.timeout(400, func_only=True)
def test_every_broker_killed_loses_no_acknowledged_record(healthy_lab):
    """SIGKILL all three brokers at once: the cluster is down (a LabError, at once), then heals
    with every acknowledged record still there."""
    lab = healthy_lab
    topic = lab.fresh_topic("robust-all-killed", 3)
    acked = []
    with lab.producer(acks="all", enable_idempotence=True,
                      on_delivery=lambda err, msg: err is None and acked.append(msg.value())) as prod:
        for i in range(3000):
            prod.produce(topic, str(i).encode(), key=str(i % 7).encode())
            prod.poll(0)
        assert prod.flush(60) == 0
    assert len(acked) == 3000
    for n in config.NODES:
        lab.cluster.kill(n)
    answering = {p: procs.port_owner(p) for p in _lab_ports(lab.cluster) if procs.port_answers(p)}
    assert not answering, f"ports still answer after every broker was killed: {answering}"
    expect_lab_error(lab.producer, 10, "labkit up")
    lab.heal()
    got = {str(seq).encode() for _part, _offset, seq in failover.read_back(lab.bootstrap_servers, topic)}
    assert set(acked) <= got, f"{len(set(acked) - got)} acknowledged records lost"
