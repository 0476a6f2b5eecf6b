"""The secured lab (notebook 12): SCRAM logins, prefixed ACLs, users, and refusing to mix modes.

One secured 3-node cluster for the whole module (own folder, own free ports), stopped at the end.
"""
import io
import time

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from labkit import cli, clients, config
from labkit.cluster import procs, secure, users
from labkit.cluster.local import LocalCluster
from labkit.errors import LabError
from labkit.wait import until
from spares import free_base, secured_cluster


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    with secured_cluster(tmp_path_factory.mktemp("secure")) as cluster:
        yield cluster
    for n in config.NODES:
        assert not procs.brokers_on(cluster._props(n)), "a secured broker was left running"


def test_broker_settings_require_sasl_and_acls(secured):
    props = secured._props(1).read_text()
    assert "listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT" in props
    assert "allow.everyone.if.no.acl.found=false" in props
    assert "StandardAuthorizer" in props
    super_users = next(line for line in props.splitlines() if line.startswith("super.users="))
    assert "ANONYMOUS" not in super_users and "User:admin" in super_users
    assert f"PLAINTEXT://{config.HOST}:" in props and "0.0.0.0" not in props
    assert (secured.state_dir / "security.json").stat().st_mode & 0o077 == 0


def test_admin_logs_in_and_labkit_helpers_use_it(secured):
    with clients.quiet_admin(secured.bootstrap_servers) as admin:  # readiness probes' client
        assert "labkit-probe" in admin.list_topics(timeout=5).topics
    assert [row["state"] for row in secured.status()] == ["running"] * 3


def test_no_credentials_gets_no_metadata(secured):
    plain = AdminClient({"bootstrap.servers": secured.bootstrap_servers, "logger": clients._LOG})
    try:
        with pytest.raises(KafkaException):
            plain.list_topics(timeout=3)
    finally:
        clients.close(plain)


def test_wrong_password_is_a_quick_lab_error(secured):
    bad = {**clients.credentials(secured.bootstrap_servers), "sasl.password": "not-the-password"}
    for make in (clients.admin, clients.producer):
        t0 = time.monotonic()
        with pytest.raises(LabError, match="Authentication failed"):
            make(secured.bootstrap_servers, bad)
        assert time.monotonic() - t0 < 8


def test_user_allowed_on_its_prefix_and_refused_elsewhere(secured):
    settings = users.add_user(secured, "alice")
    bs = secured.bootstrap_servers
    with clients.quiet_admin(bs) as admin:  # admin's topic, which alice may not see or use
        clients.result(admin.create_topics([NewTopic("payments", 1, 3)])["payments"], "create payments")
    alice_admin = clients.admin(bs, settings)
    try:
        clients.result(alice_admin.create_topics([NewTopic("alice.orders", 1, 3)])["alice.orders"], "create")
        seen = until(lambda: set(alice_admin.list_topics(timeout=5).topics) & {"alice.orders"} and
                     set(alice_admin.list_topics(timeout=5).topics), 15)
        assert seen and "alice.orders" in seen and "payments" not in seen  # metadata is filtered
        with clients.quiet_admin(bs) as admin:
            assert "payments" in admin.list_topics(timeout=5).topics  # it exists: admin sees it
        with pytest.raises(LabError, match="TOPIC_AUTHORIZATION_FAILED"):
            clients.result(alice_admin.create_topics([NewTopic("bob.orders", 1, 3)])["bob.orders"], "create")
    finally:
        clients.close(alice_admin)
    errors = []
    with clients.producer(bs, settings) as p:
        p.produce("alice.orders", b"mine")
        p.produce("payments", b"not mine", on_delivery=lambda err, _m: errors.append(err))
        p.flush(15)
    assert errors and errors[0].name() == "TOPIC_AUTHORIZATION_FAILED"
    c = clients.consumer(bs, "alice.readers", settings, auto_offset_reset="earliest")
    try:
        c.subscribe(["alice.orders"])
        got = None
        deadline = time.monotonic() + 20
        while got is None and time.monotonic() < deadline:
            msg = c.poll(0.5)
            got = msg.value() if msg is not None and not msg.error() else None
        assert got == b"mine"
    finally:
        c.close()


@pytest.mark.parametrize("name", ["bad name", "a:b", "alice.x", "", "9lives", "admin"])
def test_invalid_user_names(secured, name):
    with pytest.raises(LabError):
        users.add_user(secured, name)


def test_client_config_cli(secured, monkeypatch, capsys):
    monkeypatch.setenv("LABKIT_SECURE_STATE_DIR", str(secured.state_dir))
    users.add_user(secured, "carol", password="carol-secret")
    assert cli.main(["client-config", "carol"]) == 0
    out = capsys.readouterr().out
    assert "sasl.username=carol\n" in out and "sasl.password=carol-secret\n" in out
    assert f"bootstrap.servers={secured.bootstrap_servers}\n" in out
    assert cli.main(["client-config", "nobody"]) == 2
    assert "no user 'nobody'" in capsys.readouterr().err


def test_modes_do_not_mix(secured, tmp_path):
    with pytest.raises(LabError, match="secured"):
        LocalCluster(state_dir=secured.state_dir, secure=False).up(out=io.StringIO())
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "cluster.json").write_text('{"kind": "labkit-local-cluster", "cluster_id": "x", "port_base": 1}')
    t0 = time.monotonic()
    with pytest.raises(LabError, match="plain"):
        LocalCluster(state_dir=plain, port_base=free_base(), secure=True).up(out=io.StringIO())
    assert time.monotonic() - t0 < 2
    assert not secure.is_secure(plain)


def test_lab_handle_clients_pick_up_credentials(secured):
    from labkit.lab import Lab
    lab = Lab(secured)
    with lab.admin() as admin:  # admin's login, registered for this bootstrap
        assert "labkit-probe" in admin.list_topics(timeout=5).topics
    settings = lab.add_user("dave")
    assert lab.client_config("dave") == settings
    with lab.admin(settings) as dave:
        clients.result(dave.create_topics([NewTopic("dave.events", 1, 3)])["dave.events"], "create")
    with lab.producer(settings) as p:
        p.produce("dave.events", b"x")
        assert p.flush(15) == 0
    with pytest.raises(LabError, match="no user"):
        lab.client_config("erin")


def test_plain_down_stops_the_secured_lab_too(secured, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("LABKIT_STATE_DIR", str(tmp_path / "no-plain-cluster"))
    monkeypatch.setenv("LABKIT_SECURE_STATE_DIR", str(secured.state_dir))
    assert cli.main(["down"]) == 0
    assert "The secured lab:" in capsys.readouterr().out
    assert all(row["state"] == "stopped" for row in secured.status())
    secured.up(out=io.StringIO())  # later tests (and the fixture's down) find it running again


# ---- the external backend, with the secured lab standing in for a managed cluster ------------
@pytest.fixture
def external_env(secured, tmp_path, monkeypatch):
    """LABKIT_BOOTSTRAP (two of the three brokers, as a provider's one address would lead to all)
    and LABKIT_CLIENT_CONFIG with a lab user's login, in librdkafka's names."""
    login = users.add_user(secured, "ext")
    path = tmp_path / "client.properties"
    path.write_text("# as a provider hands it out\n" + "".join(f"{k}={v}\n" for k, v in login.items()))
    bootstrap = ",".join(secured.bootstrap_servers.split(",")[:2])
    monkeypatch.setenv("LABKIT_BOOTSTRAP", bootstrap)
    monkeypatch.setenv("LABKIT_CLIENT_CONFIG", str(path))
    monkeypatch.delenv("LABKIT_BACKEND", raising=False)
    yield path
    clients._CREDENTIALS.pop(bootstrap, None)


def test_external_backend_clients_and_inspection(external_env, secured):
    import labkit as lk
    lab = lk.start(quiet=True)
    assert lab.cluster.backend == "external"
    with lab.admin() as admin:  # the file's login: the user's view of the cluster
        clients.result(admin.create_topics([NewTopic("ext.orders", 3, 3)])["ext.orders"], "create")
    with lab.producer() as p:
        p.produce("ext.orders", b"hello")
        assert p.flush(15) == 0
    status = lab.status()
    assert sorted(status.index) == [1, 2, 3] and status["controller"].sum() == 1
    # inspection and pictures work on a cluster that is not the lab's (issue 19)
    brokers = lab.brokers()
    assert sorted(brokers["id"]) == [1, 2, 3] and brokers["alive"].all() and brokers["is_controller"].sum() == 1
    parts = lab.partitions("ext.orders")
    assert len(parts) == 3 and all(len(r) == 3 for r in parts["replicas"])
    assert lab.plot_partitions("ext.orders") is not None
    with pytest.raises(LabError, match="TOPIC_AUTHORIZATION_FAILED"):  # still only its prefix
        with lab.admin() as admin:
            clients.result(admin.create_topics([NewTopic("payments2", 1, 3)])["payments2"], "create")


def test_external_backend_refuses_broker_control(external_env, secured):
    import labkit as lk
    lab = lk.start(quiet=True)
    for verb in ("kill", "stop_broker", "pause", "resume", "start_broker"):
        t0 = time.monotonic()
        with pytest.raises(LabError, match="not the lab's to break"):
            getattr(lab, verb)(1)
        assert time.monotonic() - t0 < 1
    assert all(row["state"] == "running" for row in secured.status())  # nothing was touched


def test_external_backend_bad_config(external_env, monkeypatch):
    from labkit.cluster import get_cluster
    monkeypatch.setenv("LABKIT_CLIENT_CONFIG", str(external_env.parent / "missing.properties"))
    with pytest.raises(LabError, match="cannot be read"):
        get_cluster()
    bad = external_env.parent / "bad.properties"
    bad.write_text("security.protocol=SASL_PLAINTEXT\nthis line has no equals sign\n")
    monkeypatch.setenv("LABKIT_CLIENT_CONFIG", str(bad))
    with pytest.raises(LabError, match="line 2"):
        get_cluster()
    wrong = external_env.parent / "wrong.properties"
    wrong.write_text(external_env.read_text().replace("sasl.password=", "sasl.password=x"))
    monkeypatch.setenv("LABKIT_CLIENT_CONFIG", str(wrong))
    t0 = time.monotonic()
    with pytest.raises(LabError, match="Authentication failed"):
        get_cluster().up(out=io.StringIO())
    assert time.monotonic() - t0 < 8


def test_cli_plain_up_refuses_a_secured_folder(secured, monkeypatch, capsys):
    monkeypatch.setenv("LABKIT_STATE_DIR", str(secured.state_dir))
    monkeypatch.delenv("LABKIT_BOOTSTRAP", raising=False)
    assert cli.main(["up"]) == 2
    assert "secured (SASL/SCRAM) lab cluster" in capsys.readouterr().err


def test_secured_brokers_listen_on_loopback_only(secured):
    for row in secured.status():
        addresses = procs.listening_addresses(row["pid"])
        assert config.client_port(row["broker"], secured.port_base) in {port for _, port in addresses}
        assert {addr for addr, _ in addresses} == {"127.0.0.1"}, addresses


def test_a_plain_cluster_never_inherits_a_secured_ones_login(tmp_path):
    """The suite's throwaway clusters reuse ports: a plain one started where a secured lab ran
    must not get its SASL login (a fresh-clone run waited out `up` that way). The login goes
    with the secured lab's `down` and comes back with its `up`."""
    base = free_base()
    bootstrap = config.bootstrap_servers(base)
    (tmp_path / "was-secured").mkdir()
    was = LocalCluster(state_dir=tmp_path / "was-secured", port_base=base, secure=True)
    secure.prepare(was)  # what `up` does first: the folder's secrets, the admin's login
    assert clients.credentials(bootstrap)["sasl.username"] == "admin"
    was.down(out=io.StringIO())  # nothing runs; the login goes all the same
    assert clients.credentials(bootstrap) == {}
    conf = clients.merge("admin", bootstrap, None, {})
    assert "sasl.username" not in conf and "security.protocol" not in conf
    secure.prepare(was)
    assert clients.credentials(bootstrap)["sasl.username"] == "admin"
    was.down(out=io.StringIO())
