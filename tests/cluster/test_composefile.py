"""docker-compose.yml checked against labkit: structure, the image's environment rules, each node's
config accepted by Kafka's own StorageTool, `docker compose config` where the compose plugin
exists, and the nodes' configs run as a real Kafka cluster without Docker (composefile.py)."""
import base64
import json
import signal
import subprocess
import threading
import time
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from labkit import clients, config, topics

from labkit.cluster import ready
from labkit.cluster import composefile as compose
from labkit.cluster.compose import ComposeCluster, compose_cli_problem
from labkit.errors import LabError
from labkit.cluster.settings import LAB_SETTINGS

FILE = compose.compose_file()
NODES = [compose.service(n) for n in config.NODES]


@pytest.fixture(scope="module")
def spec():
    """docker-compose.yml as compose reads it with no LABKIT_* variables set (a learner's lab)."""
    return yaml.safe_load(compose.interpolate(FILE.read_text(), {}))


@pytest.fixture(scope="module")
def raw_spec():
    return yaml.safe_load(FILE.read_text())


def env(spec, node):
    return {k: str(v) for k, v in spec["services"][compose.service(node)]["environment"].items()}


def listeners(value: str) -> dict[str, tuple[str, int]]:
    """'NAME://host:port,...' -> {NAME: (host, port)}."""
    out = {}
    for item in value.split(","):
        name, rest = item.split("://")
        host, port = rest.rsplit(":", 1)
        out[name] = (host, int(port))
    return out


def published(port_spec: str) -> tuple[str, int, int]:
    host_ip, host_port, container_port = port_spec.split(":")
    return host_ip, int(host_port), int(container_port)


# ---- docker-compose.yml, structurally --------------------------------------------------------
def test_three_nodes_with_the_lab_ids_and_one_project(spec):
    assert spec["name"] == compose.PROJECT
    assert sorted(s for s in spec["services"] if s.startswith("kafka-") and s != "kafka-ui") == NODES
    for n in config.NODES:
        e = env(spec, n)
        assert e["KAFKA_NODE_ID"] == str(n)
        assert e["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert spec["services"][compose.service(n)]["hostname"] == compose.service(n)


def test_image_is_the_pinned_kafka_release(raw_spec, spec):
    assert compose.IMAGE == f"apache/kafka:{config.KAFKA_VERSION}"
    for name in NODES:
        assert spec["services"][name]["image"] == compose.IMAGE
        assert raw_spec["services"][name]["image"] == f"${{LABKIT_KAFKA_IMAGE:-apache/kafka:{config.KAFKA_VERSION}}}"
    ui = raw_spec["services"]["kafka-ui"]["image"]
    assert ":" in ui and not ui.endswith(":latest")


def test_quorum_voters_match_node_ids_and_controller_listeners(spec):
    voters = {}
    for n in config.NODES:
        e = env(spec, n)
        voters[n] = e["KAFKA_CONTROLLER_QUORUM_VOTERS"]
    assert len(set(voters.values())) == 1, "every node must see the same quorum"
    parsed = {int(i): hp.rsplit(":", 1) for i, hp in (v.split("@") for v in voters[1].split(","))}
    assert sorted(parsed) == list(config.NODES)
    for n, (host, port) in parsed.items():
        e = env(spec, n)
        ctrl = e["KAFKA_CONTROLLER_LISTENER_NAMES"]
        assert host == compose.service(n)
        assert listeners(e["KAFKA_LISTENERS"])[ctrl][1] == int(port)


def test_listener_maps_are_consistent(spec):
    for n in config.NODES:
        e = env(spec, n)
        protocols = dict(p.split(":") for p in e["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
        bound, advertised = listeners(e["KAFKA_LISTENERS"]), listeners(e["KAFKA_ADVERTISED_LISTENERS"])
        assert set(bound) == set(protocols)
        assert set(advertised) <= set(bound)
        ctrl, inter = e["KAFKA_CONTROLLER_LISTENER_NAMES"], e["KAFKA_INTER_BROKER_LISTENER_NAME"]
        assert ctrl not in advertised  # controllers are never advertised to clients
        # brokers reach each other by service name on the internal listener
        assert advertised[inter] == (compose.service(n), bound[inter][1])


@pytest.mark.parametrize("base", [config.DEFAULT_PORT_BASE, 17092])
def test_host_clients_get_the_published_ports_on_127_0_0_1(base, monkeypatch):
    """The advertised.listeners trap: what a host client is told must be what the host publishes,
    for a learner's lab (9092-9094, no variables) and the suite's (LABKIT_PORT_1..3 = 17092-17094)."""
    variables = {} if base == config.DEFAULT_PORT_BASE else {**compose.port_env(base), **compose.metrics_env(base, None)}
    spec = yaml.safe_load(compose.interpolate(FILE.read_text(), variables))
    for n in config.NODES:
        e = env(spec, n)
        bound, advertised = listeners(e["KAFKA_LISTENERS"]), listeners(e["KAFKA_ADVERTISED_LISTENERS"])
        host_port = config.client_port(n, base)
        external = [name for name, (host, _) in advertised.items() if host == config.HOST]
        assert len(external) == 1
        assert advertised[external[0]] == (config.HOST, host_port)
        ports = [published(p) for p in spec["services"][compose.service(n)]["ports"]]
        assert ports[0] == (config.HOST, host_port, bound[external[0]][1])
        assert ports[1:] == [(config.HOST, config.metrics_port(n, base), compose.METRICS_PORT)]  # notebook 11
    monkeypatch.delenv("LABKIT_PORT_BASE", raising=False)
    given = None if base == config.DEFAULT_PORT_BASE else base  # None: LABKIT_PORT_BASE, unset here
    assert ComposeCluster(port_base=given).bootstrap_servers == config.bootstrap_servers(base)


def test_interpolation_follows_compose():
    assert compose.interpolate("a ${X:-1} ${Y:-2}", {"X": "9", "Y": ""}) == "a 9 2"


def test_every_published_port_binds_127_0_0_1_only(spec):
    for name, svc in spec["services"].items():
        for p in svc.get("ports", []):
            assert published(p)[0] == "127.0.0.1", f"{name} publishes {p} beyond this machine"


def test_healthchecks_ask_each_broker_on_its_internal_listener(spec):
    for n in config.NODES:
        svc = spec["services"][compose.service(n)]
        e = env(spec, n)
        check = " ".join(svc["healthcheck"]["test"])
        internal = listeners(e["KAFKA_LISTENERS"])[e["KAFKA_INTER_BROKER_LISTENER_NAME"]][1]
        assert "/opt/kafka/bin/kafka-broker-api-versions.sh" in check
        assert f"localhost:{internal}" in check
        assert svc.get("restart") == "no"  # labkit, not Docker, restarts killed brokers


def test_lab_settings_equal_local_mode(spec):
    for n in config.NODES:
        e = env(spec, n)
        for s in LAB_SETTINGS:
            assert e.get(compose.env_name(s.name)) == s.lab, s.name


def test_cluster_id_shared_and_volumes_named(spec):
    ids = {env(spec, n)["CLUSTER_ID"] for n in config.NODES}
    assert len(ids) == 1
    assert len(base64.urlsafe_b64decode(ids.pop() + "==")) == 16
    for n in config.NODES:
        e, svc = env(spec, n), spec["services"][compose.service(n)]
        assert e["KAFKA_LOG_DIRS"] == compose.DATA_DIR
        volume, mount = svc["volumes"][0].split(":")
        assert mount == compose.DATA_DIR and volume in spec["volumes"]
    assert len({spec["services"][s]["volumes"][0] for s in NODES}) == 3


def test_ui_is_optional_and_talks_to_the_internal_listeners(spec):
    ui = spec["services"]["kafka-ui"]
    assert ui["profiles"] == ["ui"]
    assert ui["environment"]["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"] == ",".join(f"{s}:19092" for s in NODES)


# ---- the mapping from lab operations to docker, no engine needed ----------------------------
def test_env_name_follows_the_image_rules():
    assert compose.env_name("abc.def") == "KAFKA_ABC_DEF"
    assert compose.env_name("abc-def") == "KAFKA_ABC___DEF"
    assert compose.env_name("abc_def") == "KAFKA_ABC__DEF"
    assert compose.env_name("min.insync.replicas") == "KAFKA_MIN_INSYNC_REPLICAS"


def test_setting_names_round_trip():
    for s in LAB_SETTINGS:
        assert compose.setting_name(compose.env_name(s.name)) == s.name
    assert compose.setting_name("KAFKA_ABC___DEF__GH") == "abc-def_gh"
    props = compose.image_properties({"KAFKA_NODE_ID": 2, "KAFKA_HEAP_OPTS": "-Xmx1g", "CLUSTER_ID": "x"})
    assert props == {"node.id": "2"}


def test_kafka_accepts_each_nodes_config(spec, tmp_path):
    """Kafka's own storage tool (the pinned jars) validates what the image would render per node;
    the same check refuses a node id missing from the quorum, so it can fail."""
    from labkit.cluster import fetch

    def format_node(props: dict, name: str) -> subprocess.CompletedProcess:
        path = tmp_path / f"{name}.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in {**props, "log.dirs": tmp_path / name}.items()))
        cmd = fetch.java_command("kafka.tools.StorageTool",
                                 ["format", "-t", env(spec, 1)["CLUSTER_ID"], "-c", str(path)])
        return subprocess.run(cmd, capture_output=True, text=True, timeout=config.TIMEOUTS.format)

    nodes = {f"node-{n}": compose.image_properties(spec["services"][compose.service(n)]["environment"])
             for n in config.NODES}
    nodes["stranger"] = {**nodes["node-1"], "node.id": "7"}
    with ThreadPoolExecutor(len(nodes)) as pool:  # four small JVMs at once
        results = dict(zip(nodes, pool.map(format_node, nodes.values(), nodes)))
    for name, res in results.items():
        if name == "stranger":
            assert res.returncode != 0
        else:
            assert nodes[name]["log.dirs"] == compose.DATA_DIR
            assert res.returncode == 0 and "Formatting" in res.stdout, res.stdout + res.stderr


def test_operations_map_to_container_calls():
    assert compose.container_call("kill", 2) == ("kafka-2", "kill", {"signal": "SIGKILL"})
    assert compose.container_call("stop", 1) == ("kafka-1", "stop", {"timeout": 30})
    assert compose.container_call("start", 3) == ("kafka-3", "start", {})
    assert compose.container_call("pause", 1) == ("kafka-1", "pause", {})
    assert compose.container_call("resume", 1) == ("kafka-1", "unpause", {})
    with pytest.raises(LabError) as err:
        compose.container_call("reboot", 1)
    assert "kill" in err.value.hint


def test_compose_commands():
    up = compose.compose_command("up", FILE, services=["kafka-2"])
    # never `--wait`: a container resumed a moment ago is "unhealthy" until its next probe
    assert up == ["docker", "compose", "-f", str(FILE), "-p", "kafka-lab", "up", "-d", "--no-recreate",
                  "--no-deps", "kafka-2"]
    assert compose.compose_command("up", FILE, project_name="kafka-lab-test")[5] == "kafka-lab-test"
    down = compose.compose_command("down", FILE)
    assert down[-2:] == ["down", "--remove-orphans"] and "-v" not in down
    assert compose.compose_command("down", FILE, wipe=True)[-1] == "-v"


# ---- docker compose itself, where it is installed --------------------------------------------
def test_docker_compose_config_accepts_the_file():
    reason = compose_cli_problem()
    if reason:
        pytest.skip(f"`docker compose config` not checked: {reason}")
    import os

    base = ["docker", "compose", "-f", str(FILE)]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LABKIT_")}
    res = subprocess.run(base + ["config", "--format", "json"], capture_output=True, text=True,
                         timeout=60, env=clean)
    assert res.returncode == 0, res.stderr
    model = json.loads(res.stdout)
    assert model["name"] == compose.PROJECT
    assert sorted(model["services"]) == NODES  # kafka-ui stays out without its profile
    for n in config.NODES:
        svc = model["services"][compose.service(n)]
        for s in LAB_SETTINGS:  # the YAML merge keys reached compose
            assert svc["environment"][compose.env_name(s.name)] == s.lab
        port, metrics = svc["ports"]
        assert port["host_ip"] == "127.0.0.1"
        assert int(port["published"]) == config.client_port(n, config.DEFAULT_PORT_BASE)
        assert metrics["host_ip"] == "127.0.0.1" and int(metrics["target"]) == compose.METRICS_PORT
        assert int(metrics["published"]) == config.metrics_port(n, config.DEFAULT_PORT_BASE)
        binds = {v["target"]: v["source"] for v in svc["volumes"] if v["type"] == "bind"}
        assert Path(binds[compose.RULES_MOUNT]) == config.JMX_EXPORTER_RULES  # the repository's rule file
        assert svc["healthcheck"]["test"][0] == "CMD-SHELL"
    res = subprocess.run(base + ["--profile", "ui", "config", "--services"], capture_output=True,
                         text=True, timeout=60)
    assert sorted(res.stdout.split()) == sorted(NODES + ["kafka-ui"])
    # the suite's ports: compose itself reads LABKIT_PORT_1..3, published and advertised alike
    res = subprocess.run(base + ["-p", "kafka-lab-test", "config", "--format", "json"], capture_output=True,
                         text=True, timeout=60,
                         env={**clean, **compose.port_env(17092), **compose.metrics_env(17092, None)})
    model = json.loads(res.stdout)
    assert model["name"] == "kafka-lab-test"
    for n in config.NODES:
        svc = model["services"][compose.service(n)]
        assert [int(p["published"]) for p in svc["ports"]] == [17091 + n, 17291 + n]
        assert svc["environment"]["KAFKA_ADVERTISED_LISTENERS"].endswith(f"EXTERNAL://127.0.0.1:{17091 + n}")



# ---- the compose configs, run by real Kafka without Docker ----------------------------------
class Publisher:
    """Plays docker's port publishing: 127.0.0.1:host_port -> the node's "container" address."""

    def __init__(self, routes: dict[int, tuple[str, int]]):
        import asyncio
        self.asyncio, self.routes, self.loop = asyncio, routes, asyncio.new_event_loop()
        # the loop runs on its own thread from the start: the test's thread may hold another
        # running loop (a browser test's Playwright), and a thread runs one loop at a time
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.servers = asyncio.run_coroutine_threadsafe(self._listen(), self.loop).result(timeout=30)

    async def _listen(self):
        return [await self.asyncio.start_server(self._handler(*dest), config.HOST, port)
                for port, dest in self.routes.items()]

    def _handler(self, host, port):
        async def pipe(reader, writer):
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except OSError:
                pass
            finally:
                writer.close()

        async def handle(reader, writer):
            try:
                r2, w2 = await self.asyncio.open_connection(host, port)
            except OSError:
                writer.close()
                return
            await self.asyncio.gather(pipe(reader, w2), pipe(r2, writer))
        return handle

    def close(self):
        async def shutdown():
            for server in self.servers:
                server.close()
            tasks = [t for t in self.asyncio.all_tasks() if t is not self.asyncio.current_task()]
            for task in tasks:  # open client connections
                task.cancel()
            await self.asyncio.gather(*tasks, return_exceptions=True)
        self.asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.mark.slow
def test_compose_node_configs_form_a_cluster_host_clients_can_use(spec, tmp_path):
    """The advertised.listeners design, by real Kafka 4.4.0: each node runs the config the image
    renders, in its own "container" address 127.0.1.N (service names kafka-N resolve there), and a
    forwarder publishes its EXTERNAL port on 127.0.0.1, as docker does. A host client given one
    bootstrap address must reach every partition leader, and replication must use INTERNAL."""
    from labkit.cluster import fetch, procs

    shift = config.port_base() + 300 - config.DEFAULT_PORT_BASE  # never a learner's 9092-9094
    host_ports = {n: config.client_port(n, config.DEFAULT_PORT_BASE) + shift for n in config.NODES}
    boxes = {n: f"127.0.1.{n}" for n in config.NODES}
    if not all(procs.port_free(p) for p in host_ports.values()) or \
            not all(procs.port_free(p, boxes[n]) for n in config.NODES for p in (9092, 19092, 19093)):
        pytest.skip("the rehearsal's ports are taken")

    def render(n: int) -> dict:
        props = compose.image_properties(spec["services"][compose.service(n)]["environment"])
        for key, value in props.items():
            for m in config.NODES:  # what the compose network's DNS does
                value = value.replace(f"{compose.service(m)}:", f"{boxes[m]}:")
            value = value.replace("://:", f"://{boxes[n]}:")  # the container's own interfaces
            props[key] = value.replace(f"{config.HOST}:{host_ports[n] - shift}", f"{config.HOST}:{host_ports[n]}")
        props["log.dirs"] = str(tmp_path / f"node-{n}" / "data")
        return props

    cluster_id, pids, publisher = env(spec, 1)["CLUSTER_ID"], {}, None
    try:
        paths = {n: tmp_path / f"node-{n}.properties" for n in config.NODES}
        for n, path in paths.items():
            path.write_text("".join(f"{k}={v}\n" for k, v in render(n).items()))
            (tmp_path / f"node-{n}" / "logs").mkdir(parents=True)
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda path: subprocess.run(
                fetch.java_command("kafka.tools.StorageTool", ["format", "-t", cluster_id, "-c", str(path)]),
                check=True, capture_output=True, timeout=config.TIMEOUTS.format), paths.values()))
        for n, path in paths.items():
            cmd = fetch.broker_command(path, tmp_path / f"node-{n}" / "logs")
            with open(tmp_path / f"node-{n}" / "logs" / "stdout.log", "ab") as log:
                pids[n] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True).pid
        publisher = Publisher({host_ports[n]: (boxes[n], 9092) for n in config.NODES})
        bootstrap = f"{config.HOST}:{host_ports[1]}"  # one address only, as a learner would type
        with clients.quiet_admin(bootstrap) as admin:
            end = time.monotonic() + config.TIMEOUTS.up
            while len(ready.registered(admin)) < 3 and time.monotonic() < end:
                assert all(procs.alive(p) for p in pids.values()), "a node exited; see its stdout.log"
                time.sleep(0.5)
            brokers = admin.list_topics(timeout=10).brokers
            assert {b.id: (b.host, b.port) for b in brokers.values()} == \
                {n: (config.HOST, host_ports[n]) for n in config.NODES}  # what host clients are told
            topics.fresh_topic(admin, "compose-rehearsal", 3, 3, None)
        producer = clients.producer(bootstrap, {"acks": "all"})
        acked = []
        for i in range(90):
            producer.produce("compose-rehearsal", key=str(i), value=str(i),
                             on_delivery=lambda err, msg: acked.append(err is None))
        producer.flush(60)
        assert sum(acked) == 90  # leaders on all three nodes, reached through 127.0.0.1 only
        with clients.quiet_admin(bootstrap) as admin:
            parts = admin.list_topics("compose-rehearsal", timeout=10).topics["compose-rehearsal"].partitions
            assert sorted(p.leader for p in parts.values()) == [1, 2, 3]
            assert all(len(p.isrs) == 3 for p in parts.values())  # replication over INTERNAL works
    finally:
        for pid in pids.values():  # a throwaway cluster in tmp_path: no graceful shutdown needed
            procs.send(pid, signal.SIGKILL)
        for pid in pids.values():
            procs.wait_exit(pid, config.TIMEOUTS.kill)
        if publisher:
            publisher.close()


def test_metrics_agent_mounted_only_once_fetched(tmp_path):
    """Notebook 11: without the agent's jar the brokers run plain (empty KAFKA_OPTS); with it, the
    -javaagent flag names the jar in the mounted folder and the rule file mounted from the repo."""
    plain = yaml.safe_load(compose.interpolate(FILE.read_text(), compose.metrics_env(config.DEFAULT_PORT_BASE, None)))
    jar = tmp_path / "jmx_prometheus_javaagent-1.0.1.jar"
    agent = yaml.safe_load(compose.interpolate(FILE.read_text(), compose.metrics_env(config.DEFAULT_PORT_BASE, jar)))
    for n in config.NODES:
        assert env(plain, n)["KAFKA_OPTS"] == ""
        opts = env(agent, n)["KAFKA_OPTS"]
        assert opts == f"-javaagent:{compose.AGENT_MOUNT}/{jar.name}={compose.METRICS_PORT}:{compose.RULES_MOUNT}"
        mounts = dict(v.rsplit(":", 2)[:2][::-1] for v in agent["services"][compose.service(n)]["volumes"][1:])
        assert mounts[compose.AGENT_MOUNT] == str(tmp_path)
        assert (FILE.parent / mounts[compose.RULES_MOUNT]).resolve() == config.JMX_EXPORTER_RULES
        assert plain["services"][compose.service(n)]["volumes"][1].startswith("./labkit/data:")  # exists: no stray dir
