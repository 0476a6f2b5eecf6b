"""Nothing a learner has is ever lost (issue 14): one operation at a time, recovery that keeps data,
no orphans, and signals only to labkit's own brokers.

Throwaway clusters live in tmp_path on their own ports (one at a time) and are stopped afterwards.
"""
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from labkit import config
from labkit.cluster import idle, lock, procs, storage
from labkit.cluster.local import LocalCluster
from labkit.errors import LabError
from labkit.wait import wait_for
from spares import free_base

ROOT = Path(__file__).resolve().parents[2]


def env_of(cluster, **extra) -> dict:
    return {**os.environ, "LABKIT_STATE_DIR": str(cluster.state_dir),
            "LABKIT_PORT_BASE": str(cluster.port_base), **extra}


def labkit(*args, cluster, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "labkit.cli", *args], env=env_of(cluster), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


# ---- item 2: one operation at a time ----------------------------------------------------------
HOLD = ("import sys, time; from pathlib import Path; from labkit.cluster.lock import locked\n"
        "with locked(Path(sys.argv[1]), 'up'):\n    print('held', flush=True); time.sleep(float(sys.argv[2]))\n")


@pytest.mark.timeout(60, func_only=True)
def test_lock_makes_a_second_caller_wait_and_say_for_whom(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path), "3"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    out = io.StringIO()
    t0 = time.monotonic()
    with lock.locked(tmp_path, "down", out=out, timeout=30):
        waited = time.monotonic() - t0
    holder.wait(10)
    assert 1 < waited < 20, waited
    assert f"pid {holder.pid}, up" in out.getvalue() and "Waiting for another labkit" in out.getvalue()


@pytest.mark.timeout(60, func_only=True)
def test_lock_wait_is_bounded_with_a_hint(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path), "20"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LabError) as err:
            with lock.locked(tmp_path, "up", out=io.StringIO(), timeout=1):
                pass
        assert "another labkit" in err.value.message and err.value.hint
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.slow
@pytest.mark.timeout(600, func_only=True)
def test_two_ups_at_once_then_up_during_down(spare):
    """Two `labkit up` on a fresh folder: one formats and starts, the other waits and finds it
    ready; then an `up` during a `down` waits for the down and starts the cluster again."""
    first, second = labkit("up", cluster=spare), labkit("up", cluster=spare)
    outs = [p.communicate(timeout=400) for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outs
    joined = "".join(o for o, _ in outs)
    assert joined.count("Formatting storage") == 1, joined
    assert "Waiting for another labkit" in "".join(o for o, _ in outs), outs
    ids = {storage.meta(spare.node_dir(n))["cluster.id"] for n in config.NODES}
    assert ids == {json.loads((spare.state_dir / "cluster.json").read_text())["cluster_id"]}
    assert all(r["state"] == "running" for r in spare.status())

    down = labkit("down", cluster=spare)
    wait_for("down to hold the lock", lambda: "down" in (spare.state_dir / ".lock").read_text(), 30, 0.05)
    up = labkit("up", cluster=spare)
    assert down.wait(120) == 0 and up.wait(400) == 0, (down.communicate(), up.communicate())
    assert "Waiting for another labkit" in up.stdout.read()
    assert all(r["state"] == "running" for r in spare.status())


# ---- item 3: recovery never deletes data ------------------------------------------------------
@pytest.mark.slow
@pytest.mark.timeout(600, func_only=True)
def test_a_node_folder_deleted_by_hand_is_formatted_alone(spare, monkeypatch):
    from labkit.chaos import read_back
    from labkit.lab import Lab
    monkeypatch.setenv("JAVA_TOOL_OPTIONS", "-Dlabkit.leak=1")  # S2: never reaches a broker
    spare.up(out=io.StringIO())
    lab = Lab(spare, out=io.StringIO())
    topic = lab.fresh_topic("kept", 3, 3)
    with lab.producer(acks="all") as p:
        for i in range(300):
            p.produce(topic, str(i).encode())
        assert p.flush(30) == 0
    pids = {n: spare.pid(n) for n in (1, 2)}
    cluster_id = storage.meta(spare.node_dir(1))["cluster.id"]
    assert all("JAVA_TOOL_OPTIONS" not in psutil.Process(pid).environ() for pid in pids.values())
    spare.stop(3)
    import shutil
    shutil.rmtree(spare.node_dir(3))  # "reset broker 3"
    out = io.StringIO()
    spare.up(out=out)
    assert "Formatting storage of broker(s) 3 " in out.getvalue(), out.getvalue()
    assert {n: spare.pid(n) for n in (1, 2)} == pids, "a running broker was restarted"
    assert storage.meta(spare.node_dir(3))["cluster.id"] == cluster_id
    assert sorted(seq for _p, _o, seq in read_back(spare.bootstrap_servers, topic)) == list(range(300))


@pytest.mark.timeout(120, func_only=True)
def test_data_without_meta_properties_is_never_formatted(spare):
    storage.claim(spare.state_dir)
    precious = spare.node_dir(2) / "data" / "orders-0" / "00000000000000000000.log"
    precious.parent.mkdir(parents=True)
    precious.write_bytes(b"a learner's records")
    with pytest.raises(LabError) as err:
        spare.up(out=io.StringIO())
    assert "meta.properties" in err.value.message and "--wipe" in err.value.hint
    assert precious.read_bytes() == b"a learner's records"


@pytest.fixture
def tiny_disk(tmp_path):
    """A 2 MiB tmpfs, mounted for the test (root only)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)])


@pytest.mark.timeout(60, func_only=True)
def test_state_dir_on_a_full_disk(tiny_disk):
    kept = tiny_disk / "kept"
    storage.claim(kept)
    storage.write_state(kept, "the-old-id", 9092)
    with open(tiny_disk / "filler", "wb") as f:  # fill the disk to the last block
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    cluster = LocalCluster(state_dir=tiny_disk / "cluster", port_base=free_base())
    with pytest.raises(LabError) as err:
        cluster.up(out=io.StringIO())
    assert "free some space" in err.value.hint and "df -h" in err.value.hint, str(err.value)
    with pytest.raises(LabError):  # an atomic write that cannot finish leaves the old file whole
        storage.write_state(kept, "x" * 100_000, 9092)
    assert storage.read_state(kept)["cluster_id"] == "the-old-id"
    assert [p.name for p in kept.iterdir() if ".tmp-" in p.name] == []
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], check=True)
    with pytest.raises(LabError) as err:
        LocalCluster(state_dir=tiny_disk / "other", port_base=free_base()).up(out=io.StringIO())
    assert "writable" in err.value.hint, str(err.value)


# ---- item 1: wiping needs the owner's marker --------------------------------------------------
def test_wipe_refuses_a_folder_labkit_did_not_make(tmp_path):
    folder = tmp_path / "not-labkits"
    (folder / "node-1").mkdir(parents=True)
    (folder / "node-1" / "notes.txt").write_text("mine")
    with pytest.raises(LabError) as err:
        LocalCluster(state_dir=folder).down(wipe=True, out=io.StringIO())
    assert ".labkit-owner" in err.value.message and err.value.hint
    assert (folder / "node-1" / "notes.txt").read_text() == "mine"


def test_suite_never_wipes_a_learners_lab_but_the_learner_can(tmp_path, monkeypatch):
    lab_dir = tmp_path / "learner"
    monkeypatch.setenv("LABKIT_OWNER", "lab")
    storage.claim(lab_dir)  # as `labkit up` makes it for a learner
    (lab_dir / "node-1" / "data").mkdir(parents=True)
    (lab_dir / "node-1" / "data" / "meta.properties").write_text("cluster.id=x\n")
    assert (lab_dir / ".labkit-owner").read_text().strip() == "lab"
    assert (lab_dir.stat().st_mode & 0o777) == 0o700  # S1: private on a shared host
    monkeypatch.setenv("LABKIT_OWNER", "test-suite")
    with pytest.raises(LabError) as err:
        LocalCluster(state_dir=lab_dir).down(wipe=True, out=io.StringIO())
    assert "'lab'" in err.value.message and (lab_dir / "node-1" / "data" / "meta.properties").exists()
    monkeypatch.setenv("LABKIT_OWNER", "lab")  # the learner's own `labkit down --wipe`
    LocalCluster(state_dir=lab_dir).down(wipe=True, out=io.StringIO())
    assert not (lab_dir / "node-1").exists()


# ---- item 5: down signals only labkit's brokers -----------------------------------------------
def sleeper(*args, **kw) -> subprocess.Popen:
    """A process whose argv ends in ``args`` (sh keeps them as $0, $1 ...)."""
    return subprocess.Popen(["/bin/sh", "-c", "sleep 120; true", *args], **kw)


@pytest.mark.timeout(60, func_only=True)
def test_down_signals_only_the_brokers_labkit_started(spare):
    storage.claim(spare.state_dir)
    props = spare._props(1)
    props.parent.mkdir(parents=True)
    props.write_text("# a copy a learner opened in an editor\n")
    bystanders = [
        sleeper("less", str(props)),  # a learner reading the file
        sleeper(str(props) + ".bak", "kafka.Kafka"),
        sleeper("kafka.Kafka", str(props), user="nobody"),  # another user's: reported only
    ]
    try:
        wait_for("bystanders to start", lambda: all(procs.argv(p.pid)[-1:] for p in bystanders), 10)
        (spare.node_dir(1) / "pid").write_text(f"{bystanders[0].pid} 12345.0")  # a wrong start time
        out = io.StringIO()
        spare.down(out=out)
        assert all(p.poll() is None for p in bystanders), "labkit signalled a process it did not start"
        assert f"pid {bystanders[2].pid} of another user" in out.getvalue(), out.getvalue()
    finally:
        for p in bystanders:
            p.kill()
            p.wait()


# ---- item 4: no orphans -------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.timeout(600, func_only=True)
def test_idle_watchdog_stops_a_cluster_no_client_uses(spare):
    from labkit.lab import Lab
    spare.up(out=io.StringIO(), idle_stop=0.1)  # 6 seconds
    watchdog = idle.running(spare)
    assert watchdog, "no watchdog"
    pids = [spare.pid(n) for n in config.NODES]
    with Lab(spare).consumer("idle-test") as consumer:  # a client holds connections: in use
        t0 = time.monotonic()
        while time.monotonic() - t0 < 15:
            consumer.poll(0.5)
            consumer.list_topics(timeout=5)
        assert all(procs.alive(p) for p in pids), "stopped while a client was connected"
    wait_for("the idle cluster to stop", lambda: not any(procs.alive(p) for p in pids), 90, 0.5)
    assert "no client for 0.1 min" in (spare.state_dir / "idle.log").read_text()
    wait_for("the watchdog to end", lambda: not procs.alive(watchdog), 30)


@pytest.mark.slow
@pytest.mark.timeout(600, func_only=True)
def test_sigterm_mid_up_leaves_no_cluster_and_says_so(spare):
    proc = labkit("up", cluster=spare)
    wait_for("a broker to start", lambda: any(spare.pid(n) for n in config.NODES), 240, 0.05)
    started = [spare.pid(n) for n in config.NODES if spare.pid(n)]
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, (out, err)
    assert "SIGTERM: stopped; no broker is running" in err, err
    assert not any(procs.alive(p) for p in started)
    assert "keep running" not in err


@pytest.mark.slow
@pytest.mark.timeout(600, func_only=True)
def test_a_killed_sessions_brokers_are_stopped_by_the_next_session(spare, monkeypatch, request):
    root_conftest = next(m for m in request.config.pluginmanager.get_plugins()
                         if getattr(m, "__file__", None) == str(ROOT / "conftest.py"))
    proc = labkit("up", cluster=spare)
    pids = wait_for("all brokers to start", lambda: all(spare.pid(n) for n in config.NODES) and
                    [spare.pid(n) for n in config.NODES], 240, 0.1)
    proc.kill()  # a session killed hard: its brokers run on
    proc.wait(10)
    monkeypatch.setattr(root_conftest, "STATE_DIR", spare.state_dir)
    root_conftest.pytest_sessionstart(None)
    assert not any(procs.alive(p) for p in pids), "the next session left them running"


def test_labkit_jupyter_says_the_cluster_still_runs(lab, tmp_path):
    fake = tmp_path / "bin" / "jupyter"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    res = subprocess.run([sys.executable, "-m", "labkit.cli", "jupyter", "--notebook-dir=notebooks"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT,
                         env={**os.environ, "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"})
    assert res.returncode == 0, res.stderr
    assert "still running" in res.stdout and "labkit down" in res.stdout, res.stdout
    assert all(r["state"] == "running" for r in lab.cluster.status())


def test_make_clean_stops_the_suites_brokers_before_deleting_them():
    res = subprocess.run(["make", "-n", "clean"], capture_output=True, text=True, cwd=ROOT, timeout=30)
    lines = res.stdout.splitlines()
    down = next(i for i, line in enumerate(lines) if ".lab-test/cluster" in line and "down --wipe" in line)
    rm = next(i for i, line in enumerate(lines) if line.startswith("rm -rf") and ".lab-test" in line)
    assert down < rm and "LABKIT_OWNER=test-suite" in lines[down]
