"""The scrape config labkit writes for Prometheus (notebook 11): every broker's endpoint, on
127.0.0.1, each one answering; and, where Prometheus is installed, a server that scrapes them."""
import shutil

import pytest
import yaml

from labkit import config
from labkit.observe import prometheus


def test_scrape_config_targets_every_broker_endpoint(lab):
    path = lab.prometheus_config()
    doc = yaml.safe_load(path.read_text())
    [job] = doc["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    targets = {int(sc["labels"]["broker"]): sc["targets"] for sc in job["static_configs"]}
    assert targets == {n: [f"127.0.0.1:{config.metrics_port(n, lab.cluster.port_base)}"] for n in config.NODES}
    up = lab.metrics("^up$")
    assert up.value.tolist() == [1.0] * len(config.NODES)  # each target answers now


@pytest.mark.skipif(shutil.which("prometheus") is None, reason="Prometheus is not installed (optional)")
def test_prometheus_scrapes_the_lab(lab):
    from labkit.wait import wait_for
    with lab.prometheus() as prom:
        assert prom.url == f"http://127.0.0.1:{prometheus.port(lab.cluster)}"
        wait_for("Prometheus to scrape every broker", lambda: len(prom.query("up == 1")) == 3, timeout=30)
        answer = prom.query("sum(kafka_controller_kafkacontroller_activecontrollercount)")
        assert float(answer[0]["value"][1]) == 1.0
