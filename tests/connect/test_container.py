"""The compose backend's Connect worker as labkit configures it (labkit/connect/container.py).

Read without an engine: what docker-compose.yml's ``connect`` service receives and how it runs the
worker. The worker itself, running in a container, is tested on a real engine in
tests/cluster/test_compose.py (test_connect_worker_on_compose and notebook 10 on compose).
"""
from pathlib import Path

import pytest
import yaml

from labkit import config, connect
from labkit.cluster import composefile
from labkit.connect import container, jars
from labkit.connect.worker import MAIN
from labkit.errors import LabError

FILE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


@pytest.fixture(scope="module")
def service():
    spec = yaml.safe_load(composefile.interpolate(FILE.read_text(), {}))
    return spec["services"][container.SERVICE]


def test_the_service_is_optional_and_published_on_loopback_only(service):
    assert service["profiles"] == ["connect"]  # `docker compose up` alone never starts it
    assert service["ports"] == [f"127.0.0.1:8083:{container.REST_PORT}"]
    assert service["image"] == composefile.IMAGE  # the brokers' image: no second image to build


def test_the_service_runs_the_same_worker_with_the_mounted_jars(service):
    script = service["command"][0]
    assert MAIN in script and "worker.properties" in script
    assert "grep -v /connect-file-" in script  # the plugin loads from plugin.path only
    mounts = {v.split(":")[1]: v for v in service["volumes"]}
    assert mounts[container.JARS_MOUNT].endswith(":ro")
    assert container.LOG4J_MOUNT in mounts


def test_compose_env_names_the_port_folder_and_flags(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_STATE_DIR", str(tmp_path / "cluster"))
    env = container.compose_env("kafka-lab-x", 29092)
    assert env["LABKIT_CONNECT_PORT"] == str(config.connect_port(29092)) == "28083"
    folder = tmp_path / "compose-kafka-lab-x" / "connect"
    assert env["LABKIT_CONNECT_DIR"] == str(folder)
    assert f"-Dkafka.logs.dir={folder / 'logs'}" in env["LABKIT_CONNECT_JAVA_OPTS"]
    assert config.CONNECT_HEAP in env["LABKIT_CONNECT_JAVA_OPTS"]
    if jars.fetched() is not None:
        assert env["LABKIT_CONNECT_JARS"] == str(jars.fetched())


def test_no_worker_beside_a_cluster_labkit_does_not_run():
    class External:
        backend, bootstrap_servers = "external", "broker.example.com:9092"

    with pytest.raises(LabError, match="not beside this one") as err:
        connect.worker(External())
    assert "ConnectClient" in err.value.hint
