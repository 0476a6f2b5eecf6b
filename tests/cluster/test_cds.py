"""The class-data archive (labkit/cluster/cds.py) and the brokers' JIT choice (issue 21).

The archive is real: the suite's brokers map it (their /proc maps show the file), a training
broker builds one from scratch that the JVM accepts with -Xshare:on, and a build that fails
leaves the lab starting without one instead of failing.
"""
import io
import subprocess
from pathlib import Path

import pytest

from labkit import config
from labkit.cluster import cds, fetch
from labkit.errors import LabError


def test_the_suites_brokers_run_with_the_archive_and_the_quick_jit(lab):
    archive = cds.archive()
    assert archive is not None and archive.is_file(), "`up` builds the archive before the first broker starts"
    for row in lab.cluster.status():
        argv = Path(f"/proc/{row['pid']}/cmdline").read_bytes().split(b"\0")
        assert f"-XX:SharedArchiveFile={archive}".encode() in argv
        assert b"-XX:TieredStopAtLevel=1" in argv
        # mapped, not merely named: a JVM that rejected the archive would not map it
        assert str(archive) in Path(f"/proc/{row['pid']}/maps").read_text()


def test_a_training_broker_builds_an_archive_the_jvm_accepts(tmp_path, monkeypatch):
    target = tmp_path / "cds" / "kafka-test.jsa"
    monkeypatch.setattr(cds, "archive", lambda: target)
    out = io.StringIO()
    cds.ensure(out)
    assert target.is_file() and target.stat().st_size > 10 << 20, out.getvalue()
    assert "built kafka-test.jsa" in out.getvalue()
    # a tool started with the new archive and -Xshare:on (which refuses a bad archive)
    cmd = fetch.java_command("org.apache.kafka.tools.TopicCommand", ["--version"], archive=False)
    cmd[1:1] = [f"-XX:SharedArchiveFile={target}", "-Xshare:on"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and config.KAFKA_VERSION in res.stdout, res.stdout + res.stderr
    assert not list(target.parent.glob("train-*")), "the training broker's folder is removed"


def test_a_failed_build_is_reported_and_the_lab_starts_without_it(tmp_path, monkeypatch):
    target = tmp_path / "cds" / "kafka-test.jsa"
    monkeypatch.setattr(cds, "archive", lambda: target)
    monkeypatch.setattr(fetch, "broker_command", lambda props, logs, archive=True: ["false"])
    out = io.StringIO()
    cds.ensure(out)  # no exception: the cluster still starts, only slower
    assert "no archive this time (the training broker exited" in out.getvalue()
    assert not target.exists() and not list(target.parent.glob("train-*"))
    assert cds.flags() == []


def test_archive_flags_are_off_on_request(monkeypatch):
    monkeypatch.setenv("LABKIT_CDS", "0")
    assert cds.flags() == []
    cmd = fetch.java_command("kafka.Kafka", ["--version"])
    assert not any(flag.startswith("-XX:SharedArchiveFile") for flag in cmd)


def test_the_archive_is_named_for_this_jdk_and_these_jars(tmp_path, monkeypatch):
    name = cds.archive().name
    assert name.startswith(f"kafka-{config.KAFKA_VERSION}-") and name.endswith(".jsa")
    other = tmp_path / "libs"
    other.mkdir()
    (other / f"kafka_2.13-{config.KAFKA_VERSION}.jar").write_bytes(b"")
    monkeypatch.setattr(fetch, "libs_dir", lambda: other)
    assert cds.archive().name != name, "other jars (a KAFKA_HOME) get their own archive"


@pytest.mark.parametrize("value, flags", [("quick", ["-XX:TieredStopAtLevel=1"]), ("full", []), (" Full ", [])])
def test_broker_jit_choice(monkeypatch, value, flags):
    monkeypatch.setenv("LABKIT_BROKER_JIT", value)
    assert config.broker_jit() == flags


def test_an_unknown_broker_jit_is_a_lab_error(monkeypatch):
    monkeypatch.setenv("LABKIT_BROKER_JIT", "turbo")
    with pytest.raises(LabError, match="LABKIT_BROKER_JIT='turbo'") as err:
        config.broker_jit()
    assert "quick" in err.value.hint
