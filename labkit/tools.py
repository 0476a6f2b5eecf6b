"""Kafka's own command-line tools, run from the pinned jars (notebook 00 onwards).

``pip install`` puts each tool on PATH twice, as ``kafka-topics`` and ``kafka-topics.sh``, so
the commands of any tutorial work as written. Each shim replaces itself with ``java`` running
the real tool class; nothing here re-implements a tool.
"""
from __future__ import annotations

import os
import sys

from . import config
from .cluster import fetch
from .errors import LabError

TOOLS = {
    "kafka-topics": "org.apache.kafka.tools.TopicCommand",
    "kafka-console-producer": "org.apache.kafka.tools.ConsoleProducer",
    "kafka-console-consumer": "org.apache.kafka.tools.consumer.ConsoleConsumer",
    "kafka-consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "kafka-configs": "org.apache.kafka.tools.ConfigCommand",
    "kafka-producer-perf-test": "org.apache.kafka.tools.ProducerPerformance",
    "kafka-consumer-perf-test": "org.apache.kafka.tools.ConsumerPerformance",
    "kafka-leader-election": "org.apache.kafka.tools.LeaderElectionCommand",
    "kafka-metadata-quorum": "org.apache.kafka.tools.MetadataQuorumCommand",
    "kafka-log-dirs": "org.apache.kafka.tools.LogDirsCommand",
    "kafka-dump-log": "org.apache.kafka.tools.DumpLogSegments",
    "kafka-reassign-partitions": "org.apache.kafka.tools.reassign.ReassignPartitionsCommand",
    "kafka-get-offsets": "org.apache.kafka.tools.GetOffsetShell",
    "kafka-storage": "kafka.tools.StorageTool",
    "kafka-server-start": "kafka.Kafka",
    # Kafka 4's share groups (KIP-932, notebook 05) and the feature levels that switch them on.
    "kafka-share-groups": "org.apache.kafka.tools.consumer.group.ShareGroupCommand",
    "kafka-console-share-consumer": "org.apache.kafka.tools.consumer.ConsoleShareConsumer",
    "kafka-features": "org.apache.kafka.tools.FeatureCommand",
    # open, committed and hanging transactions (KIP-664, notebook 08)
    "kafka-transactions": "org.apache.kafka.tools.TransactionsCommand",
    # ACLs on the secured lab (notebook 12)
    "kafka-acls": "org.apache.kafka.tools.AclCommand",
}
# Throughput tools need the optimising compiler; the rest start faster without it.
FULL_SPEED = {"kafka-producer-perf-test", "kafka-consumer-perf-test", "kafka-server-start"}
# Tools that read files or run a broker: no cluster to log in to.
OFFLINE = {"kafka-storage", "kafka-server-start", "kafka-dump-log"}


def command(tool: str, args: list[str]) -> list[str]:
    """The java command line for ``tool`` (with or without ``.sh``) and its arguments."""
    name = tool.removesuffix(".sh")
    if name not in TOOLS:
        raise LabError(f"{tool} is not one of the lab's Kafka tools.",
                       hint="available: " + ", ".join(sorted(TOOLS)))
    heap = config.BROKER_HEAP if name == "kafka-server-start" else config.TOOL_HEAP
    return fetch.java_command(TOOLS[name], args, heap=heap, quick=name not in FULL_SPEED)


def _error_stream():
    """stderr, or stdout when stderr goes to /dev/null (notebook cells end in ``2>/dev/null`` to
    hide the JVM's log lines; a refused login must still be seen)."""
    try:
        err, null = os.fstat(sys.stderr.fileno()), os.stat(os.devnull)
        if (err.st_dev, err.st_ino) == (null.st_dev, null.st_ino):
            return sys.stdout
    except (OSError, ValueError, AttributeError):
        pass
    return sys.stderr


def main() -> None:
    """Entry point of every shim: the tool is the name it was called by. On the external backend
    or the secured lab the tool gets the login as ``--command-config`` (toollogin.py, notebook 12)."""
    tool = os.path.basename(sys.argv[0])
    try:
        args = sys.argv[1:]
        if tool.removesuffix(".sh") in TOOLS and tool.removesuffix(".sh") not in OFFLINE:
            from .toollogin import add_login
            args = add_login(tool, args)
        cmd = command(tool, args)
    except LabError as exc:
        print(f"error: {exc}", file=_error_stream())
        sys.exit(2)
    os.execv(cmd[0], cmd)


def entry_points() -> str:
    """The [project.scripts] lines for pyproject.toml (kept in sync by a test)."""
    return "\n".join(f'"{name}{ext}" = "labkit.tools:main"' for name in TOOLS for ext in ("", ".sh"))
