"""Getting real Apache Kafka: Java, Maven, and the broker and tool jars (notebook 00).

Kafka comes either from ``KAFKA_HOME`` (an unpacked official distribution) or from Maven Central,
resolved by Maven from the pom in ``labkit/data`` into a per-user cache. A fetch writes into a
scratch folder and renames it into place only when complete, with a manifest of sizes and SHA-256
sums, so a fetch interrupted halfway (or a jar changed since) is never trusted. Maven runs with
strict checksums and a pinned plugin, under the cache's lock (one fetch at a time), and is ended
by a watchdog at its timeout even when it stalls without a word.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

from .. import config
from ..errors import FetchError
from .lock import locked, os_error, write_atomic

MANIFEST = "MANIFEST"
REQUIRED_JARS = ("kafka_2.13-", "kafka-tools-", "kafka-clients-", "log4j-slf4j-impl-")
JAVA_HINT = (
    "install a Java 17+ JDK (Debian/Ubuntu: `sudo apt install openjdk-17-jdk`, macOS: "
    "`brew install openjdk@17`, Windows: use WSL2), or with conda: "
    "`conda install -c conda-forge openjdk=17`; or point JAVA_HOME at one."
)
MAVEN_HINT = (
    "install Apache Maven (Debian/Ubuntu: `sudo apt install maven`, macOS: `brew install maven`), "
    "or with conda: `conda install -c conda-forge maven`; or set KAFKA_HOME to an unpacked "
    "Kafka download."
)


# Maven's own waits, in ms: a stalled download fails in a minute, not Maven 3's 30 minutes
MAVEN_TIMEOUTS = ("-Daether.connector.connectTimeout=10000", "-Daether.connector.requestTimeout=60000")
_JAVA_OK: dict[tuple, str] = {}  # (JAVA_HOME, PATH) -> a java that passed the version check
_VERIFIED: set[tuple] = set()  # (libs, manifest mtime) whose checksums this process checked


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


def maven() -> str:
    """Path of ``mvn``; a FetchError names what to install."""
    found = shutil.which("mvn")
    if not found:
        raise FetchError("Maven (`mvn`) was not found; labkit uses it to fetch Kafka's jars.",
                         hint=MAVEN_HINT)
    return found


def cached_libs() -> Path:
    return config.cache_dir() / f"kafka-{config.KAFKA_VERSION}" / "libs"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _complete(libs: Path, checksums: bool = False) -> bool:
    """True when every jar the manifest lists is there with its recorded size (and SHA-256).

    Lines are ``name size sha256``; a cache from an older labkit has ``name size`` only.
    """
    manifest = libs / MANIFEST
    try:
        lines = manifest.read_text().splitlines()
        key = (str(libs), manifest.stat().st_mtime_ns)
    except OSError:
        return False
    checksums = checksums and key not in _VERIFIED
    for line in lines:
        name, size, *sha = line.split(" ")
        jar = libs / name
        if not name or not jar.is_file() or str(jar.stat().st_size) != size:
            return False
        if checksums and sha and _sha256(jar) != sha[0]:
            return False
    if checksums:
        _VERIFIED.add(key)
    return bool(lines)


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
    return libs if _complete(libs) else None


def _progress(line: str, count: int, out) -> int:
    """Turn Maven's transfer lines into a short progress line per jar."""
    match = re.search(r"Downloaded from \S+: \S+/([^/\s]+\.jar) \(([^)]*)\)", line)
    if match:
        count += 1
        out.write(f"  [{count:3d}] {match.group(1)} ({match.group(2).split(' at ')[0]})\n")
        out.flush()
    return count


def fetch(out=sys.stderr, force: bool = False) -> Path:
    """Resolve Kafka's jars with Maven into the cache (once), showing progress; returns libs dir.

    Introduced in notebook 00; ``labkit fetch`` runs it from a terminal. Two fetches at once
    take turns on the cache's lock; the second finds the first one's jars.
    """
    if not force and config.kafka_home() is not None:
        return libs_dir()
    libs = cached_libs()
    if not force and _complete(libs, checksums=True):
        return libs
    with locked(libs.parent, "fetch", out, timeout=config.TIMEOUTS.fetch + 60):
        if not force and _complete(libs, checksums=True):  # fetched meanwhile by the lock's holder
            return libs
        return _fetch(libs, out)


def _fetch(libs: Path, out) -> Path:
    java()
    mvn = maven()
    scratch = libs.with_name(f"libs.partial-{os.getpid()}")
    _remove_abandoned(libs.parent)
    out.write(f"Fetching Apache Kafka {config.KAFKA_VERSION} from Maven Central into {libs} ...\n")
    cmd = [mvn, "-B", "-C", *MAVEN_TIMEOUTS, "-f", str(config.POM), "dependency:copy-dependencies",
           "-DincludeScope=runtime", f"-DoutputDirectory={scratch}",
           f"-Dkafka.version={config.KAFKA_VERSION}", f"-Dlog4j.version={config.LOG4J_VERSION}"]
    tail: list[str] = []
    count = 0
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                cwd=config.DATA_DIR, start_new_session=True)
    except OSError as exc:
        raise FetchError(f"Maven did not start: {exc}", hint=MAVEN_HINT) from None
    stalled = threading.Event()
    watchdog = threading.Timer(config.TIMEOUTS.fetch, _end_group, (proc, stalled))
    watchdog.daemon = True
    watchdog.start()
    try:
        for line in proc.stdout:  # ends when Maven exits or the watchdog ends it
            tail = (tail + [line.rstrip()])[-15:]
            count = _progress(line, count, out)
        rc = proc.wait()
    except BaseException:
        _end_group(proc, stalled)
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    finally:
        watchdog.cancel()
        proc.stdout.close()
    if stalled.is_set():
        shutil.rmtree(scratch, ignore_errors=True)
        raise FetchError(f"Maven did not finish within {config.TIMEOUTS.fetch:.0f} s and was stopped.",
                         hint="check that Maven Central is reachable (a proxy goes in "
                              "~/.m2/settings.xml), then run `labkit fetch` again.",
                         log_tail="\n".join(tail))
    jars = sorted(p.name for p in scratch.glob("*.jar"))
    missing = [prefix for prefix in REQUIRED_JARS if not any(j.startswith(prefix) for j in jars)]
    if rc != 0 or missing:
        shutil.rmtree(scratch, ignore_errors=True)
        raise FetchError(f"Maven could not resolve Kafka {config.KAFKA_VERSION} (exit {rc}).",
                         hint="check that Maven Central is reachable (a proxy goes in "
                              "~/.m2/settings.xml), then run `labkit fetch` again. A checksum "
                              "failure means a damaged download: `mvn dependency:purge-local-repository "
                              f"-f {config.POM}` clears Maven's copy.",
                         log_tail="\n".join(tail))
    write_atomic(scratch / MANIFEST, "".join(f"{j} {(scratch / j).stat().st_size} {_sha256(scratch / j)}\n"
                                             for j in jars), mode=0o644)
    try:
        if libs.exists():  # replaced by rename, never deleted in place under running brokers
            os.replace(libs, libs.with_name(f"libs.old-{os.getpid()}"))
        os.replace(scratch, libs)  # atomic: a half-written cache is never under the trusted name
    except OSError as exc:
        raise os_error(exc, libs.parent, "LABKIT_CACHE") from None
    shutil.rmtree(libs.with_name(f"libs.old-{os.getpid()}"), ignore_errors=True)
    out.write(f"Kafka {config.KAFKA_VERSION}: {len(jars)} jars ready"
              f"{f' ({count} downloaded)' if count else ' (from the local Maven repository)'}.\n")
    return libs


def _end_group(proc, flag: threading.Event) -> None:
    """Kill Maven and its children (its own process group) when the fetch's time is up."""
    if proc.poll() is None:
        flag.set()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _remove_abandoned(folder: Path) -> None:
    """Delete scratch folders of fetches whose process is gone (interrupted, never trusted)."""
    from .procs import alive
    for scratch in [*folder.glob("libs.partial-*"), *folder.glob("libs.old-*")]:
        pid = scratch.name.rsplit("-", 1)[1]
        if not pid.isdigit() or int(pid) == os.getpid() or not alive(int(pid)):
            shutil.rmtree(scratch, ignore_errors=True)


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
