"""A class on one secured cluster (issue 20, parts 3 and 4): cards, class mode, the progress board.

One class cluster for the module (its own folder and free ports, ``--listen 127.0.0.2``: a second
loopback address, so the CLASS listener is really a different address and nothing binds beyond
this machine), wiped at the end. Three learners run notebook 01's exercise at once, as three
processes with their own cards, and the instructor's ``lab.progress()`` shows their verdicts.
"""
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labkit import cli, clients, config
from labkit.classroom import PROGRESS_TOPIC, board, progress, roster
from labkit.classroom.mode import ClassCluster
from labkit.cluster import procs, settings
from labkit.cluster.local import LocalCluster
from labkit.errors import LabError
from labkit.lab import Lab

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from spares import free_base  # noqa: E402

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_topics_and_configuration.ipynb"
LISTEN = "127.0.0.2"


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    cluster = LocalCluster(state_dir=tmp_path_factory.mktemp("class") / "cluster",
                           port_base=free_base(), secure=True)
    t0 = time.monotonic()
    cards = roster.up(3, LISTEN, out=io.StringIO(), cluster=cluster)
    print(f"class up (3 learners): {time.monotonic() - t0:.1f} s")
    yield cluster, cards
    roster.down(wipe=True, out=io.StringIO(), cluster=cluster)
    for n in config.NODES:
        assert not procs.brokers_on(cluster._props(n)), "a class broker was left running"
    assert not roster.class_dir(cluster.state_dir).exists()


def _learner_env(card: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("LABKIT_BACKEND", "LABKIT_BOOTSTRAP",
                                                            "LABKIT_CLIENT_CONFIG")}
    return {**env, "LABKIT_CLASS": str(card)}


def _exercise_01() -> str:
    """Notebook 01's set-up lines, its exercise solution and its check, as the notebook has them."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    tagged = {tag: "".join(c["source"]) for c in cells for tag in c["metadata"].get("tags", [])}
    solution = tagged["solution"].split("```python\n", 1)[1].split("```", 1)[0]
    return "\n".join([
        "import time", "from confluent_kafka.admin import NewTopic", "import labkit as lk",
        "lab = lk.start(quiet=True)", "admin = lab.admin()",
        "RUN = 'same-run'   # all three learners use the same name: only their prefixes differ",
        solution, tagged["check"], "print('TOPIC', ORDERS)"])


def test_cards_are_files_with_a_login_each(klass):
    cluster, cards = klass
    assert [c.name for c in cards] == ["learner01.card", "learner02.card", "learner03.card"]
    for number, card in enumerate(cards, 1):
        text = card.read_text()
        assert card.stat().st_mode & 0o077 == 0  # it holds a password
        assert f"sasl.username=learner{number:02d}\n" in text and f"export LABKIT_CLASS={card}" in text
        assert f"bootstrap.servers={LISTEN}:{cluster.port_base + roster.CLASS_PORT_OFFSET}," in text
    assert roster.card(2, cluster) == cards[1]


def test_three_learners_run_notebook_01_exercise_at_once(klass):
    cluster, cards = klass
    code = _exercise_01()
    t0 = time.monotonic()
    runs = [subprocess.Popen([sys.executable, "-c", code], env=_learner_env(card), text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for card in cards]
    outs = [run.communicate(timeout=120)[0] for run in runs]
    print(f"3 learners' exercise 01 at once: {time.monotonic() - t0:.1f} s")
    for number, (run, out) in enumerate(zip(runs, outs), 1):
        assert run.returncode == 0, out
        assert "✔ correct:" in out and f"TOPIC learner{number:02d}.orders-same-run" in out, out
    with clients.quiet_admin(cluster.bootstrap_servers) as admin:  # the instructor sees three topics
        topics = set(admin.list_topics(timeout=10).topics)
    assert {f"learner0{n}.orders-same-run" for n in (1, 2, 3)} <= topics
    assert "orders-same-run" not in topics
    instructor = Lab(cluster)
    df = instructor.progress()
    assert list(df.index) == ["learner01", "learner02", "learner03"]
    assert all(cell.startswith("✔ ") for cell in df["01 topic"]), df
    html = board.Board(instructor, stuck_minutes=10, mode="static").html()
    assert "3 learner(s), 3 exercise(s) solved" in html and "Nobody is stuck" in html
    status = subprocess.run([sys.executable, "-m", "labkit.cli", "class", "status"], text=True,
                            capture_output=True, timeout=60,
                            env={**os.environ, "LABKIT_SECURE_STATE_DIR": str(cluster.state_dir)})
    assert status.returncode == 0, status.stderr
    assert "class: 3 learners" in status.stdout and "learner03" in status.stdout


def test_a_learner_writes_progress_but_cannot_read_it_nor_leave_the_prefix(klass):
    cluster, cards = klass
    learner = ClassCluster(cards[0])
    learner.up(out=io.StringIO())
    with pytest.raises(LabError, match="TOPIC_AUTHORIZATION_FAILED"):  # a name without lab.name
        from confluent_kafka.admin import NewTopic
        with clients.admin(learner.bootstrap_servers) as admin:
            clients.result(admin.create_topics([NewTopic("orders", 1, 1)])["orders"], "create orders")
    assert Lab(learner).name("orders") == "learner01.orders" == Lab(learner).name("learner01.orders")
    from confluent_kafka.admin import ConfigResource  # the brokers' settings (notebook 01), no secrets
    broker = ConfigResource(ConfigResource.Type.BROKER, "1")
    with clients.admin(learner.bootstrap_servers) as admin:
        entries = clients.result(admin.describe_configs([broker])[broker], "describe broker 1")
    assert entries["min.insync.replicas"].value == "2"
    jaas = [e for name, e in entries.items() if name.endswith("sasl.jaas.config")]
    assert jaas and all(e.value is None and e.is_sensitive for e in jaas)
    t0 = time.monotonic()
    with pytest.raises(LabError, match="the instructor's: learner01 may write"):  # only the instructor reads
        Lab(learner).progress()
    assert time.monotonic() - t0 < 2
    with pytest.raises(LabError):  # and the ACLs say the same to a learner who reads it directly
        progress.read(learner.bootstrap_servers, timeout=5)


def test_a_local_lab_shares_only_when_its_learner_opts_in(klass, monkeypatch):
    """The instructor's own lab is not in class mode: nothing shared until LABKIT_PROGRESS=1."""
    from labkit import lessons
    cluster, _cards = klass
    lab = Lab(cluster)
    monkeypatch.setenv("LABKIT_LEARNER", "local-learner")
    monkeypatch.delenv("LABKIT_PROGRESS", raising=False)
    assert lessons.check_topic(lab, "learner01.orders-same-run", partitions=6, replication_factor=2)
    assert "local-learner" not in lab.progress().index
    monkeypatch.setenv("LABKIT_PROGRESS", "1")
    assert lessons.check_topic(lab, "learner01.orders-same-run", partitions=6, replication_factor=2)
    assert lab.progress().loc["local-learner", "01 topic"].startswith("✔")


def test_wrong_password_names_the_card(klass, tmp_path):
    _cluster, cards = klass
    bad = tmp_path / "learner02.card"
    bad.write_text(cards[1].read_text().replace("sasl.password=", "sasl.password=x"))
    t0 = time.monotonic()
    with pytest.raises(LabError, match=f"did not accept your class card {bad}"):
        ClassCluster(bad).up(out=io.StringIO())
    assert time.monotonic() - t0 < 10
    with pytest.raises(LabError, match="not a class card"):
        (tmp_path / "empty.card").write_text("# nothing\n")
        ClassCluster(tmp_path / "empty.card")


def test_seats_beyond_the_class_are_refused(klass, capsys, monkeypatch):
    cluster, _cards = klass
    for number in (0, 4, 31):
        with pytest.raises(LabError, match=f"no learner {number} in this class of 3"):
            roster.card(number, cluster)
    monkeypatch.setenv("LABKIT_SECURE_STATE_DIR", str(cluster.state_dir))
    assert cli.main(["class", "card", "4"]) == 2
    assert "no learner 4 in this class of 3" in capsys.readouterr().err
    with pytest.raises(LabError, match="does not shrink"):
        roster.up(2, LISTEN, out=io.StringIO(), cluster=cluster)
    with pytest.raises(LabError, match="1 to 99 learners"):
        roster.up(100, LISTEN, out=io.StringIO(), cluster=cluster)
    with pytest.raises(LabError, match="listeners change only at a start"):
        roster.up(3, None, out=io.StringIO(), cluster=cluster)


def test_listen_is_explicit_and_default_binds_loopback_only(klass, tmp_path, capsys):
    cluster, _cards = klass
    props = cluster._props(1).read_text()
    assert f"SASL_PLAINTEXT://{config.HOST}:" in props and f"CLASS://{LISTEN}:" in props
    plain = settings.server_properties(1, tmp_path / "node-1", 29392, {"controller_password": "c",
                                                                       "admin_password": "a"})
    listeners = [line for line in plain.splitlines() if "listeners=" in line]
    assert listeners and all("CLASS" not in line for line in listeners)
    assert all(host == config.HOST for line in listeners for host in
               [part.split("//")[1].rsplit(":", 1)[0] for part in line.split("=", 1)[1].split(",")])
    with pytest.raises(SystemExit):
        cli.main(["class", "up", "--learners", "2", "--listen"])
    assert "expected one argument" in capsys.readouterr().err
    for address in ("", "0.0.0.0", "::", "192.0.2.1"):  # 192.0.2.1: TEST-NET, not this machine's
        with pytest.raises(LabError, match="--listen"):
            roster.check_listen(address)


def test_the_board_without_a_class(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LABKIT_SECURE_STATE_DIR", str(tmp_path / "no-class"))
    assert cli.main(["class", "status"]) == 2
    assert "No class is set up" in capsys.readouterr().err
    dead = f"{config.HOST}:{free_base()}"
    with pytest.raises(LabError, match="No class cluster answers") as err:
        progress.read(dead)
    assert "labkit class up" in err.value.hint


def test_sharing_a_verdict_never_fails_or_holds_a_check(tmp_path, capsys):
    """A class card whose cluster is gone: the check still answers, within seconds, and says once
    that its verdict was not shared."""
    from labkit import lessons
    card = tmp_path / "learner09.card"
    card.write_text(f"bootstrap.servers={config.HOST}:{free_base()}\nsecurity.protocol=SASL_PLAINTEXT\n"
                    "sasl.mechanism=SCRAM-SHA-512\nsasl.username=learner09\nsasl.password=x\n")
    lab = Lab(ClassCluster(card))
    for _ in range(2):
        t0 = time.monotonic()
        assert lessons.check_topic(lab, "learner09.orders", partitions=6, replication_factor=2) is False
        took = time.monotonic() - t0
        print(f"a check whose verdict cannot be shared: {took:.1f} s")
        assert took < progress.DELIVERY_TIMEOUT + 5
    out = capsys.readouterr().out
    assert out.count("✘ not yet:") == 2 and out.count("was not shared") == 1


def test_nothing_is_shared_outside_class_mode(monkeypatch):
    monkeypatch.delenv("LABKIT_PROGRESS", raising=False)
    local = Lab(LocalCluster(state_dir=Path("/nonexistent/labkit-plain"), port_base=free_base()))
    assert progress.enabled(local) is False
    assert progress.publish(local, lambda: None, True, "✔ correct: x") is False
    assert local.name("orders") == "orders"
    monkeypatch.setenv("LABKIT_PROGRESS", "1")  # a local learner's explicit opt-in
    assert progress.enabled(local) is True


def test_stuck_learners_are_named():
    t = 1_000_000.0
    records = [{"learner": "learner01", "exercise": "01 topic", "ok": False, "time": t},
               {"learner": "learner01", "exercise": "01 topic", "ok": True, "time": t + 60},
               {"learner": "learner02", "exercise": "01 topic", "ok": False, "time": t},
               {"learner": "learner02", "exercise": "01 topic", "ok": False, "time": t + 700},
               {"learner": "learner03", "exercise": "01 topic", "ok": False, "time": t + 500}]
    late = progress.stuck(records, minutes=10, now=t + 900)
    assert [(s["learner"], round(s["minutes"])) for s in late] == [("learner02", 15)]
    assert "learner02: 01 topic for 15 min" in board.render(records, 10, now=t + 900)
    table = progress.table(records)
    assert table.loc["learner02", "01 topic"].startswith("✘") and table.loc["learner01", "01 topic"].startswith("✔")
    assert PROGRESS_TOPIC == "_lab.progress"
