"""Resolving jars from Maven Central into labkit's cache, safely (notebooks 00, 09, 10).

One way for every set of jars the lab runs: Kafka itself (``fetch.fetch``), and the extras a later
lesson needs on first use, such as Kafka Streams (09) or the FileStream connectors (10). Maven
resolves a pom from ``labkit/data`` into a scratch folder, with strict checksums and a pinned
plugin, under the cache's lock (one resolution at a time), ended by a watchdog at its timeout even
when it stalls without a word. The folder is renamed into place only when complete, with a manifest
of sizes and SHA-256 sums, so a resolution interrupted halfway (or a jar changed since) is never
trusted.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import threading
from pathlib import Path

from .. import config
from ..errors import FetchError
from .lock import os_error, write_atomic

MANIFEST = "MANIFEST"
MAVEN_HINT = (
    "install Apache Maven (Debian/Ubuntu: `sudo apt install maven`, macOS: `brew install maven`), "
    "or with conda: `conda install -c conda-forge maven`; or set KAFKA_HOME to an unpacked "
    "Kafka download."
)
REACH_HINT = "check that Maven Central is reachable (a proxy goes in ~/.m2/settings.xml), then try again."
# Maven's own waits, in ms: a stalled download fails in a minute, not Maven 3's 30 minutes
MAVEN_TIMEOUTS = ("-Daether.connector.connectTimeout=10000", "-Daether.connector.requestTimeout=60000")
_VERIFIED: set[tuple] = set()  # (folder, manifest mtime) whose checksums this process checked


def maven() -> str:
    """Path of ``mvn``; a FetchError names what to install."""
    found = shutil.which("mvn")
    if not found:
        raise FetchError("Maven (`mvn`) was not found; labkit uses it to fetch Kafka's jars.",
                         hint=MAVEN_HINT)
    return found


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def complete(folder: Path, checksums: bool = False) -> bool:
    """True when every jar the manifest lists is there with its recorded size (and SHA-256).

    Lines are ``name size sha256``; a cache from an older labkit has ``name size`` only.
    """
    manifest = folder / MANIFEST
    try:
        lines = manifest.read_text().splitlines()
        key = (str(folder), manifest.stat().st_mtime_ns)
    except OSError:
        return False
    checksums = checksums and key not in _VERIFIED
    for line in lines:
        name, size, *sha = line.split(" ")
        jar = folder / name
        if not name or not jar.is_file() or str(jar.stat().st_size) != size:
            return False
        if checksums and sha and sha256(jar) != sha[0]:
            return False
    if checksums:
        _VERIFIED.add(key)
    return bool(lines)


def _progress(line: str, count: int, out) -> int:
    """Turn Maven's transfer lines into a short progress line per jar: when it starts, when done.

    Announcing the start matters for the big ones (RocksDB's 73 MB jar, notebook 09): a learner
    sees what is downloading instead of a silent minute.
    """
    started = re.search(r"Downloading from \S+: \S+/([^/\s]+\.jar)\s*$", line)
    if started:
        out.write(f"  [...] {started.group(1)} downloading\n")
        out.flush()
    match = re.search(r"Downloaded from \S+: \S+/([^/\s]+\.jar) \(([^)]*)\)", line)
    if match:
        count += 1
        out.write(f"  [{count:3d}] {match.group(1)} ({match.group(2).split(' at ')[0]})\n")
        out.flush()
    return count


def resolve(pom: Path, dest: Path, *, label: str, required: tuple[str, ...], out,
            transitive: bool = True, props: dict[str, str] | None = None) -> Path:
    """Resolve ``pom``'s runtime dependencies into ``dest`` (replaced whole), showing progress.

    The caller holds the cache's lock. ``required`` are jar-name prefixes that must be among the
    result; ``transitive=False`` takes the pom's own dependencies only; ``props`` are more
    ``-D`` properties for the pom beside the pinned versions. Returns ``dest``.
    """
    mvn = maven()
    scratch = dest.with_name(f"{dest.name}.partial-{os.getpid()}")
    _remove_abandoned(dest.parent)
    out.write(f"Fetching {label} from Maven Central into {dest} ...\n")
    cmd = [mvn, "-B", "-C", *MAVEN_TIMEOUTS, "-f", str(pom), "dependency:copy-dependencies",
           "-DincludeScope=runtime", f"-DoutputDirectory={scratch}",
           f"-DexcludeTransitive={'false' if transitive else 'true'}",
           f"-Dkafka.version={config.KAFKA_VERSION}", f"-Dlog4j.version={config.LOG4J_VERSION}",
           *(f"-D{key}={value}" for key, value in (props or {}).items())]
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
                         hint=REACH_HINT, log_tail="\n".join(tail))
    jars = sorted(p.name for p in scratch.glob("*.jar"))
    missing = [prefix for prefix in required if not any(j.startswith(prefix) for j in jars)]
    if rc != 0 or missing:
        shutil.rmtree(scratch, ignore_errors=True)
        raise FetchError(f"Maven could not resolve {label} (exit {rc}).",
                         hint=f"{REACH_HINT} A checksum failure means a damaged download: "
                              f"`mvn dependency:purge-local-repository -f {pom}` clears Maven's copy.",
                         log_tail="\n".join(tail))
    write_atomic(scratch / MANIFEST, "".join(f"{j} {(scratch / j).stat().st_size} {sha256(scratch / j)}\n"
                                             for j in jars), mode=0o644)
    old = dest.with_name(f"{dest.name}.old-{os.getpid()}")
    try:
        if dest.exists():  # replaced by rename, never deleted in place under running JVMs
            os.replace(dest, old)
        os.replace(scratch, dest)  # atomic: a half-written folder is never under the trusted name
    except OSError as exc:
        raise os_error(exc, dest.parent, "LABKIT_CACHE") from None
    shutil.rmtree(old, ignore_errors=True)
    out.write(f"{label}: {len(jars)} jars ready"
              f"{f' ({count} downloaded)' if count else ' (from the local Maven repository)'}.\n")
    return dest


def _end_group(proc, flag: threading.Event) -> None:
    """Kill Maven and its children (its own process group) when the fetch's time is up."""
    if proc.poll() is None:
        flag.set()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _remove_abandoned(folder: Path) -> None:
    """Delete scratch folders of resolutions whose process is gone (interrupted, never trusted)."""
    from .procs import alive
    for scratch in [*folder.glob("*.partial-*"), *folder.glob("*.old-*")]:
        pid = scratch.name.rsplit("-", 1)[1]
        if not pid.isdigit() or int(pid) == os.getpid() or not alive(int(pid)):
            shutil.rmtree(scratch, ignore_errors=True)
