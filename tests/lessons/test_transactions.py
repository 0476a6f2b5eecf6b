"""Notebook 08's exercise check against the live cluster: r1-r3 committed and void-1, void-2
aborted passes; each typical wrong answer fails with a verdict that names the mistake."""
import subprocess
import uuid

from labkit import lessons as exercises
from helpers import produce, verdict


def _topic(lab, name):
    return lab.fresh_topic(f"ex-txn-{name}-{uuid.uuid4().hex[:6]}", partitions=1, replication_factor=3)


def _transaction(producer, topic, values, commit=True):
    producer.begin_transaction()
    for v in values:
        producer.produce(topic, v.encode())
    producer.flush(10)  # abort_transaction() would purge records still queued in the client
    (producer.commit_transaction if commit else producer.abort_transaction)(30)


def _txn_producer(lab, topic):
    p = lab.producer(transactional_id=f"{topic}-till")
    p.init_transactions(30)
    return p


def test_right_answer(lab, capsys):
    topic = _topic(lab, "right")
    p = _txn_producer(lab, topic)
    _transaction(p, topic, ["r1", "r2", "r3"])
    _transaction(p, topic, ["void-1", "void-2"], commit=False)
    assert exercises.check_commit_and_abort(lab, topic) is True
    assert verdict(capsys).startswith("✔ correct")
    assert exercises.stable_and_high(lab, topic) == {0: (7, 7)}  # 5 records and 2 markers


def test_empty_topic_as_shipped(lab, capsys):
    topic = _topic(lab, "empty")
    assert exercises.check_commit_and_abort(lab, topic) is False
    assert "is empty" in verdict(capsys)


def _receipts_then_voids_begun(lab, topic):
    """r1-r3 committed, then void-1/2 produced in a transaction left open (not yet flushed)."""
    p = _txn_producer(lab, topic)
    _transaction(p, topic, ["r1", "r2", "r3"])
    p.begin_transaction()
    for v in ("void-1", "void-2"):
        p.produce(topic, v.encode())
    return p


def test_without_transactions(lab, capsys):
    topic = _topic(lab, "plain")
    produce(lab, topic, [(None, v) for v in ("r1", "r2", "r3", "void-1", "void-2")])
    assert exercises.check_commit_and_abort(lab, topic) is False
    assert "read_committed readers see ['void-1', 'void-2']" in verdict(capsys)


def test_transaction_left_open(lab, capsys):
    topic = _topic(lab, "open")
    p = _receipts_then_voids_begun(lab, topic)
    p.flush(10)  # written, neither committed nor aborted
    assert exercises.check_commit_and_abort(lab, topic) is False
    line = verdict(capsys)
    assert "still open" in line and "last stable offset is 4 and the high watermark 6" in line
    # the CLI notebook 08 shows says the same: the transaction is Ongoing on this partition
    res = subprocess.run(["kafka-transactions.sh", "--bootstrap-server", lab.bootstrap_servers,
                          "describe", "--transactional-id", f"{topic}-till"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "Ongoing" in res.stdout and f"{topic}-0" in res.stdout
    p.abort_transaction(30)  # leaves nothing hanging for transaction.timeout.ms


def test_receipts_written_plainly_void_aborted(lab, capsys):
    topic = _topic(lab, "half")
    produce(lab, topic, [(None, v) for v in ("r1", "r2", "r3")])
    _transaction(_txn_producer(lab, topic), topic, ["void-1", "void-2"], commit=False)
    assert exercises.check_commit_and_abort(lab, topic) is False
    assert "written without a transaction" in verdict(capsys)


def test_aborted_before_anything_was_sent(lab, capsys):
    topic = _topic(lab, "purged")
    p = _receipts_then_voids_begun(lab, topic)
    p.abort_transaction(30)  # no flush: librdkafka purges both before they are sent
    assert exercises.check_commit_and_abort(lab, topic) is False
    assert "call producer.flush() before aborting" in verdict(capsys)


def test_everything_aborted_or_committed_twice(lab, capsys):
    topic = _topic(lab, "aborted")
    p = _txn_producer(lab, topic)
    _transaction(p, topic, ["r1", "r2", "r3", "void-1", "void-2"], commit=False)
    assert exercises.check_commit_and_abort(lab, topic) is False
    assert "read_committed readers see [], not ['r1', 'r2', 'r3']" in verdict(capsys)
    _transaction(p, topic, ["r1", "r2", "r3"])
    _transaction(p, topic, ["r1"])
    assert exercises.check_commit_and_abort(lab, topic) is False
    assert "each once" in verdict(capsys)


def test_missing_topic(lab, capsys):
    assert exercises.check_commit_and_abort(lab, "ex-txn-no-such-topic") is False
    assert "there is no topic 'ex-txn-no-such-topic'" in verdict(capsys)
