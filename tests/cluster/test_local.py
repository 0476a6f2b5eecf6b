"""The local cluster: ready means ready, broker control does what it says, bad input is a LabError."""
import io
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

import labkit as lk
from labkit import config
from labkit.cluster import procs, ready
from labkit.cluster.local import LocalCluster
from labkit.errors import LabError


def _leader_isr(lab, topic):
    # all topics, and again while a just-created topic has not reached the answering broker
    with lab.admin() as admin:
        end = time.monotonic() + 15
        while True:
            meta = admin.list_topics(timeout=10).topics.get(topic)
            if meta is not None and 0 in meta.partitions or time.monotonic() > end:
                part = meta.partitions[0]
                return part.leader, sorted(part.isrs)
            time.sleep(0.2)


def _wait(condition, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"not within {timeout} s: {what}")


def test_up_is_ready(lab):
    rows = lab.cluster.status()
    assert [r["state"] for r in rows] == ["running"] * 3
    assert all(r["answers"] for r in rows)
    assert lab.controller in config.NODES
    # ready means the probe partition has a leader and all three replicas in sync
    leader, isr = _leader_isr(lab, ready.PROBE_TOPIC)
    assert leader in config.NODES and isr == [1, 2, 3]


def test_second_up_changes_nothing(lab):
    pids = [r["pid"] for r in lab.cluster.status()]
    out = io.StringIO()
    lab.cluster.up(out=out)
    assert "already running" in out.getvalue()
    assert [r["pid"] for r in lab.cluster.status()] == pids


def test_brokers_listen_on_loopback_only(lab):
    for row in lab.cluster.status():
        addresses = procs.listening_addresses(row["pid"])
        ports = {port for _, port in addresses}
        assert config.client_port(row["broker"], lab.cluster.port_base) in ports
        assert {addr for addr, _ in addresses} == {"127.0.0.1"}, addresses


@pytest.mark.slow
def test_killed_leader_is_replaced_and_rejoins(healthy_lab):
    lab = healthy_lab
    topic = lab.fresh_topic("test-failover", partitions=1, replication_factor=3)
    old_leader, _ = _leader_isr(lab, topic)
    t0 = time.monotonic()
    lab.kill(old_leader)
    new_leader = _wait(lambda: (lambda l: l if l not in (old_leader, -1) else None)(_leader_isr(lab, topic)[0]),
                       30, "a new leader")
    elected_after = time.monotonic() - t0
    assert new_leader != old_leader
    assert elected_after < 20, f"election took {elected_after:.1f} s"
    assert old_leader not in _leader_isr(lab, topic)[1]
    lab.start_broker(old_leader)
    _wait(lambda: _leader_isr(lab, topic)[1] == [1, 2, 3], 60, "the restarted broker back in the ISR")


@pytest.mark.slow
def test_stale_pid_file_is_recovered_by_up(healthy_lab):
    lab = healthy_lab
    cluster = lab.cluster
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lab.kill(2)
    (cluster.node_dir(2) / "pid").write_text(str(dead.pid))  # a pid file naming a dead process
    assert cluster.status()[1]["state"] == "stopped"
    cluster.up(out=io.StringIO())
    assert cluster.status()[1]["state"] == "running"


@pytest.mark.slow
def test_recycled_pid_is_not_mistaken_for_a_broker(healthy_lab):
    cluster = healthy_lab.cluster
    pidfile = cluster.node_dir(3) / "pid"
    real = int(pidfile.read_text().split()[0])
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        pidfile.write_text(str(bystander.pid))  # as if broker 3 died and its pid was reused
        assert cluster.pid(3) is None
        # kill finds broker 3 by its exact command line, never by the pid file's stranger
        assert "killed" in cluster.kill(3)
        assert bystander.poll() is None, "labkit signalled a process that is not its broker"
        assert not procs.alive(real)
    finally:
        bystander.kill()
        bystander.wait()


@pytest.mark.parametrize("bad", [7, 0, "x"])
def test_unknown_broker_id(lab, bad):
    with pytest.raises(LabError) as err:
        lab.kill(bad)
    assert "brokers 1, 2, 3" in str(err.value) and err.value.hint


def test_cli_kill_unknown_broker_exits_2_with_hint(lab):
    res = subprocess.run([sys.executable, "-m", "labkit.cli", "kill", "7"], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 2
    assert "There is no broker 7" in res.stderr and "Hint:" in res.stderr
    assert "Traceback" not in res.stderr


def test_cli_status_reports_brokers_and_controller(lab):
    res = subprocess.run([sys.executable, "-m", "labkit.cli", "status"], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("running") == 3 and "active controller" in res.stdout


def test_pause_and_resume(healthy_lab):
    lab = healthy_lab
    lab.pause(1)
    assert lab.cluster.status()[0]["state"] == "paused"
    lab.resume(1)
    assert lab.cluster.status()[0]["state"] == "running"


def _other_cluster(tmp_path):
    # a second cluster's own state dir and ports, far from the suite's
    return LocalCluster(state_dir=tmp_path / "other", port_base=config.port_base() + 1000)


def test_port_taken_names_port_and_owner(tmp_path):
    cluster = _other_cluster(tmp_path)
    port = config.client_port(2, cluster.port_base)
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a spare's TIME_WAIT sockets
    holder.bind((config.HOST, port))
    holder.listen()
    try:
        t0 = time.monotonic()
        with pytest.raises(LabError) as err:
            cluster.up(out=io.StringIO())
        assert time.monotonic() - t0 < config.TIMEOUTS.up
    finally:
        holder.close()
    text = str(err.value)
    assert f"Port {port}" in text and f"pid {os.getpid()}" in text and "LABKIT_PORT_BASE" in text
    assert not procs.pids_matching(str(cluster.state_dir)), "a broker was left running"


@pytest.mark.slow
def test_broker_exiting_during_start_reports_its_log(tmp_path, monkeypatch):
    cluster = _other_cluster(tmp_path)
    monkeypatch.setenv("LABKIT_BROKER_HEAP", "-Xms4m -Xmx2m")  # the JVM refuses to start
    with pytest.raises(LabError) as err:
        cluster.up(out=io.StringIO())
    assert "exited during start-up" in err.value.message
    assert "heap" in err.value.log_tail.lower()
    assert not procs.pids_matching(str(cluster.state_dir))


@pytest.mark.slow
def test_down_leaves_no_jvm_and_up_keeps_data(lab):
    topic = lab.fresh_topic("test-survives-restart", partitions=1)
    with lab.producer() as producer:
        producer.produce(topic, b"kept")
        assert producer.flush(30) == 0
    lab.cluster.down(out=io.StringIO())
    assert not procs.pids_matching(str(lab.cluster.state_dir))
    assert all(r["state"] == "stopped" for r in lab.cluster.status())
    with pytest.raises(LabError):
        lab.producer()  # no broker answers: a LabError, not a hang
    lk.start(quiet=True)
    with lab.consumer("test-restart", auto_offset_reset="earliest") as consumer:
        consumer.subscribe([topic])
        msg = next((m for m in (consumer.poll(1.0) for _ in range(30)) if m and not m.error()), None)
    assert msg is not None and msg.value() == b"kept"


def test_signals_are_real(lab):
    # pause is SIGSTOP: the kernel reports the process as stopped, not just labkit's bookkeeping
    pid = lab.cluster.pid(2)
    os.kill(pid, signal.SIGSTOP)
    try:
        assert procs.wait_state(pid, "paused", 10)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert procs.wait_state(pid, "running", 10)


def test_cluster_ids_never_look_like_options():
    from labkit.cluster.storage import new_cluster_id
    ids = [new_cluster_id() for _ in range(2000)]
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
