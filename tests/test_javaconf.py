"""librdkafka login settings -> Kafka's Java tools' properties (cluster/javaconf.py, toollogin.py).

No cluster needed: translation, the file written (mode, escapes), and the shims' decisions.
The same login used by the real tools against a secured cluster: tests/cluster/test_external.py.
"""
import os
import stat
import subprocess
import time

import pytest

from labkit import toollogin
from labkit.cluster import javaconf, secure
from labkit.errors import LabError

SCRAM = {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-512",
         "sasl.username": "alice", "sasl.password": "s3cret"}
# what Confluent Cloud hands out for a librdkafka client (its "Clients" page, Python)
CLOUD = {"bootstrap.servers": "pkc-xyz.europe-west1.gcp.confluent.cloud:9092", "security.protocol": "SASL_SSL",
         "sasl.mechanisms": "PLAIN", "sasl.username": "KEY", "sasl.password": "SECRET",
         "session.timeout.ms": "45000"}


def test_scram_matches_the_secured_labs_own_java_login():
    assert javaconf.java_settings(SCRAM) == secure.java_settings("alice", "s3cret")


def test_managed_cluster_plain_over_tls():
    java = javaconf.java_settings({k: v for k, v in CLOUD.items() if k != "bootstrap.servers"})
    assert java == {"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN",
                    "sasl.jaas.config": 'org.apache.kafka.common.security.plain.PlainLoginModule required '
                                        'username="KEY" password="SECRET";'}
    assert "session.timeout.ms" not in java and "sasl.username" not in java  # librdkafka-only names dropped


def test_lowercase_protocol_ca_file_and_hostname_check():
    java = javaconf.java_settings({"security.protocol": "sasl_ssl", "sasl.mechanisms": "scram-sha-256",
                                   "sasl.username": "u", "sasl.password": "p", "ssl.ca.location": "/etc/ca.pem",
                                   "ssl.endpoint.identification.algorithm": "none", "client.id": "me"})
    assert java["security.protocol"] == "SASL_SSL" and java["sasl.mechanism"] == "SCRAM-SHA-256"
    assert "scram.ScramLoginModule required" in java["sasl.jaas.config"]
    assert java["ssl.truststore.type"] == "PEM" and java["ssl.truststore.location"] == "/etc/ca.pem"
    assert java["ssl.endpoint.identification.algorithm"] == "" and java["client.id"] == "me"


def test_plaintext_needs_nothing():
    assert javaconf.java_settings({}) == {"security.protocol": "PLAINTEXT"}


@pytest.mark.parametrize("settings, phrase", [
    ({"security.protocol": "SASL_SSL", "sasl.mechanisms": "OAUTHBEARER", "sasl.username": "u",
      "sasl.password": "p"}, "OAUTHBEARER cannot be translated"),
    ({"security.protocol": "SASL_SSL", "sasl.mechanisms": "PLAIN", "sasl.username": "u"}, "needs sasl.username"),
    ({"security.protocol": "SASL_SSL"}, "GSSAPI cannot be translated"),  # librdkafka's default mechanism
    ({"security.protocol": "TLS"}, "not one Kafka knows"),
    ({"security.protocol": "SSL", "ssl.key.location": "/k.pem"}, "ssl.key.location cannot be translated"),
])
def test_what_cannot_be_translated_says_so(settings, phrase):
    with pytest.raises(LabError, match=phrase) as info:
        javaconf.java_settings(settings)
    assert info.value.hint


def test_quotes_backslashes_and_accents_survive_both_syntaxes(tmp_path):
    java = javaconf.java_settings({**SCRAM, "sasl.password": 'a"b\\c é'})
    # JAAS: the value quoted, " and \ escaped
    assert java["sasl.jaas.config"].endswith('password="a\\"b\\\\c é";')
    path = javaconf.write(tmp_path / "deep" / "login.properties", java)
    text = path.read_bytes().decode("ascii")  # Java reads ISO-8859-1: anything else as \uXXXX
    # Properties: every \ doubled again, é as \u00e9 (the cluster test has Java read it back)
    line = next(ln for ln in text.splitlines() if ln.startswith("sasl.jaas.config="))
    assert line.endswith(r'password="a\\"b\\\\c \u00e9";'), line


def test_file_is_private(tmp_path):
    old = os.umask(0o022)
    try:
        path = javaconf.write(tmp_path / "state-external" / "tools-login.properties", javaconf.java_settings(SCRAM))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_text().splitlines()[0] == "security.protocol=SASL_PLAINTEXT"


def test_plain_lab_tools_run_unchanged(monkeypatch, tmp_path):
    monkeypatch.delenv("LABKIT_BOOTSTRAP", raising=False)
    monkeypatch.setenv("LABKIT_SECURE_STATE_DIR", str(tmp_path / "no-secured-lab"))
    args = ["--bootstrap-server", "127.0.0.1:9092", "--list"]
    assert toollogin.add_login("kafka-topics.sh", args) == args


def test_own_client_config_is_left_alone(monkeypatch, tmp_path):
    cfg = tmp_path / "client.properties"
    cfg.write_text("security.protocol=SASL_SSL\nsasl.mechanisms=PLAIN\n")  # untranslatable: never read
    monkeypatch.setenv("LABKIT_BOOTSTRAP", "broker.example:9092")
    monkeypatch.setenv("LABKIT_CLIENT_CONFIG", str(cfg))
    for flag in ("--command-config", "--producer.config", "--consumer.config"):
        args = ["--bootstrap-server", "broker.example:9092", flag, "/my/java.properties"]
        assert toollogin.add_login("kafka-console-producer", args) == args
    assert toollogin.bootstrap_arg(["--bootstrap-server=localhost:1"]) == "localhost:1"
    assert toollogin._hosts("localhost:9092, [::1]:9093") == {("127.0.0.1", 9092), ("::1", 9093)}


def test_unknown_host_is_a_quick_error_even_with_stderr_thrown_away(tmp_path):
    """Notebook cells end in 2>/dev/null: the shim then says what went wrong on stdout."""
    cfg = tmp_path / "client.properties"
    cfg.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.username=u\nsasl.password=p\n")
    env = {**os.environ, "LABKIT_BOOTSTRAP": "no-such-broker.invalid:9092", "LABKIT_CLIENT_CONFIG": str(cfg)}
    t0 = time.monotonic()
    res = subprocess.run("kafka-console-producer.sh --bootstrap-server no-such-broker.invalid:9092 --topic t "
                         "2>/dev/null", shell=True, input="a\n", capture_output=True, text=True, env=env, timeout=60)
    assert time.monotonic() - t0 < toollogin.PREFLIGHT
    assert res.returncode == 2
    assert "no-such-broker.invalid" in res.stdout and "not a host name" in res.stdout and "Hint:" in res.stdout


def test_untranslatable_login_stops_the_tool(tmp_path):
    cfg = tmp_path / "client.properties"
    cfg.write_text("security.protocol=SASL_SSL\nsasl.mechanisms=OAUTHBEARER\n")
    env = {**os.environ, "LABKIT_BOOTSTRAP": "127.0.0.1:1", "LABKIT_CLIENT_CONFIG": str(cfg)}
    res = subprocess.run(["kafka-topics", "--bootstrap-server", "127.0.0.1:1", "--list"], capture_output=True,
                         text=True, env=env, timeout=60)
    assert res.returncode == 2 and "OAUTHBEARER cannot be translated" in res.stderr and "--command-config" in res.stderr
