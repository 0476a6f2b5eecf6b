"""Getting Kafka: the cache is trusted only when complete; KAFKA_HOME is honoured; missing Java or
Maven is one clear message."""
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from labkit import config

from labkit.cluster import fetch, maven
from labkit.errors import FetchError


@pytest.fixture
def libs():
    """The real, complete jar folder the suite runs on."""
    found = fetch.fetch()
    assert (found / fetch.MANIFEST).is_file() or config.kafka_home()
    return found


def test_cache_holds_the_pinned_release(libs):
    names = {p.name for p in libs.glob("*.jar")}
    assert f"kafka_2.13-{config.KAFKA_VERSION}.jar" in names
    assert f"kafka-tools-{config.KAFKA_VERSION}.jar" in names
    assert any(n.startswith("log4j-slf4j-impl-") for n in names)


def test_partial_cache_is_not_trusted(tmp_path, monkeypatch, libs):
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path))
    monkeypatch.delenv("KAFKA_HOME", raising=False)
    partial = fetch.cached_libs()
    partial.mkdir(parents=True)
    jars = sorted(libs.glob("*.jar"))[:3]
    for jar in jars:
        shutil.copy(jar, partial / jar.name)
    assert fetch.libs_dir() is None  # no manifest: an interrupted fetch
    (partial / fetch.MANIFEST).write_text("".join(f"{j.name} {j.stat().st_size}\n" for j in jars))
    assert fetch.libs_dir() == partial
    (partial / jars[0].name).write_bytes(b"truncated")  # a jar cut short
    assert fetch.libs_dir() is None
    (partial / jars[1].name).unlink()
    assert fetch.libs_dir() is None


def test_kafka_home_is_honoured(tmp_path, libs):
    home = tmp_path / "kafka_2.13-dist"
    (home / "libs").mkdir(parents=True)
    for jar in libs.glob("*.jar"):
        (home / "libs" / jar.name).symlink_to(jar)
    env = {**os.environ, "KAFKA_HOME": str(home), "LABKIT_CACHE": str(tmp_path / "empty-cache")}
    res = subprocess.run(["kafka-topics", "--version"], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0 and config.KAFKA_VERSION in res.stdout
    assert not (tmp_path / "empty-cache").exists(), "KAFKA_HOME set, yet labkit fetched"


def test_bad_kafka_home_is_a_lab_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KAFKA_HOME", str(tmp_path))
    with pytest.raises(FetchError) as err:
        fetch.libs_dir()
    assert "KAFKA_HOME" in str(err.value) and err.value.hint


def _fake_bin(tmp_path, name, script):
    path = tmp_path / "bin" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path.parent


def test_java_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    with pytest.raises(FetchError) as err:
        fetch.java()
    assert "Java" in err.value.message and "conda install -c conda-forge openjdk" in err.value.hint


def test_java_too_old(tmp_path, monkeypatch):
    home = _fake_bin(tmp_path, "java", 'echo \'openjdk version "11.0.2" 2019-01-15\' >&2\n').parent
    monkeypatch.setenv("JAVA_HOME", str(home))
    with pytest.raises(FetchError) as err:
        fetch.java()
    assert "Java 17+" in err.value.message and "Java 11" in err.value.message


def test_maven_missing_is_one_clear_message(tmp_path):
    java = shutil.which("java")
    bindir = _fake_bin(tmp_path, "java", f'exec {java} "$@"\n')
    env = {"PATH": str(bindir), "HOME": str(tmp_path), "LABKIT_CACHE": str(tmp_path / "cache")}
    res = subprocess.run([sys.executable, "-m", "labkit.cli", "fetch"], capture_output=True, text=True,
                         env=env, timeout=120, cwd=Path(__file__).parents[2])
    assert res.returncode == 2
    assert "Maven" in res.stderr and "conda install -c conda-forge maven" in res.stderr
    assert "Traceback" not in res.stderr


def test_java_missing_from_the_cli(tmp_path):
    env = {"PATH": str(tmp_path), "HOME": str(tmp_path), "LABKIT_CACHE": str(tmp_path / "cache")}
    res = subprocess.run([sys.executable, "-m", "labkit.cli", "fetch"], capture_output=True, text=True,
                         env=env, timeout=120, cwd=Path(__file__).parents[2])
    assert res.returncode == 2 and "Java was not found" in res.stderr and "Traceback" not in res.stderr


def test_fresh_fetch_with_maven_into_a_new_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path))
    monkeypatch.delenv("KAFKA_HOME", raising=False)
    abandoned = fetch.cached_libs().with_name("libs.partial-999999999")  # an interrupted fetch's
    abandoned.mkdir(parents=True)
    libs = fetch.fetch(out=open(os.devnull, "w"))
    assert libs == fetch.cached_libs() and fetch.libs_dir() == libs
    assert not list(tmp_path.rglob("libs.partial-*")), "scratch folder left behind"


# ---- issue 14, item 6: a fetch that cannot hang, cannot be tampered with, and takes turns --------
def _recording_mvn(tmp_path, script: str):
    """A fake `mvn` on PATH (with the real java) that records its argv, then runs ``script``."""
    java = shutil.which("java")
    bindir = _fake_bin(tmp_path, "mvn", f'echo "$@" > {tmp_path}/mvn-args\n{script}')
    _fake_bin(tmp_path, "java", f'exec {java} "$@"\n')
    return bindir


@pytest.mark.timeout(60, func_only=True)
def test_a_stalled_maven_ends_at_the_timeout(tmp_path, monkeypatch):
    import dataclasses
    import psutil
    bindir = _recording_mvn(tmp_path, "sleep 600\n")  # prints nothing, ever
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("KAFKA_HOME", raising=False)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(config, "TIMEOUTS", dataclasses.replace(config.TIMEOUTS, fetch=3.0))
    import time
    t0 = time.monotonic()
    with pytest.raises(FetchError) as err:
        fetch.fetch(out=open(os.devnull, "w"))
    assert time.monotonic() - t0 < 20
    assert "did not finish within 3 s" in err.value.message and err.value.hint
    assert not [p for p in psutil.process_iter(["cmdline"]) if "sleep 600" in " ".join(p.info["cmdline"] or [])
                and p.ppid() in (1, os.getpid())], "Maven's process group was left running"
    args = (tmp_path / "mvn-args").read_text().split()
    assert "-C" in args  # strict checksums: a corrupt download fails instead of a warning
    assert "-Daether.connector.requestTimeout=60000" in args and "-Daether.connector.connectTimeout=10000" in args


def test_the_dependency_plugin_is_pinned():
    import xml.etree.ElementTree as ET
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    root = ET.parse(config.POM).getroot()
    plugins = {p.findtext("m:artifactId", namespaces=ns): p.findtext("m:version", namespaces=ns)
               for p in root.iterfind("m:build/m:plugins/m:plugin", ns)}
    assert plugins.get("maven-dependency-plugin"), plugins


@pytest.mark.slow
@pytest.mark.timeout(300, func_only=True)
def test_two_fetches_take_turns_and_the_manifest_has_checksums(tmp_path, monkeypatch, libs):
    env = {**os.environ, "LABKIT_CACHE": str(tmp_path)}
    env.pop("KAFKA_HOME", None)
    runs = [subprocess.Popen([sys.executable, "-m", "labkit.cli", "fetch"], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=Path(__file__).parents[2])
            for _ in range(2)]
    outs = [p.communicate(timeout=250) for p in runs]
    assert [p.returncode for p in runs] == [0, 0], outs
    errs = "".join(e for _, e in outs)
    assert errs.count("Fetching Apache Kafka") == 1 and "Waiting for another labkit" in errs, errs
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path))
    monkeypatch.delenv("KAFKA_HOME", raising=False)
    cached = fetch.cached_libs()
    lines = (cached / fetch.MANIFEST).read_text().splitlines()
    import hashlib
    for line in lines:
        name, size, sha = line.split(" ")
        assert hashlib.sha256((cached / name).read_bytes()).hexdigest() == sha
    jar = cached / lines[0].split(" ")[0]
    data = bytearray(jar.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, different bytes
    jar.write_bytes(bytes(data))
    maven._VERIFIED.clear()
    assert not maven.complete(cached, checksums=True), "a changed jar was trusted"


def test_java_version_is_asked_once(tmp_path, monkeypatch):
    java = shutil.which("java")
    home = _fake_bin(tmp_path, "java", f'echo run >> {tmp_path}/count\nexec {java} "$@"\n').parent
    monkeypatch.setenv("JAVA_HOME", str(home))
    assert fetch.java() == fetch.java() == str(home / "bin" / "java")
    assert (tmp_path / "count").read_text().count("run") == 1


def test_kafka_home_of_another_version_is_a_lab_error(tmp_path, monkeypatch):
    (tmp_path / "libs").mkdir()
    (tmp_path / "libs" / "kafka_2.13-3.9.1.jar").write_bytes(b"")
    monkeypatch.setenv("KAFKA_HOME", str(tmp_path))
    with pytest.raises(FetchError) as err:
        fetch.libs_dir()
    assert "kafka_2.13-3.9.1.jar" in err.value.message and config.KAFKA_VERSION in err.value.hint
