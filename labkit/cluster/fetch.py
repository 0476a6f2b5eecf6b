"""Getting real Apache Kafka: Java, Maven, and the broker and tool jars (notebook 00).

Kafka comes either from ``KAFKA_HOME`` (an unpacked official distribution) or from Maven Central,
resolved by Maven from the pom in ``labkit/data`` into a per-user cache (``maven.resolve``: never
trusted until complete, one fetch at a time). Later lessons' jars (Kafka Streams, connectors) come
the same way on first use (``fetch_extra``). The JVM command lines of the lab are built here.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .. import config
from ..errors import FetchError
from . import maven
from .lock import locked

MANIFEST = maven.MANIFEST  # the cache's manifest name (cds reads it here)

REQUIRED_JARS = ("kafka_2.13-", "kafka-tools-", "kafka-clients-", "log4j-slf4j-impl-")
JAVA_HINT = (
    "install a Java 17+ JDK (Debian/Ubuntu: `sudo apt install openjdk-17-jdk`, macOS: "
    "`brew install openjdk@17`, Windows: use WSL2), or with conda: "
    "`conda install -c conda-forge openjdk=17`; or point JAVA_HOME at one."
)
_JAVA_OK: dict[tuple, str] = {}  # (JAVA_HOME, PATH) -> a java that passed the version check


def java() -> str:
    """Path of a Java 17+ ``java``, from JAVA_HOME or PATH; a FetchError names what to install.

    The version check runs once per JAVA_HOME/PATH in a process, not at every JVM launch.
    """
    home = os.environ.get("JAVA_HOME")
    key = (home, os.environ.get("PATH"))
    candidate = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not candidate or not Path(candidate).exists():
        raise FetchError("Java was not found; Kafka runs on the JVM.", hint=JAVA_HINT)
    if _JAVA_OK.get(key) == candidate:
        return candidate
    try:
        out = subprocess.run([candidate, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FetchError(f"`{candidate} -version` did not run: {exc}", hint=JAVA_HINT) from None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):  # "1.8.0" style
        major = int(match.group(2))
    if major < config.JAVA_MIN:
        raise FetchError(f"Kafka {config.KAFKA_VERSION} needs Java {config.JAVA_MIN}+, "
                         f"but {candidate} is Java {major or 'of unknown version'}.", hint=JAVA_HINT)
    _JAVA_OK[key] = candidate
    return candidate


def cached_libs() -> Path:
    return config.cache_dir() / f"kafka-{config.KAFKA_VERSION}" / "libs"


def _home_version(libs: Path) -> None:
    """KAFKA_HOME must hold the pinned release: another version's tools and broker differ."""
    if not (libs / f"kafka_2.13-{config.KAFKA_VERSION}.jar").is_file():
        found = sorted(p.name for p in libs.glob("kafka_2.13-*.jar"))
        raise FetchError(f"KAFKA_HOME holds {', '.join(found)}, not Kafka {config.KAFKA_VERSION}, "
                         "which the lessons are written for.",
                         hint=f"point KAFKA_HOME at Kafka {config.KAFKA_VERSION}, or unset it to let "
                              "labkit fetch that release.")


def libs_dir() -> Path | None:
    """The folder of Kafka jars to run, or None when Kafka has not been fetched yet."""
    home = config.kafka_home()
    if home is not None:
        libs = home / "libs"
        if not any(libs.glob("kafka_2.13-*.jar")):
            raise FetchError(f"KAFKA_HOME={home} does not look like an unpacked Kafka distribution "
                             f"(no libs/kafka_2.13-*.jar).",
                             hint="unset KAFKA_HOME to let labkit fetch Kafka, or point it at the "
                                  "folder that holds bin/ and libs/.")
        _home_version(libs)
        return libs
    libs = cached_libs()
    return libs if maven.complete(libs) else None


def fetch(out=sys.stderr, force: bool = False) -> Path:
    """Resolve Kafka's jars with Maven into the cache (once), showing progress; returns libs dir.

    Introduced in notebook 00; ``labkit fetch`` runs it from a terminal. Two fetches at once
    take turns on the cache's lock; the second finds the first one's jars.
    """
    if not force and config.kafka_home() is not None:
        return libs_dir()
    libs = cached_libs()
    if not force and maven.complete(libs, checksums=True):
        return libs
    with locked(libs.parent, "fetch", out, timeout=config.TIMEOUTS.fetch + 60):
        if not force and maven.complete(libs, checksums=True):  # fetched meanwhile by the lock's holder
            return libs
        return _fetch(libs, out)


def _fetch(libs: Path, out) -> Path:
    java()
    return maven.resolve(config.POM, libs, label=f"Apache Kafka {config.KAFKA_VERSION}",
                         required=REQUIRED_JARS, out=out)


def extra_dir(name: str) -> Path | None:
    """The cached folder of extra jars ``name`` (see ``fetch_extra``), or None until fetched whole."""
    folder = config.cache_dir() / f"{name}-{config.KAFKA_VERSION}"
    return folder if maven.complete(folder) else None


def fetch_extra(name: str, pom: Path, *, out=sys.stderr, transitive: bool = True,
                required: tuple[str, ...] = (), props: dict[str, str] | None = None) -> Path:
    """Jars a later lesson needs on first use (Kafka Streams in 09, connectors in 10), fetched once.

    ``pom`` (in ``labkit/data``) is resolved with the pinned versions into the cache's
    ``<name>-<kafka version>`` folder, with the same progress, lock and checks as Kafka itself;
    ``props`` fill the pom's other versions (they come from ``config`` too).
    """
    folder = config.cache_dir() / f"{name}-{config.KAFKA_VERSION}"
    if maven.complete(folder, checksums=True):
        return folder
    with locked(folder.parent, "fetch", out, timeout=config.TIMEOUTS.fetch + 60):
        if maven.complete(folder, checksums=True):  # fetched meanwhile by the lock's holder
            return folder
        java()
        return maven.resolve(pom, folder, label=f"{name} for Kafka {config.KAFKA_VERSION}",
                             required=required, out=out, transitive=transitive, props=props)


def java_command(main_class: str, args: list[str], *, heap: str = config.TOOL_HEAP,
                 log4j: Path = config.TOOLS_LOG4J, quick: bool = True,
                 props: dict[str, str] | None = None, archive: bool = True) -> list[str]:
    """The ``java`` command line that runs one of Kafka's main classes from the pinned jars.

    ``quick`` trades peak speed for start-up time (C1 only, serial GC): right for short CLI
    tools, wrong for the perf tests. ``archive`` maps the release's class-data archive when
    there is one (``cds``): every JVM of the lab starts faster with it.
    """
    from . import cds
    libs = libs_dir() or fetch()
    cmd = [java(), *heap.split(), *(cds.flags() if archive else [])]
    if quick:
        cmd += ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]
    else:
        cmd += ["-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35"]
    cmd += ["-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={log4j}"]
    cmd += [f"-D{key}={value}" for key, value in (props or {}).items()]
    return cmd + ["-cp", str(libs / "*"), main_class, *args]


def broker_command(props: Path, logs: Path, archive: bool = True) -> list[str]:
    """The ``java`` command line of one broker (notebook 00): G1, the lab's heap and JIT choice."""
    cmd = java_command("kafka.Kafka", [str(props)], heap=config.broker_heap(), log4j=config.SERVER_LOG4J,
                       quick=False, props={"kafka.logs.dir": str(logs)}, archive=archive)
    cmd[1:1] = ["-XX:+ExitOnOutOfMemoryError", *config.broker_jit()]
    return cmd
