"""Getting real Apache Kafka: Java, Maven, and the broker and tool jars (notebook 00).

Kafka comes either from ``KAFKA_HOME`` (an unpacked official distribution) or from Maven Central,
resolved by Maven from the pom in ``labkit/data`` into a per-user cache. A fetch writes into a
scratch folder and renames it into place only when complete, with a manifest, so a fetch
interrupted halfway is never trusted.
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


def java() -> str:
    """Path of a Java 17+ ``java``, from JAVA_HOME or PATH; a FetchError names what to install."""
    home = os.environ.get("JAVA_HOME")
    candidate = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not candidate or not Path(candidate).exists():
        raise FetchError("Java was not found; Kafka runs on the JVM.", hint=JAVA_HINT)
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


def _complete(libs: Path) -> bool:
    """True when every jar the manifest lists is there with its recorded size."""
    manifest = libs / MANIFEST
    if not manifest.is_file():
        return False
    for line in manifest.read_text().splitlines():
        name, _, size = line.rpartition(" ")
        jar = libs / name
        if not name or not jar.is_file() or str(jar.stat().st_size) != size:
            return False
    return True


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

    Introduced in notebook 00; ``labkit fetch`` runs it from a terminal.
    """
    if not force:
        found = libs_dir()
        if found is not None:
            return found
    java()
    mvn = maven()
    libs = cached_libs()
    scratch = libs.with_name(f"libs.partial-{os.getpid()}")
    _remove_abandoned(libs.parent)
    scratch.parent.mkdir(parents=True, exist_ok=True)
    out.write(f"Fetching Apache Kafka {config.KAFKA_VERSION} from Maven Central into {libs} ...\n")
    cmd = [mvn, "-B", "-f", str(config.POM), "dependency:copy-dependencies",
           "-DincludeScope=runtime", f"-DoutputDirectory={scratch}",
           f"-Dkafka.version={config.KAFKA_VERSION}", f"-Dlog4j.version={config.LOG4J_VERSION}"]
    tail: list[str] = []
    count = 0
    try:
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              cwd=config.DATA_DIR) as proc:
            for line in proc.stdout:
                tail = (tail + [line.rstrip()])[-15:]
                count = _progress(line, count, out)
            rc = proc.wait(timeout=config.TIMEOUTS.fetch)
    except (OSError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        raise FetchError(f"Maven did not finish: {exc}", hint=MAVEN_HINT) from None
    jars = sorted(p.name for p in scratch.glob("*.jar"))
    missing = [prefix for prefix in REQUIRED_JARS if not any(j.startswith(prefix) for j in jars)]
    if rc != 0 or missing:
        shutil.rmtree(scratch, ignore_errors=True)
        raise FetchError(f"Maven could not resolve Kafka {config.KAFKA_VERSION} (exit {rc}).",
                         hint="check that Maven Central is reachable (a proxy goes in "
                              "~/.m2/settings.xml), then run `labkit fetch` again.",
                         log_tail="\n".join(tail))
    (scratch / MANIFEST).write_text("".join(f"{j} {(scratch / j).stat().st_size}\n" for j in jars))
    shutil.rmtree(libs, ignore_errors=True)
    os.replace(scratch, libs)  # atomic: a half-written cache is never under the trusted name
    out.write(f"Kafka {config.KAFKA_VERSION}: {len(jars)} jars ready"
              f"{f' ({count} downloaded)' if count else ' (from the local Maven repository)'}.\n")
    return libs


def _remove_abandoned(folder: Path) -> None:
    """Delete scratch folders of fetches whose process is gone (interrupted, never trusted)."""
    from .procs import alive
    for scratch in folder.glob("libs.partial-*"):
        pid = scratch.name.rsplit("-", 1)[1]
        if not pid.isdigit() or int(pid) == os.getpid() or not alive(int(pid)):
            shutil.rmtree(scratch, ignore_errors=True)


def java_command(main_class: str, args: list[str], *, heap: str = config.TOOL_HEAP,
                 log4j: Path = config.TOOLS_LOG4J, quick: bool = True,
                 props: dict[str, str] | None = None) -> list[str]:
    """The ``java`` command line that runs one of Kafka's main classes from the pinned jars.

    ``quick`` trades peak speed for start-up time (C1 only, serial GC): right for short CLI
    tools, wrong for the broker and the perf tests.
    """
    libs = libs_dir() or fetch()
    cmd = [java(), *heap.split()]
    if quick:
        cmd += ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]
    else:
        cmd += ["-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35"]
    cmd += ["-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={log4j}"]
    cmd += [f"-D{key}={value}" for key, value in (props or {}).items()]
    return cmd + ["-cp", str(libs / "*"), main_class, *args]
