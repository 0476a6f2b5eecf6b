"""``labkit doctor`` (issue 20): this machine passes, a missing Java and a taken port are named."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labkit import cli, config, doctor
from labkit.cluster import procs
from labkit.doctor import checks
from labkit.wait import wait_for

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from spares import free_base  # noqa: E402


def _doctor(env: dict, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labkit.cli", "doctor", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_this_machine_is_ready(capsys):
    """Every row ✔ here (Java 17, Maven, cached jars, JupyterLab 4.6, free ports or the suite's own)."""
    rc = cli.main(["doctor"])
    out = capsys.readouterr().out
    rows = checks.all_rows()
    assert rc == 0, out
    # on a fresh machine the later lessons' jars arrive when their tests first run (after this one):
    # the only row allowed to be short of ✔, and then as a note (!), never a ✘
    assert [r.check for r in rows if not r.ok and r.check != "later lessons' jars"] == [], out
    assert "✘" not in out and "Ready for the lab." in out
    for what in ("Java 17+", "broker ports", "Connect REST port", "JupyterLab 4", "free memory"):
        assert what in out


def test_without_java_says_how_to_install_it(tmp_path):
    """Java hidden from PATH (and JAVA_HOME unset): a blocking ✘ with the apt/brew/conda/WSL2 fix."""
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(Path(sys.executable).parent)  # the venv's bin: python and labkit, no java, no mvn
    res = _doctor(env)
    assert res.returncode == 1, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    at = next(i for i, l in enumerate(lines) if "Java 17+" in l)
    assert lines[at].startswith("✘") and "Java was not found" in lines[at]
    fix = lines[at + 1]
    assert "fix:" in fix and "apt install openjdk-17-jdk" in fix and "brew" in fix and "WSL2" in fix
    assert "Not ready: Java 17+" in res.stdout
    # the jars are cached, so a missing Maven does not block (an offline kit's situation)
    assert "not needed, the jars are cached" in res.stdout


def test_a_taken_port_names_its_process(tmp_path):
    """Another process listening on broker 1's port: ✘, its pid and command line, exit 1."""
    base = free_base()
    port = config.client_port(1, base)
    # SO_REUSEADDR: a throwaway cluster that used this port a moment ago may leave TIME_WAIT sockets
    holder = subprocess.Popen([sys.executable, "-c", "import socket,sys; s=socket.socket(); "
                               "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
                               f"s.bind(('127.0.0.1', {port})); s.listen(); sys.stdin.read()"],
                              stdin=subprocess.PIPE)
    try:
        wait_for(f"the stand-in listener on {port}", lambda: procs.port_answers(port), timeout=15)
        rows = {r.check: r for r in checks.ports(base)}
        taken = rows["broker ports"]
        assert not taken.ok and taken.blocks
        assert f"{port} by pid {holder.pid}" in taken.seen and "socket" in taken.seen
        assert "LABKIT_PORT_BASE" in taken.fix
        assert rows["controller ports"].ok
        env = {**os.environ, "LABKIT_PORT_BASE": str(base), "LABKIT_STATE_DIR": str(tmp_path / "lab")}
        res = _doctor(env)
        assert res.returncode == 1 and f"pid {holder.pid}" in res.stdout, res.stdout
    finally:
        holder.stdin.close()
        holder.wait(10)


def test_table_shows_fixes_only_for_failures():
    rows = [doctor.Row("a", True, "fine", "never shown"), doctor.Row("b", False, "bad", "do this"),
            doctor.Row("c", False, "later", "then that", blocks=False)]
    text = doctor.table(rows)
    assert "never shown" not in text and "fix: do this" in text and "fix: then that" in text
    assert [l[0] for l in text.splitlines() if not l.startswith(" ")] == ["✔", "✘", "!"]


@pytest.mark.slow
def test_start_runs_a_round_trip_and_stops(tmp_path):
    """``--start`` on a fresh state folder: up, produce, consume, down; nothing left running."""
    base = free_base()
    env = {**os.environ, "LABKIT_PORT_BASE": str(base), "LABKIT_STATE_DIR": str(tmp_path / "lab")}
    res = _doctor(env, "--start", timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "✔ round trip (--start)" in res.stdout and "up, produce, consume, down" in res.stdout
    assert all(procs.port_free(config.client_port(n, base)) for n in config.NODES)


def test_the_labs_own_brokers_are_not_a_clash(lab):
    """Ports held by this lab's running brokers (their argv names the state folder) are ✔."""
    assert all(r["state"] == "running" for r in lab.cluster.status())
    rows = {r.check: r for r in checks.ports()}
    for what in ("broker ports", "controller ports"):
        assert rows[what].ok and "held by this lab" in rows[what].seen, rows[what]
    assert checks.all_rows() and cli.main(["doctor"]) == 0
