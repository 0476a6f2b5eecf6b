"""`make test` and `make bench` never touch a learner's lab (issue 14, item 1).

Whatever LABKIT_STATE_DIR, LABKIT_PORT_BASE and LABKIT_BACKEND a learner exported (the README
shows how), the suite and the bench assign their own, and mark the folders they create as theirs.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labkit import config
from labkit.errors import LabError

ROOT = Path(__file__).resolve().parent.parent
LEARNER = {"LABKIT_STATE_DIR": "/home/learner/.labkit/cluster", "LABKIT_PORT_BASE": "9092",
           "LABKIT_BACKEND": "compose"}
SHOW = "import json, os; print(json.dumps({k: os.environ.get(k) for k in %r}))" % (
    ["LABKIT_STATE_DIR", "LABKIT_PORT_BASE", "LABKIT_BACKEND", "LABKIT_OWNER"],)


def _env(extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABKIT_")}
    return {**env, **extra}


def test_the_suite_assigns_its_own_variables_over_a_learners():
    code = f"import conftest; conftest.pytest_configure(None); {SHOW}"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60,
                         env=_env({**LEARNER, "LABKIT_TEST_PORT_BASE": "27092"}))
    seen = json.loads(res.stdout.strip().splitlines()[-1])
    assert seen == {"LABKIT_STATE_DIR": str(ROOT / ".lab-test" / "cluster"), "LABKIT_PORT_BASE": "27092",
                    "LABKIT_BACKEND": "local", "LABKIT_OWNER": "test-suite"}
    assert "ignores your LABKIT_BACKEND, LABKIT_PORT_BASE, LABKIT_STATE_DIR" in res.stdout


def test_this_session_runs_on_the_suites_folder():
    assert config.state_dir() == ROOT / ".lab-test" / "cluster"
    assert os.environ["LABKIT_BACKEND"] == "local" and config.owner() == "test-suite"


def test_the_bench_assigns_its_own_variables_over_a_learners():
    code = ("import importlib.util, sys; spec = importlib.util.spec_from_file_location('bench_run', "
            f"'{ROOT / 'bench' / 'run.py'}'); mod = importlib.util.module_from_spec(spec); "
            f"spec.loader.exec_module(mod); {SHOW}")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60,
                         env=_env(LEARNER))
    assert res.returncode == 0, res.stderr
    seen = json.loads(res.stdout.strip().splitlines()[-1])
    assert seen == {"LABKIT_STATE_DIR": str(ROOT / "bench" / "output" / "cluster"), "LABKIT_PORT_BASE": "18092",
                    "LABKIT_BACKEND": "local", "LABKIT_OWNER": "bench"}


def test_the_bench_cannot_wipe_a_learners_lab(tmp_path):
    """Even pointed at a learner's folder, `labkit down --wipe` under the bench's owner refuses."""
    lab = tmp_path / "learner-lab"
    lab.mkdir()
    (lab / ".labkit-owner").write_text("lab\n")
    (lab / "cluster.json").write_text('{"kind": "labkit-local-cluster", "cluster_id": "x", "port_base": 9092}')
    res = subprocess.run([sys.executable, "-m", "labkit.cli", "down", "--wipe"], capture_output=True,
                         text=True, cwd=ROOT, timeout=60,
                         env=_env({"LABKIT_STATE_DIR": str(lab), "LABKIT_OWNER": "bench"}))
    assert res.returncode == 2 and "not to the bench" in res.stderr and "Hint:" in res.stderr
    assert (lab / "cluster.json").exists()


@pytest.mark.parametrize("raw, needle", [("nine", "not a port number"), ("80", "leaves no room"),
                                         ("65500", "leaves no room")])
def test_port_base_is_checked(monkeypatch, raw, needle):
    monkeypatch.setenv("LABKIT_PORT_BASE", raw)
    with pytest.raises(LabError) as err:
        config.port_base()
    assert needle in err.value.message and "29092" in err.value.hint


@pytest.mark.parametrize("raw", ["-Xmx1g -agentlib:jdwp=transport=dt_socket,address=*:5005",
                                 "-Dcom.sun.management.jmxremote.port=9999", "", "-Xmx"])
def test_broker_heap_takes_heap_flags_only(monkeypatch, raw):
    monkeypatch.setenv("LABKIT_BROKER_HEAP", raw)
    with pytest.raises(LabError) as err:
        config.broker_heap()
    assert "-Xms" in err.value.hint
    monkeypatch.setenv("LABKIT_BROKER_HEAP", "-Xms128m -Xmx1G")
    assert config.broker_heap() == "-Xms128m -Xmx1G"
