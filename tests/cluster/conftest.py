"""The suite's compose cluster on a real Docker engine: one for every engine test, removed at the end.

It is the test suite's own: project ``kafka-lab-test`` and host ports from 17092 (never a learner's
``kafka-lab`` on 9092-9094, nor the local test cluster's 19092-19094 and 19192-19194). Where no
engine, compose plugin or Kafka image can be had, engine tests skip with the reason; with
``LABKIT_REQUIRE_ENGINE=1`` (CI) that skip is a failure.
"""
import io
import os
import time

import pytest

from labkit.cluster import composefile
from labkit.cluster.compose import ComposeCluster, compose_cli_problem

PROJECT = "kafka-lab-test"
PORT_BASE = int(os.environ.get("LABKIT_TEST_COMPOSE_PORT_BASE", "17092"))
TIMINGS: dict[str, float] = {}  # what the engine tests measured, printed at the end


def engine_problem() -> str | None:
    """None when a Docker engine, the compose plugin and the Kafka image are here, else why not."""
    try:
        import docker
        client = docker.from_env(timeout=10)
        client.ping()
    except Exception as exc:
        return f"no Docker engine answers here ({type(exc).__name__}: {str(exc)[:80]}); `make engine` starts one"
    problem = compose_cli_problem()
    if problem:
        return problem
    try:
        client.images.get(composefile.image())
    except Exception:
        return (f"the image {composefile.image()} is not here (`make engine` builds "
                "labkit/kafka-offline; export LABKIT_KAFKA_IMAGE to use it)")
    return None


def need_engine() -> None:
    problem = engine_problem()
    if problem:
        if os.environ.get("LABKIT_REQUIRE_ENGINE") == "1":
            pytest.fail(f"LABKIT_REQUIRE_ENGINE=1 but {problem}", pytrace=False)
        pytest.skip(f"compose engine test not run: {problem}")


@pytest.fixture(scope="session")
def compose_env() -> dict:
    """The variables that point labkit (and a notebook kernel) at the suite's compose cluster."""
    return {"LABKIT_BACKEND": "compose", "LABKIT_TEST_BACKEND": "compose",
            "LABKIT_COMPOSE_PROJECT": PROJECT, "LABKIT_PORT_BASE": str(PORT_BASE),
            "LABKIT_TEST_PORT_BASE": str(PORT_BASE)}


@pytest.fixture(scope="session")
def compose_cluster():
    """The suite's compose cluster, up and ready; ``down -v`` when the session ends."""
    need_engine()
    cluster = ComposeCluster(project_name=PROJECT, port_base=PORT_BASE)
    out = io.StringIO()
    if any(cluster.container(n) for n in (1, 2, 3)):
        cluster.down(wipe=True, out=out)  # left by a killed session: the suite's own, start afresh
    t0 = time.monotonic()
    try:
        cluster.up(out)
        TIMINGS["compose up (fresh volumes)"] = time.monotonic() - t0
        yield cluster
    finally:
        cluster.down(wipe=True, out=out)
        assert not any(cluster.container(n) for n in (1, 2, 3)), out.getvalue()


@pytest.fixture
def healthy_compose(compose_cluster):
    """For tests that break brokers: the compose cluster is whole again afterwards."""
    yield compose_cluster
    compose_cluster.heal(out=io.StringIO())


@pytest.fixture
def timings() -> dict:
    """Where an engine test records a duration worth reporting (printed at the end)."""
    return TIMINGS


@pytest.fixture(autouse=True)
def _time_engine_tests(request):
    t0 = time.monotonic()
    yield
    if request.node.get_closest_marker("engine"):
        TIMINGS[request.node.name] = time.monotonic() - t0


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.section("engine timings (s)")
        for name, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{seconds:7.1f}  {name}")
