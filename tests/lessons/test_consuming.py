"""Checks of notebooks 04-05 against the live cluster: the right answer passes, each typical
wrong answer fails with a verdict that names the mistake."""
import time

from confluent_kafka import KafkaException, TopicPartition

from labkit import lessons as exercises
from labkit.wait import wait_for
from helpers import produce, settle, verdict


def _consume_and_commit(lab, group, topic, n, how="each"):
    """Read n records of ``topic`` in ``group`` and commit them the way ``how`` says."""
    c = lab.consumer(group, auto_offset_reset="earliest", enable_auto_commit=how == "auto")
    c.subscribe([topic])
    got, deadline = 0, time.monotonic() + 30
    while got < n and time.monotonic() < deadline:
        msg = c.poll(1.0)
        if msg is None or msg.error():
            continue
        got += 1
        if how in ("each", "off-by-one"):
            offset = msg.offset() + 1 if how == "each" else msg.offset()
            c.commit(offsets=[TopicPartition(topic, msg.partition(), offset)], asynchronous=False)
        elif how == "each-async":
            c.commit(message=msg)  # asynchronous, as learners often write it: close() sends them all
    if how == "once":
        c.commit(asynchronous=False)  # one manual commit of the position, at the end
    if how == "auto":  # auto-commit's own timer (5 s, retried) stores the position while we poll;
        parts = c.assignment()  # close() alone may meet a coordinator still loading, and says nothing
        wait_for("auto-commit to store the consumer's position",
                 lambda: c.poll(0.2) is None and [tp.offset for tp in c.committed(parts, timeout=5)]
                 == [tp.offset for tp in c.position(parts)], 30, retry_on=(KafkaException,))
    c.close()  # with auto-commit on, close() commits the position
    assert got == n


def test_committed(lab, capsys):
    topic = lab.fresh_topic("ex-commit", partitions=2)
    produce(lab, topic, [(f"k{i}", str(i)) for i in range(10)])
    suffix = time.time_ns()
    for n in range(3):  # three names: three partitions of __consumer_offsets hold the commits
        _consume_and_commit(lab, f"ex-right-{n}-{suffix}", topic, 10)
        assert exercises.check_committed(lab, f"ex-right-{n}-{suffix}", topic) is True
        assert verdict(capsys).startswith("✔ correct")
    _consume_and_commit(lab, f"ex-async-{suffix}", topic, 10, how="each-async")
    assert exercises.check_committed(lab, f"ex-async-{suffix}", topic) is True
    assert verdict(capsys).startswith("✔ correct")
    _consume_and_commit(lab, f"ex-off-by-one-{suffix}", topic, 10, how="off-by-one")
    assert exercises.check_committed(lab, f"ex-off-by-one-{suffix}", topic) is False
    assert "commit offset + 1" in verdict(capsys)
    assert exercises.check_committed(lab, f"ex-never-{suffix}", topic) is False
    assert "no committed offset" in verdict(capsys)
    _consume_and_commit(lab, f"ex-partial-{suffix}", topic, 4)
    assert exercises.check_committed(lab, f"ex-partial-{suffix}", topic) is False
    assert "read and commit every record" in verdict(capsys)


def test_committed_tells_manual_commits_from_auto_commit(lab, capsys):
    """The end state of auto-commit (or one commit at the end) equals the right answer's: the
    check tells them apart by the commits the group made, read from __consumer_offsets."""
    topic = lab.fresh_topic("ex-commit-auto", partitions=2)
    produce(lab, topic, [(f"k{i}", str(i)) for i in range(10)])
    suffix = time.time_ns()
    for how in ("auto", "once"):
        group = f"ex-{how}-{suffix}"
        _consume_and_commit(lab, group, topic, 10, how=how)
        # the end state is right: every partition committed at its end (a group's offsets can
        # take a moment to read back while its coordinator settles after a start)
        [lag] = wait_for(f"{group}'s commits to read back", lambda: (lambda df: [df] if len(df) == 2 and
                         df["committed"].notna().all() else None)(lab.lag(group)), 20)
        assert lag["committed"].tolist() == lag["end"].tolist()
        assert exercises.check_committed(lab, group, topic) is False
        assert "commit(s) for" in verdict(capsys)


def test_commit_log_lists_every_commit_in_order(lab):
    topic = lab.fresh_topic("ex-commit-log", partitions=1)
    produce(lab, topic, [(None, str(i)) for i in range(5)])
    group = f"ex-log-{time.time_ns()}"
    _consume_and_commit(lab, group, topic, 5)
    assert exercises.consuming.commit_log(lab, group) == {(topic, 0): [1, 2, 3, 4, 5]}


def test_one_partition_each(lab, capsys):
    topic = lab.fresh_topic("ex-group", partitions=2)
    group = f"ex-group-{time.time_ns()}"
    consumers = []
    try:
        consumers.append(lab.consumer(group))
        consumers[0].subscribe([topic])
        settle(consumers, 2)
        assert exercises.check_one_partition_each(lab, group, topic) is False
        assert "some read several partitions" in verdict(capsys)
        consumers.append(lab.consumer(group))
        consumers[1].subscribe([topic])
        settle(consumers, 2)
        assert exercises.check_one_partition_each(lab, group, topic) is True
        assert verdict(capsys).startswith("✔ correct")
        consumers.append(lab.consumer(group))
        consumers[2].subscribe([topic])
        settle(consumers, 2)
        # the third member is in the group once the others have polled through the rebalance
        deadline, admin = time.monotonic() + 30, lab.admin()
        while time.monotonic() < deadline:
            desc = admin.describe_consumer_groups([group])[group].result(timeout=10)
            if len(desc.members) == 3:
                break
            for c in consumers:
                c.poll(0.1)
        assert exercises.check_one_partition_each(lab, group, topic) is False
        assert "sit idle" in verdict(capsys)
    finally:
        for c in consumers:
            c.close()
    assert exercises.check_one_partition_each(lab, group, topic) is False
    assert "no running consumer" in verdict(capsys)
