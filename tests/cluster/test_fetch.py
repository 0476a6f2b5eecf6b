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

from labkit.cluster import fetch
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
