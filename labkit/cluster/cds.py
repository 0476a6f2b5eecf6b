"""Starting Kafka's JVMs without re-reading its jars: one class-data archive per release (notebook 00).

Apache Kafka's Docker image starts a broker in about 2 s because it ships an AppCDS archive of
the classes a broker loads (KIP-975). labkit builds the same thing once per Kafka release, JDK
and jar folder, into the jar cache: a throwaway one-node broker starts, serves a topic, and at
its exit the JVM writes every class it loaded into the archive (``-XX:ArchiveClassesAtExit``,
JDK 13+). Every later JVM of that release, brokers and tools alike, maps the archive
(``-XX:SharedArchiveFile``) instead of parsing and verifying the classes again. A stale archive (a
new JDK, re-fetched jars) has another name, so it is never used; the JVM itself also ignores one
that does not match (``-Xshare:auto``). Building never stops a cluster from starting: a failure
is reported and the JVMs start without the archive. ``LABKIT_CDS=0`` turns it off.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import NewTopic

from .. import clients, config
from ..errors import LabError
from ..wait import wait_for
from . import fetch, procs, storage
from .lock import locked, write_atomic
from .settings import server_properties

# the archive's own warnings (a stale or missing archive) must not reach a tool's stdout
QUIET = "-Xlog:cds=off,cds+dynamic=off"
TRAINING_TOPIC = "labkit-cds-training"


def enabled() -> bool:
    return os.environ.get("LABKIT_CDS", "1").strip() not in ("0", "false", "no", "off")


def archive() -> Path | None:
    """Where the archive for this JDK and these jars lives (None before Kafka is fetched)."""
    libs = fetch.libs_dir()
    if libs is None:
        return None
    java = Path(fetch.java()).resolve()
    parts = [str(java), str(java.stat().st_mtime_ns), str(libs)]
    for marker in (libs / fetch.MANIFEST, *sorted(libs.glob("kafka_2.13-*.jar"))):
        if marker.exists():
            parts.append(f"{marker.name}:{marker.stat().st_mtime_ns}")
    key = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
    return config.cache_dir() / "cds" / f"kafka-{config.KAFKA_VERSION}-{key}.jsa"


def flags() -> list[str]:
    """The JVM flags that use the archive, or [] when there is none (or it is turned off)."""
    if not enabled():
        return []
    path = archive()
    return [f"-XX:SharedArchiveFile={path}", "-Xshare:auto", QUIET] if path and path.is_file() else []


def ensure(out=sys.stderr) -> None:
    """Build the archive when this JDK and these jars have none yet (once; about 10 s)."""
    if not enabled():
        return
    path = archive()
    if path is None or path.is_file():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path.parent, "cds", out, timeout=config.TIMEOUTS.up):
        if path.is_file():  # built meanwhile by the lock's holder
            return
        t0 = time.monotonic()
        out.write("Building a class-data archive of Kafka's classes (once per release; "
                  "later starts take seconds) ...\n")
        out.flush()
        try:
            _build(path)
        except (LabError, OSError, subprocess.SubprocessError) as exc:
            out.write(f"  no archive this time ({str(exc).splitlines()[0]}); the brokers start "
                      "without it, only slower.\n")
            return
        for stale in path.parent.glob(f"kafka-{config.KAFKA_VERSION}-*.jsa"):
            if stale != path:  # another JDK's or older jars' archive: 50 MiB each
                stale.unlink(missing_ok=True)
        out.write(f"  built {path.name} ({path.stat().st_size >> 20} MiB) in "
                  f"{time.monotonic() - t0:.1f} s.\n")


def _build(path: Path) -> None:
    """Run a one-node training broker with -XX:ArchiveClassesAtExit and keep what it dumps."""
    work = path.parent / f"train-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    scratch = work / "archive.jsa"
    try:
        props, bootstrap = _training_properties(work)
        fmt = fetch.java_command("kafka.tools.StorageTool",
                                 ["format", "-t", storage.new_cluster_id(), "-c", str(props)],
                                 archive=False)
        res = subprocess.run(fmt, capture_output=True, text=True, timeout=config.TIMEOUTS.format)
        if res.returncode != 0:
            raise LabError("the training broker's storage could not be formatted",
                           log_tail=(res.stdout + res.stderr)[-800:])
        cmd = fetch.broker_command(props, work / "logs", archive=False)
        cmd.insert(1, f"-XX:ArchiveClassesAtExit={scratch}")
        with open(work / "logs" / "stdout.log", "ab") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, cwd=work)
        try:
            _exercise(proc, bootstrap)
        finally:
            procs.terminate(proc.pid, grace=config.TIMEOUTS.stop_broker)  # the dump happens at exit
            proc.wait(timeout=config.TIMEOUTS.kill)
        if not scratch.is_file() or scratch.stat().st_size < 1 << 20:
            raise LabError("the training broker wrote no archive")
        _check_usable(scratch)
        os.replace(scratch, path)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _training_properties(work: Path) -> tuple[Path, str]:
    """A one-node cluster's settings on two free ports of 127.0.0.1 (the lab's settings otherwise),
    and its bootstrap address."""
    client, controller = _free_port(), _free_port()
    lines = server_properties(1, work, config.DEFAULT_PORT_BASE).splitlines()
    single = {"listeners": f"PLAINTEXT://{config.HOST}:{client},CONTROLLER://{config.HOST}:{controller}",
              "advertised.listeners": f"PLAINTEXT://{config.HOST}:{client}",
              "controller.quorum.voters": f"1@{config.HOST}:{controller}",
              "log.dirs": str(work / "data"), "min.insync.replicas": "1", "default.replication.factor": "1",
              "offsets.topic.replication.factor": "1", "transaction.state.log.replication.factor": "1",
              "transaction.state.log.min.isr": "1"}
    kept = [line for line in lines if line.split("=", 1)[0] not in single]
    (work / "logs").mkdir(parents=True)
    path = work / "server.properties"
    write_atomic(path, "\n".join(kept + [f"{k}={v}" for k, v in single.items()]) + "\n")
    return path, f"{config.HOST}:{client}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((config.HOST, 0))
        return sock.getsockname()[1]


def _exercise(proc: subprocess.Popen, bootstrap: str) -> None:
    """Wait for the broker, then create a topic, produce and fetch: the classes a lab uses."""
    def answering() -> bool:
        if proc.poll() is not None:
            raise LabError(f"the training broker exited (code {proc.returncode})")
        return procs.port_answers(int(bootstrap.rsplit(":", 1)[1]))
    wait_for("the training broker to listen", answering, config.TIMEOUTS.start_broker, 0.1)
    with clients.quiet_admin(bootstrap) as admin:
        clients.result(admin.create_topics([NewTopic(TRAINING_TOPIC, 1, 1)])[TRAINING_TOPIC],
                       "creating the training topic", timeout=config.TIMEOUTS.start_broker)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "log_level": 0})
    for i in range(10):
        producer.produce(TRAINING_TOPIC, str(i).encode())
    if producer.flush(config.TIMEOUTS.request) != 0:
        raise LabError("the training broker did not acknowledge its records")
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "labkit-cds", "log_level": 0,
                         "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(TRAINING_TOPIC, 0, 0)])
        got = []

        def fetched_all() -> bool:
            got.extend(m for m in consumer.consume(10, 0.5) if not m.error())
            return len(got) >= 10
        wait_for("the training records to come back", fetched_all, config.TIMEOUTS.request, 0)
    finally:
        consumer.close()


def _check_usable(path: Path) -> None:
    """The JVM must accept the archive with -Xshare:on (it refuses a broken one loudly)."""
    cmd = fetch.java_command("kafka.Kafka", ["--version"], archive=False)
    cmd[1:1] = [f"-XX:SharedArchiveFile={path}", "-Xshare:on"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        raise LabError("the JVM refused the archive it wrote", log_tail=(res.stdout + res.stderr)[-800:])


if __name__ == "__main__":  # `python -m labkit.cluster.cds` builds it by hand
    ensure()
