"""Every picture renders to a PNG under tests/output/, and what it drew is checked against the
cluster (fig.data), not its pixels."""
import time

import pytest
from confluent_kafka import TopicPartition

from labkit.observe import burrow

TOPIC = "plots-demo"


@pytest.fixture(scope="module")
def topic(filled_topic):
    return filled_topic(TOPIC, partitions=6, records=120)


@pytest.fixture(scope="module")
def group(lab, topic):
    """A group that committed partitions 0-2 (to 20, 10, 5) and is still a member."""
    c = lab.consumer("plots-readers", client_id="plot-reader", auto_offset_reset="earliest",
                     enable_auto_commit=False)
    c.subscribe([topic])
    end = time.monotonic() + 60
    while not c.assignment() and time.monotonic() < end:
        c.poll(0.5)
    assert c.assignment()
    c.commit(offsets=[TopicPartition(topic, 0, 20), TopicPartition(topic, 1, 10),
                      TopicPartition(topic, 2, 5)], asynchronous=False)
    yield "plots-readers"
    c.close()


def test_partition_grid(lab, topic, out_dir):
    fig = lab.plot_partitions(topic)
    fig.savefig(out_dir / "partitions.png")
    parts = lab.partitions(topic)
    data = fig.data
    assert len(data) == 6 * 3
    leaders = data[data["role"] == "leader"].set_index("partition")["broker"].to_dict()
    assert leaders == parts.set_index("partition")["leader"].to_dict()
    assert (data["role"] == "in-sync follower").sum() == 12
    assert data["broker_alive"].all()


def test_partition_grid_of_several_topics(lab, topic, out_dir):
    lab.fresh_topic("plots-other", partitions=2, replication_factor=2)
    fig = lab.plot_partitions([topic, "plots-other"])
    fig.savefig(out_dir / "partitions-two-topics.png")
    counts = fig.data.groupby("topic")["role"].value_counts().unstack(fill_value=0)
    assert counts.loc["plots-other", "not a replica"] == 2  # RF 2 of 3 brokers
    assert counts.loc["plots-other", "leader"] == 2 and counts.loc[topic, "leader"] == 6


def test_log_plot(lab, topic, group, out_dir):
    fig = lab.plot_log(topic, groups=[group])
    fig.savefig(out_dir / "log.png")
    data = fig.data.set_index("partition")
    assert data["high"].tolist() == [20] * 6 and data["low"].tolist() == [0] * 6
    assert data.loc[[0, 1, 2], "committed"].tolist() == [20, 10, 5]
    assert data.loc[[3, 4, 5], "committed"].isna().all()
    bare = lab.plot_log(topic).data  # no groups: just the retained ranges
    assert len(bare) == 6 and bare["committed"].isna().all()


def test_assignment_plot(lab, topic, group, out_dir):
    fig = lab.plot_assignment(group)
    fig.savefig(out_dir / "assignment.png")
    owners = fig.data.set_index("partition")["member"].to_dict()
    assert owners == {p: "plot-reader" for p in range(6)}


def test_lag_plot_from_a_sampler(lab, topic, group, out_dir):
    with lab.sample_lag(group, every=0.2) as s:
        end = time.monotonic() + 20
        while s.samples < 5 and time.monotonic() < end:
            time.sleep(0.1)
    assert not s.running and s.samples >= 5 and not s.errors
    fig = lab.plot_lag(s)
    fig.savefig(out_dir / "lag.png")
    st = fig.status.set_index("partition")
    assert st["lag"].to_dict() == {0: 0, 1: 10, 2: 15, 3: 20, 4: 20, 5: 20}
    # partition 0 caught up; the others have a live owner but never move: Burrow's STALL
    assert st.loc[0, "status"] == "OK" and set(st.loc[1:, "status"]) == {"STALL"}
    assert st.equals(burrow.evaluate(s.history).set_index("partition"))
    assert set(fig.data["status"]) == {"OK", "STALL"} and len(fig.data) == len(s.history)
    # a DataFrame works as well as the sampler itself
    assert lab.plot_lag(s.history).status.equals(fig.status)


@pytest.mark.slow
def test_grid_marks_a_killed_broker_dead_and_leaders_move(healthy_lab, topic, out_dir):
    lab = healthy_lab
    victim = int(lab.partitions(topic)["leader"].iloc[0])
    lab.kill(victim)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 30:
        fig = lab.plot_partitions(topic)
        mine = fig.data[fig.data["broker"] == victim]
        if not (mine["role"] == "leader").any() and not (fig.data["role"] == "offline").any():
            break
        time.sleep(0.2)
    fig.savefig(out_dir / "partitions-dead-broker.png")
    assert not (mine["role"] == "leader").any(), "the dead broker still leads after 30 s"
    assert time.monotonic() - t0 < 15
    assert not mine["broker_alive"].any() and fig.data[fig.data["broker"] != victim]["broker_alive"].all()
    assert (mine["role"] == "out-of-sync replica").all()
    assert (fig.data["role"] == "leader").sum() == 6
