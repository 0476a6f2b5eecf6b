"""The lab's broker settings: each one beside Kafka's default and the reason it differs.

A lab cluster should fail over fast enough to watch and keep acknowledged writes safe, on a
laptop. ``server_properties`` renders one node's ``server.properties``; docs/cluster.md's settings
table is generated from ``LAB_SETTINGS`` (``python -m labkit.cluster.settings``), so the two never drift.
Notebook 01 reads the live values back from the brokers.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import config


@dataclass(frozen=True)
class Setting:
    name: str
    lab: str
    kafka_default: str
    why: str


LAB_SETTINGS = (
    Setting("broker.session.timeout.ms", "4000", "9000",
            "a silent broker (killed or paused) is fenced, leaves every ISR, and its partitions get new leaders, in about 4 s (notebook 06)"),
    Setting("broker.heartbeat.interval.ms", "1000", "2000",
            "must stay well under the session timeout"),
    Setting("controller.quorum.election.timeout.ms", "500", "1000",
            "a new cluster's controllers wait 0.5-1 s instead of 1-2 s before their first election: a cold start about a second sooner"),
    Setting("replica.lag.time.max.ms", "5000", "30000",
            "a follower that stays behind the leader's end for 5 s while records arrive is out of sync; a returning one rejoins within seconds of catching up (notebook 06)"),
    Setting("min.insync.replicas", "2", "1",
            "acks=all then needs two copies: one broker may fail without losing acknowledged writes"),
    Setting("unclean.leader.election.enable", "false", "false",
            "kept explicit: true can elect a replica that misses acknowledged records"),
    Setting("default.replication.factor", "3", "1",
            "auto-created topics survive a broker failure like the lab's own topics"),
    Setting("offsets.topic.replication.factor", "3", "3",
            "kept explicit: with 1, one dead broker breaks every consumer group (a classic trap)"),
    Setting("offsets.topic.num.partitions", "10", "50",
            "fewer files and a faster first group join on a laptop"),
    Setting("transaction.state.log.replication.factor", "3", "3", "kept explicit, as above"),
    Setting("transaction.state.log.min.isr", "2", "2", "kept explicit, as above"),
    Setting("transaction.state.log.num.partitions", "10", "50", "fewer files on a laptop"),
    Setting("group.initial.rebalance.delay.ms", "0", "3000",
            "the first consumer of a group starts at once instead of after 3 s"),
    Setting("group.consumer.heartbeat.interval.ms", "1000", "5000",
            "a KIP-848 member hears of partitions to give up or take within a second: notebook 05's rebalances take seconds, not tens of seconds"),
    Setting("group.consumer.min.heartbeat.interval.ms", "1000", "5000",
            "the lowest interval the broker allows (a group may choose 1-15 s)"),
    Setting("group.share.heartbeat.interval.ms", "1000", "5000",
            "share-group members (KIP-932, notebook 05) get their partitions within a second"),
    Setting("group.share.min.heartbeat.interval.ms", "1000", "5000", "as above, the lowest allowed"),
    Setting("log.cleaner.backoff.ms", "1000", "15000",
            "the compaction cleaner looks for work every second: notebook 07 sees compaction within seconds"),
    Setting("log.cleaner.dedupe.buffer.size", "16777216", "134217728",
            "the compaction buffer lives on the heap; 128 MiB does not fit a 256 MiB broker"),
    Setting("log.retention.check.interval.ms", "2000", "300000",
            "retention deletes old segments within seconds in notebook 07, not minutes"),
)


def lab_values() -> dict[str, str]:
    return {s.name: s.lab for s in LAB_SETTINGS}


def server_properties(node: int, node_dir: Path, base: int, secure: dict | None = None) -> str:
    """The ``server.properties`` of one combined broker+controller node, bound to 127.0.0.1.

    ``secure`` (the secured lab's secrets, notebook 12) swaps the listeners for SASL ones.
    """
    voters = ",".join(f"{n}@{config.HOST}:{config.controller_port(n, base)}" for n in config.NODES)
    structural = {
        "process.roles": "broker,controller",
        "node.id": str(node),
        "listeners": f"PLAINTEXT://{config.HOST}:{config.client_port(node, base)},"
                     f"CONTROLLER://{config.HOST}:{config.controller_port(node, base)}",
        # Advertise the address clients can reach; 127.0.0.1 avoids a detour through ::1.
        "advertised.listeners": f"PLAINTEXT://{config.HOST}:{config.client_port(node, base)}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.quorum.voters": voters,
        "log.dirs": str(node_dir / "data"),
    }
    if secure is not None:
        from .secure import broker_properties
        structural = broker_properties(node, node_dir, base, secure)
    lines = [f"# Written by labkit for node {node}; edits are overwritten at the next start.",
             "# The lab settings and why: labkit/cluster/settings.py and docs/cluster.md."]
    lines += [f"{key}={value}" for key, value in {**structural, **lab_values()}.items()]
    return "\n".join(lines) + "\n"


def markdown_table() -> str:
    rows = ["| setting | lab | Kafka default | why |", "|---|---|---|---|"]
    rows += [f"| `{s.name}` | {s.lab} | {s.kafka_default} | {s.why} |" for s in LAB_SETTINGS]
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
