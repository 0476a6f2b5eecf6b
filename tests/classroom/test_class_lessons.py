"""The class-ready lessons under nbval in class mode (issue 20, part 3: names get the learner's prefix).

One class cluster of two learners for the module (its own folder and free ports, loopback only),
wiped at the end. Each class-ready notebook runs under nbval as learner01 (``LABKIT_CLASS`` =
their card): every topic and group it names goes through ``lab.name``, so the ACLs, which allow
only ``learner01.``-prefixed names, refuse nothing; notebooks/sanitize.cfg drops the prefix, so
the saved plain-mode outputs still compare. With every exercise's solution pasted in, each check
says ✔ with the prefixed names. Then two learners run the same notebook at once.
"""
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labkit import clients, config
from labkit.classroom import roster
from labkit.cluster import procs
from labkit.cluster.local import LocalCluster

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "cluster"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lessons"))
import learner  # noqa: E402  (the learner-mode harness: solutions pasted over exercises)
from spares import free_base  # noqa: E402
from test_external import external_copy  # noqa: E402  (cells that need the lab's own brokers)

ROOT = Path(__file__).resolve().parents[2]
CLASS_READY = ["00", "01", "02", "03", "04", "05", "07", "08"]  # every topic, group, transactional id through lab.name


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    cluster = LocalCluster(state_dir=tmp_path_factory.mktemp("class-lessons") / "cluster",
                           port_base=free_base(), secure=True)
    cards = roster.up(2, None, out=io.StringIO(), cluster=cluster)
    yield cluster, cards
    roster.down(wipe=True, out=io.StringIO(), cluster=cluster)
    for n in config.NODES:
        assert not procs.brokers_on(cluster._props(n)), "a class broker was left running"


def _nbval(card: Path, notebook: Path, folder: Path) -> subprocess.Popen:
    """nbval of ``notebook`` as the learner of ``card`` runs it, in a pytest of its own."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = external_copy(notebook, folder)
    env = {k: v for k, v in os.environ.items()
           if k not in ("LABKIT_BACKEND", "LABKIT_BOOTSTRAP", "LABKIT_CLIENT_CONFIG")}
    env["LABKIT_CLASS"] = str(card)
    return subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(ROOT),
                             "-c", str(ROOT / "pyproject.toml"), "--nbval-lax", str(copy)],
                            cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _passed(run: subprocess.Popen, timeout: float = 300) -> str:
    out = run.communicate(timeout=timeout)[0]
    assert run.returncode == 0, out[-4000:]
    assert " passed" in out and "failed" not in out, out[-4000:]
    return out


def _topics(cluster) -> set[str]:
    with clients.quiet_admin(cluster.bootstrap_servers) as admin:  # the instructor sees every topic
        return set(admin.list_topics(timeout=10).topics)


@pytest.mark.parametrize("number", CLASS_READY)
def test_lesson_runs_in_class_mode(klass, number, tmp_path):
    cluster, cards = klass
    notebook = next((ROOT / "notebooks").glob(f"{number}_*.ipynb"))
    before = _topics(cluster)
    t0 = time.monotonic()
    _passed(_nbval(cards[0], notebook, tmp_path))
    seconds = time.monotonic() - t0
    print(f"notebook {number} under nbval in class mode (learner01): {seconds:.0f} s")
    assert seconds < 90
    # what the notebook left: only names with the learner's prefix (Kafka's own __consumer_offsets,
    # __transaction_state, __share_group_state appear on a fresh cluster's first use)
    made = {t for t in _topics(cluster) - before if not t.startswith("__")}
    assert made and all(t.startswith("learner01.") for t in made), sorted(made)


@pytest.mark.parametrize("number", CLASS_READY)
def test_solutions_pass_their_checks_in_class_mode(klass, number, monkeypatch):
    """The checks in labkit/lessons take the prefixed names: each solution's check says ✔."""
    _cluster, cards = klass
    for name in ("LABKIT_BACKEND", "LABKIT_BOOTSTRAP", "LABKIT_CLIENT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LABKIT_CLASS", str(cards[0]))  # the kernel inherits it
    notebook = next((ROOT / "notebooks").glob(f"{number}_*.ipynb"))
    t0 = time.monotonic()
    verdicts = learner.verdicts(learner.run_all(learner.solved(learner.load(notebook))))
    print(f"notebook {number} with its solutions in class mode: {time.monotonic() - t0:.0f} s")
    assert verdicts and all(v.startswith("✔ correct:") for v in verdicts), verdicts


def test_two_learners_run_the_same_notebook_at_once(klass, tmp_path):
    """Notebook 02 by learner01 and learner02 at once: same names, different prefixes, no collision."""
    cluster, cards = klass
    notebook = next((ROOT / "notebooks").glob("02_*.ipynb"))
    t0 = time.monotonic()
    runs = [_nbval(card, notebook, tmp_path / card.stem) for card in cards]
    for run in runs:
        _passed(run)
    print(f"notebook 02 by two learners at once: {time.monotonic() - t0:.0f} s")
    topics = _topics(cluster)
    assert {"learner01.story", "learner02.story", "learner01.clicks", "learner02.clicks"} <= topics
    assert "story" not in topics and "clicks" not in topics


def test_tools_with_subcommands_log_in_as_the_learner(klass):
    """Notebook 08's `kafka-transactions.sh ... describe-producers` in class mode: the login
    (--command-config) goes before the subcommand, where such tools accept it."""
    cluster, cards = klass
    env = {k: v for k, v in os.environ.items()
           if k not in ("LABKIT_BACKEND", "LABKIT_BOOTSTRAP", "LABKIT_CLIENT_CONFIG")}
    code = ("import subprocess, labkit as lk\nlab = lk.start(quiet=True)\n"
            "topic = lab.fresh_topic(lab.name('tools'), partitions=1, replication_factor=3)\n"
            "res = subprocess.run(['kafka-transactions.sh', '--bootstrap-server', lab.bootstrap_servers.split(',')[0],"
            " 'describe-producers', '--topic', topic, '--partition', '0'], capture_output=True, text=True, timeout=90)\n"
            "print('EXIT', res.returncode); print(res.stdout); print(res.stderr[-2000:])\n")
    res = subprocess.run([sys.executable, "-c", code], env={**env, "LABKIT_CLASS": str(cards[1])},
                         capture_output=True, text=True, timeout=180)
    assert "EXIT 0" in res.stdout and "ProducerId" in res.stdout, res.stdout + res.stderr
    assert "learner02.tools" in _topics(cluster)
