"""labkit.observe.inspector against Kafka's own tools: the DataFrames say what kafka-topics and
kafka-consumer-groups say about the same live state."""
import os
import subprocess
import time

import pytest

from labkit import LabError

TOPIC = "inspect-describe"


def tool(lab, name, *args):
    """Run one of Kafka's CLI shims against the lab cluster and return its stdout."""
    res = subprocess.run([name, "--bootstrap-server", lab.bootstrap_servers, *args],
                         capture_output=True, text=True, timeout=120, env=os.environ)
    assert res.returncode == 0, res.stderr
    return res.stdout


def table(text, first):
    """Rows of a whitespace table whose header starts with ``first``, as dicts."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    head = next(i for i, ln in enumerate(lines) if ln.startswith(first))
    cols = lines[head].replace("COORDINATOR (ID)", "COORDINATOR").split()
    rows = []
    for ln in lines[head + 1:]:
        cells = ln.replace("  (", "_(").split()
        rows.append(dict(zip(cols, cells)))
    return rows


def produce(lab, topic, counts):
    p = lab.producer()
    for part, n in enumerate(counts):
        for i in range(n):
            p.produce(topic, f"{part}-{i}".encode(), partition=part)
    assert p.flush(30) == 0


@pytest.fixture(scope="module")
def topic(lab):
    lab.fresh_topic(TOPIC, partitions=4, replication_factor=3)
    produce(lab, TOPIC, [5, 10, 0, 20])
    return TOPIC


def consume_and_commit(lab, group, topic, commits, client_id):
    """Join ``group``, commit the given offsets per partition, return the open consumer."""
    from confluent_kafka import TopicPartition
    c = lab.consumer(group, client_id=client_id, auto_offset_reset="earliest",
                     enable_auto_commit=False)
    c.subscribe([topic])
    end = time.monotonic() + 60
    while not c.assignment() and time.monotonic() < end:
        c.poll(0.5)
    assert c.assignment(), "the consumer never got partitions"
    c.commit(offsets=[TopicPartition(topic, p, o) for p, o in commits.items()], asynchronous=False)
    return c


def test_partitions_agree_with_kafka_topics(lab, topic):
    df = lab.partitions(topic).set_index("partition")
    out = tool(lab, "kafka-topics", "--describe", "--topic", topic)
    lines = [ln for ln in out.splitlines() if "Partition:" in ln and "Leader:" in ln]
    assert len(lines) == 4 == len(df)
    for ln in lines:
        f = dict(part.split(": ", 1) if ": " in part else (part.rstrip(":"), "")
                 for part in ln.strip().split("\t"))
        row = df.loc[int(f["Partition"])]
        assert row["leader"] == int(f["Leader"])
        assert row["replicas"] == [int(x) for x in f["Replicas"].split(",")]
        assert row["isr"] == [int(x) for x in f["Isr"].split(",")]
        assert not row["under_replicated"] and not row["offline"]
    ends = dict(ln.rsplit(":", 2)[1:] for ln in tool(lab, "kafka-get-offsets", "--topic", topic).split())
    assert {int(p): int(o) for p, o in ends.items()} == df["high"].astype(int).to_dict()
    assert df["high"].tolist() == [5, 10, 0, 20] and df["low"].tolist() == [0, 0, 0, 0]


def test_lag_and_groups_agree_with_kafka_consumer_groups(lab, topic):
    group = "inspect-readers"
    c = consume_and_commit(lab, group, topic, {0: 5, 1: 4, 3: 7}, client_id="reader-a")
    try:
        lag = lab.lag(group).set_index("partition")
        groups = lab.groups().set_index("group")
        described = table(tool(lab, "kafka-consumer-groups", "--describe", "--group", group), "GROUP")
        state = table(tool(lab, "kafka-consumer-groups", "--describe", "--group", group, "--state"), "GROUP")
    finally:
        c.close()
    assert {int(r["PARTITION"]) for r in described} == set(lag.index) == {0, 1, 2, 3}
    for r in described:
        row = lag.loc[int(r["PARTITION"])]
        assert row["end"] == int(r["LOG-END-OFFSET"])
        assert row["member"] == r["CLIENT-ID"] == "reader-a"
        if r["CURRENT-OFFSET"] == "-":  # no commit: Kafka shows no lag; the lab counts from low
            assert row["committed"] is None or str(row["committed"]) == "<NA>"
            assert row["lag"] == row["end"] - row["low"]
        else:
            assert row["committed"] == int(r["CURRENT-OFFSET"])
            assert row["lag"] == int(r["LAG"]) == row["end"] - row["committed"]
    assert lag.loc[[0, 1, 3], "lag"].tolist() == [0, 6, 13] and lag.loc[2, "lag"] == 0
    (s,) = state
    g = groups.loc[group]
    assert g["state"] == s["STATE"] == "Stable"
    assert g["members"] == int(s["#MEMBERS"]) == 1
    assert g["assignor"] == s["ASSIGNMENT-STRATEGY"]
    assert s["COORDINATOR"].endswith(f"({g['coordinator']})")


def test_brokers_counts_agree_with_partitions(lab, topic):
    b = lab.brokers().set_index("id")
    assert b["alive"].all() and b["registered"].all()
    assert b.loc[lab.controller, "is_controller"] and b["is_controller"].sum() == 1
    assert ",".join(b["host:port"]) == lab.bootstrap_servers
    md = lab.admin().list_topics(timeout=10)
    leaders = {n: 0 for n in b.index}
    for t in md.topics.values():
        for p in t.partitions.values():
            leaders[p.leader] += 1
    assert b["leaders"].to_dict() == leaders
    assert b["partitions"].sum() == sum(len(p.replicas) for t in md.topics.values()
                                        for p in t.partitions.values())


def test_bad_names_give_lab_errors_with_hints(lab):
    with pytest.raises(LabError) as exc:
        lab.partitions("no-such-topic-here")
    assert exc.value.hint
    # looking must not create it (a metadata request naming a topic can auto-create it)
    assert "no-such-topic-here" not in lab.admin().list_topics(timeout=10).topics
    with pytest.raises(LabError) as exc:
        lab.lag("no-such-group-here")
    assert "lab.groups()" in exc.value.hint


@pytest.mark.slow
def test_killed_broker_shows_dead_and_loses_leaderships(healthy_lab, topic):
    lab = healthy_lab
    victim = int(lab.partitions(topic)["leader"].iloc[0])
    lab.kill(victim)
    t0 = time.monotonic()
    b = lab.brokers().set_index("id")
    assert not b.loc[victim, "alive"] and b.loc[victim, "state"] == "stopped"
    while time.monotonic() - t0 < 30:
        parts = lab.partitions(topic)
        if victim not in set(parts["leader"]) and not parts["offline"].any():
            break
        time.sleep(0.2)
    moved = time.monotonic() - t0
    assert victim not in set(parts["leader"]), "the dead broker still leads partitions after 30 s"
    assert moved < 15, f"leaderships took {moved:.1f} s to move"
    assert all(victim not in isr for isr in parts["isr"])
    assert parts["under_replicated"].all()
    assert lab.brokers().set_index("id").loc[victim, "leaders"] == 0


def test_lag_lists_only_partitions_committed_or_owned(lab, topic):
    """An empty group that committed one partition: lab.lag and the tool both show that one row,
    although the topic's other partitions hold unread records (notebook 04 says so)."""
    from confluent_kafka import TopicPartition
    group = f"inspect-one-commit-{time.time_ns()}"
    c = lab.consumer(group, enable_auto_commit=False)
    c.commit(offsets=[TopicPartition(topic, 1, 4)], asynchronous=False)  # no subscribe: no member
    c.close()
    lag = lab.lag(group)
    described = table(tool(lab, "kafka-consumer-groups", "--describe", "--group", group), "GROUP")
    assert lag["partition"].tolist() == [int(r["PARTITION"]) for r in described] == [1]
    assert lag["lag"].tolist() == [int(described[0]["LAG"])] == [6]


def test_groups_show_each_groups_protocol(lab, topic):
    """lab.groups()["type"] tells a classic group from a KIP-848 consumer group (notebook 05)."""
    from confluent_kafka import Consumer
    suffix = time.time_ns()
    classic = lab.consumer(f"inspect-classic-{suffix}")
    # built directly: the lab's consumer sets session.timeout.ms, which group.protocol=consumer refuses
    modern = Consumer({"bootstrap.servers": lab.bootstrap_servers, "group.id": f"inspect-kip848-{suffix}",
                       "group.protocol": "consumer"})
    try:
        for c in (classic, modern):
            c.subscribe([topic])
        end = time.monotonic() + 60
        while not (classic.assignment() and modern.assignment()) and time.monotonic() < end:
            classic.poll(0.2)
            modern.poll(0.2)
        types = lab.groups().set_index("group")["type"]
    finally:
        classic.close()
        modern.close()
    assert types[f"inspect-classic-{suffix}"] == "classic"
    assert types[f"inspect-kip848-{suffix}"] == "consumer"


def test_overview_gives_the_three_tables_the_dashboard_asked_for_one_by_one(lab, topic, commit_offsets):
    """The dashboard's one-round-trip refresh (notebook 06) shows what brokers(), partitions() and
    lag_many() show, including lag on a topic other than the one it watches."""
    from confluent_kafka import TopicPartition
    other = f"inspect-overview-other-{time.time_ns()}"
    lab.fresh_topic(other, partitions=2, replication_factor=3)
    produce(lab, other, [3, 7])
    groups = [f"inspect-overview-{n}-{time.time_ns()}" for n in range(2)]
    commit_offsets(groups[0], [TopicPartition(topic, p, 1) for p in range(4)])
    commit_offsets(groups[1], [TopicPartition(topic, 3, 2), TopicPartition(other, 1, 5)])
    brokers, parts, lag = lab.inspector.overview(topic, groups)
    assert brokers.equals(lab.brokers()) and parts.equals(lab.partitions(topic))
    assert lag.equals(lab.inspector.lag_many(groups))
    assert parts["high"].tolist() == [5, 10, 0, 20]
    mine = lag.set_index(["group", "topic", "partition"])["lag"]
    assert mine[(groups[1], other, 1)] == 2 and mine[(groups[1], topic, 3)] == 18
    assert len(lag) == 6 and lab.inspector.overview(topic, [])[2].empty
    with pytest.raises(LabError, match="no topic"):
        lab.inspector.overview("no-such-topic-here", groups)
