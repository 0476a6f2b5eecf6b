"""Kafka Streams' jars and the lesson's one-file Java application, compiled once (notebook 09).

Kafka Streams is a Java library, so its jars (kafka-streams and its RocksDB, about 73 MB) are
fetched from Maven Central the first time the lesson runs (``labkit/data/streams-pom.xml``,
through ``fetch.fetch_extra``), not with Kafka itself. ``java/WindowedCount.java`` is compiled
with ``javac`` against them; the classes are cached under a name made from the source's hash,
the release and the JDK, so an edited source (or a new JDK) is compiled again and nothing else is.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .. import config
from ..cluster import fetch
from ..cluster.lock import locked
from ..errors import FetchError

SOURCE = Path(__file__).resolve().parent / "java" / "WindowedCount.java"
MAIN = "WindowedCount"
POM = config.DATA_DIR / "streams-pom.xml"
REQUIRED = ("kafka-streams-", "rocksdbjni-", "kafka-clients-")
# logging for the app: Kafka's own log4j2 binding, from the jars Kafka itself runs on
LOG_JARS = ("log4j-api-", "log4j-core-", "log4j-slf4j-impl-")
JDK_HINT = ("compiling needs a JDK, not only a Java runtime (Debian/Ubuntu: `sudo apt install "
            "openjdk-17-jdk-headless`, conda: `conda install -c conda-forge openjdk=17`).")


def jars(out=sys.stderr) -> Path:
    """The folder of Kafka Streams' jars, fetched on first use with a line per jar."""
    return fetch.fetch_extra("kafka-streams", POM, out=out, required=REQUIRED)


def javac() -> str:
    """The ``javac`` beside the ``java`` labkit runs (or on PATH); a FetchError says what to install."""
    beside = Path(fetch.java()).resolve().parent / "javac"
    found = str(beside) if beside.exists() else shutil.which("javac")
    if not found:
        raise FetchError("`javac` was not found: the Kafka Streams app is compiled from its source.",
                         hint=JDK_HINT)
    return found


def classpath(out=sys.stderr) -> list[str]:
    """The compiled classes, Kafka Streams' jars and the log4j binding, in that order."""
    libs = fetch.libs_dir() or fetch.fetch(out)
    logging = [str(p) for prefix in LOG_JARS for p in sorted(libs.glob(f"{prefix}*.jar"))]
    return [str(compiled(out)), str(jars(out) / "*"), *logging]


def compiled(out=sys.stderr) -> Path:
    """The folder holding ``WindowedCount.class``, compiling the source if this version is new."""
    lib = jars(out)
    compiler = javac()
    digest = hashlib.sha256(SOURCE.read_bytes())
    digest.update(f"{config.KAFKA_VERSION}\n{Path(compiler).resolve()}".encode())
    target = config.cache_dir() / "streams-classes" / digest.hexdigest()[:16]
    if (target / f"{MAIN}.class").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with locked(target.parent, "javac", out, timeout=config.TIMEOUTS.fetch):
        if (target / f"{MAIN}.class").is_file():  # compiled meanwhile by the lock's holder
            return target
        scratch = target.with_name(f"{target.name}.partial-{os.getpid()}")
        shutil.rmtree(scratch, ignore_errors=True)
        out.write(f"Compiling {SOURCE.name} against Kafka Streams {config.KAFKA_VERSION} ...\n")
        out.flush()
        cmd = [compiler, "-nowarn", "-d", str(scratch), "-cp", str(lib / "*"), str(SOURCE)]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
        except (OSError, subprocess.TimeoutExpired) as exc:
            shutil.rmtree(scratch, ignore_errors=True)
            raise FetchError(f"javac did not finish: {exc}", hint=JDK_HINT) from None
        if res.returncode != 0 or not (scratch / f"{MAIN}.class").is_file():
            shutil.rmtree(scratch, ignore_errors=True)
            raise FetchError(f"javac could not compile {SOURCE.name} (exit {res.returncode}).",
                             hint="the source or the fetched jars are damaged; `git diff` the source, "
                                  "or delete the kafka-streams folder in labkit's cache to fetch again.",
                             log_tail=(res.stdout + res.stderr)[-1500:])
        os.replace(scratch, target)  # atomic: half-compiled classes never get the trusted name
    return target
