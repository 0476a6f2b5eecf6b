"""labkit.observe.metrics against the live cluster: the JMX exporter on every broker says what
Kafka's own tools say (kafka-topics --under-replicated-partitions), on 127.0.0.1 only."""
import io
import os
import socket
import subprocess
from collections import Counter

import pytest

from labkit import LabError, config
from labkit.cluster import exporter, procs
from labkit.cluster.local import LocalCluster
from labkit.wait import wait_for

URP = "kafka_server_replicamanager_underreplicatedpartitions"
CURATED = [URP, "kafka_server_replicamanager_isrshrinkspersec_total",
           "kafka_server_replicamanager_isrexpandspersec_total",
           "kafka_controller_kafkacontroller_activecontrollercount",
           "kafka_controller_kafkacontroller_offlinepartitionscount",
           "kafka_server_brokertopicmetrics_bytesinpersec_total",
           "kafka_server_brokertopicmetrics_messagesinpersec_total",
           "kafka_network_requestmetrics_totaltimems_mean",
           "kafka_server_kafkarequesthandlerpool_requesthandleravgidlepercent",
           "kafka_network_socketserver_networkprocessoravgidlepercent",
           "kafka_log_logflushstats_logflushrateandtimems_count",
           "jvm_memory_used_bytes", "jvm_gc_collection_seconds_count"]


def urp_leaders(lab) -> Counter:
    """Leader of each partition `kafka-topics --describe --under-replicated-partitions` lists."""
    res = subprocess.run(["kafka-topics", "--bootstrap-server", lab.bootstrap_servers, "--describe",
                          "--under-replicated-partitions"], capture_output=True, text=True,
                         timeout=120, env=os.environ)
    assert res.returncode == 0, res.stderr
    leaders = Counter()
    for line in res.stdout.splitlines():
        fields = dict(zip(line.split()[::2], line.split()[1::2]))
        if "Partition:" in fields:
            leaders[int(fields["Leader:"])] += 1
    return leaders


def urp_metric(lab) -> tuple[Counter, dict]:
    df = lab.metrics(URP)
    up = dict(zip(df[df.metric == "up"].broker, df[df.metric == "up"].value))
    rows = df[df.metric == URP]
    return Counter({int(b): int(v) for b, v in zip(rows.broker, rows.value) if v}), up


def test_every_broker_serves_the_curated_metrics(lab):
    df = lab.metrics()
    assert list(df.columns) == ["broker", "metric", "labels", "value"]
    for n in config.NODES:
        mine = set(df[df.broker == n].metric)
        assert not set(CURATED) - mine, f"broker {n} lacks {sorted(set(CURATED) - mine)}"
        assert df[(df.broker == n) & (df.metric == "up")].value.tolist() == [1.0]
    active = df[df.metric == "kafka_controller_kafkacontroller_activecontrollercount"]
    assert active.value.sum() == 1  # exactly one active KRaft controller...
    assert int(active[active.value == 1].broker.iloc[0]) == lab.controller  # ...the quorum's leader


def test_produce_moves_bytes_in(lab):
    topic = lab.fresh_topic("metrics-bytes-in", partitions=1, replication_factor=3)
    name = "kafka_server_brokertopicmetrics_bytesinpersec_total"
    before = lab.metrics(name)
    with lab.producer() as p:
        for i in range(200):
            p.produce(topic, b"x" * 1000)
        assert p.flush(30) == 0
    after = lab.metrics(name)
    mine = after[after.labels == f"topic={topic}"]
    assert mine.value.sum() >= 200 * 1000  # the leader counts every byte written to the topic
    assert after[after.labels == ""].value.sum() > before[before.labels == ""].value.sum()


@pytest.mark.slow
def test_metrics_after_a_kill_match_kafka_topics(healthy_lab):
    lab = healthy_lab
    lab.fresh_topic("metrics-urp", partitions=3, replication_factor=3)
    victim = next(n for n in config.NODES if n != lab.controller)
    lab.kill(victim)

    def agree():
        tool, (metric, up) = urp_leaders(lab), urp_metric(lab)
        return (tool, metric, up) if tool == metric and sum(tool.values()) >= 3 else None

    tool, metric, up = wait_for("the exporter and kafka-topics to agree on under-replicated partitions",
                                agree, timeout=60, interval=1.0)
    assert up[victim] == 0 and all(up[n] == 1 for n in config.NODES if n != victim)
    assert victim not in metric  # a dead broker leads nothing and reports nothing
    down = lab.metrics()
    row = down[(down.broker == victim) & (down.metric == "up")]
    assert len(row) == 1 and "refused" in row.labels.iloc[0]  # the dead broker's one row says why
    lab.heal()
    wait_for("no under-replicated partition after the broker's return",
             lambda: not urp_leaders(lab) and not urp_metric(lab)[0], timeout=90, interval=1.0)


def test_metric_endpoints_listen_on_loopback_only(lab):
    import psutil
    ports = {config.metrics_port(n, lab.cluster.port_base) for n in config.NODES}
    seen = {}
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port in ports:
            seen[conn.laddr.port] = procs._plain(conn.laddr.ip)
    assert set(seen) == ports and set(seen.values()) == {"127.0.0.1"}, seen


def test_a_taken_metrics_port_is_a_lab_error_naming_it(tmp_path):
    from spares import free_base
    base = free_base()
    port = config.metrics_port(2, base)
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a spare's TIME_WAIT sockets
        squatter.bind((config.HOST, port))
        squatter.listen()
        cluster = LocalCluster(state_dir=tmp_path / "spare", port_base=base)
        with pytest.raises(LabError) as err:
            cluster.up(out=io.StringIO())
    assert str(port) in err.value.message and "metrics" in err.value.message
    assert "LABKIT_PORT_BASE" in err.value.hint
    assert not any(procs.brokers_on(cluster._props(n)) for n in config.NODES)


def test_without_the_agent_jar_brokers_start_plain(monkeypatch):
    monkeypatch.setattr(exporter.fetch, "extra_dir", lambda name: None)  # a cache without the jar
    assert exporter.jvm_flags(1, config.port_base()) == []
    exporter.check_port(1, config.port_base())  # nothing to check: no agent will bind


def test_plot_metrics_draws_and_names_near_misses(lab):
    with lab.sample_metrics(every=0.3) as sampler:
        wait_for("three metric samples", lambda: sampler.samples >= 3, timeout=30)
    fig = lab.plot_metrics(sampler, [URP, "kafka_server_replicamanager_isrshrinkspersec_total",
                                     "kafka_network_requestmetrics_totaltimems_mean"])
    assert len(fig.axes) == 3 and "per second" in fig.axes[1].get_title()
    assert "mean over each interval" in fig.axes[2].get_title()  # Δ(mean × count) / Δcount
    assert len(fig.axes[0].lines) == len(config.NODES)
    with pytest.raises(LabError) as err:
        lab.plot_metrics(sampler, ["kafka_server_replicamanager_underreplicated"])
    assert URP in err.value.hint


def test_an_agent_that_cannot_be_fetched_leaves_a_note_not_an_error(monkeypatch):
    from labkit.errors import FetchError
    def offline(*args, **kwargs):
        raise FetchError("Maven could not resolve jmx-exporter (exit 1).", hint="check the network")
    monkeypatch.setattr(exporter.fetch, "extra_dir", lambda name: None)
    monkeypatch.setattr(exporter.fetch, "fetch_extra", offline)
    out = io.StringIO()
    assert exporter.fetch_agent(out) is None
    assert "start without metrics" in out.getvalue() and "exit 1" in out.getvalue()


def test_bad_sampler_settings_are_lab_errors(lab):
    with pytest.raises(LabError) as err:
        lab.sample_metrics(every=0.01)
    assert "metrics sampler" in err.value.message
    with pytest.raises(LabError) as err:
        lab.sample_metrics(match="kafka_(")
    assert "not a regular expression" in err.value.message
