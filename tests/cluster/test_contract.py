"""One contract, two backends: the same checks against the local JVMs and the compose containers.

``base.Cluster`` is what notebooks, broker buttons and the chaos checker rely on; each test here
runs once on the suite's local cluster (tests/conftest.py: ``lab``) and once on its compose cluster
(tests/cluster/conftest.py: ``compose_cluster``, marked ``engine``: it skips, with its reason,
where no Docker engine can be had).
"""
import io

import pytest

from labkit import clients, config
from labkit.cluster import ready
from labkit.errors import LabError
from labkit.lab import Lab

BACKENDS = ["local", pytest.param("compose", marks=pytest.mark.engine)]
ROW = {"broker": int, "state": str, "pid": (int, type(None)), "port": int, "answers": bool,
       "controller": bool}


@pytest.fixture(params=BACKENDS)
def cluster(request):
    """The backend's cluster, whole again after the test (brokers started, resumed)."""
    if request.param == "local":
        cluster = request.getfixturevalue("lab").cluster
    else:
        cluster = request.getfixturevalue("compose_cluster")
    yield cluster
    Lab(cluster, out=io.StringIO()).heal()


def _registered(cluster) -> set[int]:
    with clients.quiet_admin(cluster.bootstrap_servers) as admin:
        return ready.registered(admin)


def test_status_rows_have_one_shape(cluster):
    rows = cluster.status()
    assert [r["broker"] for r in rows] == list(config.NODES)
    for row in rows:
        assert set(row) == set(ROW)
        for key, kind in ROW.items():
            assert isinstance(row[key], kind), (key, row)
        assert row["state"] == "running" and row["answers"] and row["pid"] > 0
        assert row["port"] == config.client_port(row["broker"], cluster.port_base)
    assert sum(r["controller"] for r in rows) == 1
    assert next(r["broker"] for r in rows if r["controller"]) == cluster.active_controller()


def test_bootstrap_servers_answer(cluster):
    assert cluster.bootstrap_servers == config.bootstrap_servers(cluster.port_base)
    with clients.quiet_admin(cluster.bootstrap_servers) as admin:
        brokers = admin.list_topics(timeout=10).brokers
    assert {b.id: b.port for b in brokers.values()} == \
        {n: config.client_port(n, cluster.port_base) for n in config.NODES}


@pytest.mark.parametrize("verb", ["kill", "stop", "start", "pause", "resume"])
def test_unknown_brokers_are_lab_errors(cluster, verb):
    for bad in (7, "x", 0):
        with pytest.raises(LabError, match="no broker") as err:
            getattr(cluster, verb)(bad)
        assert "labkit status" in err.value.hint


@pytest.mark.slow
def test_kill_then_start(cluster):
    victim = next(n for n in config.NODES if n != cluster.active_controller())
    assert cluster.kill(victim) == f"broker {victim} killed (SIGKILL)"
    row = cluster.status()[victim - 1]
    assert row["state"] == "stopped" and row["pid"] is None and not row["answers"]
    others = [r for r in cluster.status() if r["broker"] != victim]
    assert all(r["state"] == "running" and r["answers"] for r in others)
    assert cluster.kill(victim) == f"broker {victim} was not running"
    assert cluster.stop(victim) == f"broker {victim} was not running"
    with pytest.raises(LabError, match="not running") as err:
        cluster.pause(victim)
    assert f"labkit start {victim}" in err.value.hint
    with clients.quiet_admin(cluster.bootstrap_servers) as admin:  # the others still serve metadata
        assert admin.list_topics(timeout=10).brokers
    message = cluster.start(victim, out=io.StringIO())
    assert message.startswith(f"broker {victim} started (") and message.endswith(") and registered")
    assert victim in _registered(cluster)
    assert cluster.status()[victim - 1]["state"] == "running"


@pytest.mark.slow
def test_pause_and_resume(cluster):
    victim = config.NODES[-1]
    said = cluster.pause(victim)
    assert said.startswith(f"broker {victim} paused (")
    assert cluster.status()[victim - 1]["state"] == "paused"
    assert cluster.pause(victim) == said  # twice is harmless, as SIGSTOP twice is
    assert cluster.start(victim) == f"broker {victim} is already running"  # paused counts as running
    assert cluster.resume(victim).startswith(f"broker {victim} resumed (")
    row = cluster.status()[victim - 1]
    assert row["state"] == "running" and row["answers"]
