"""labkit.chaos (workload, checker, faults): acknowledged writes survive every fault mode on the live cluster.

Each safe trial writes at least 2,000 acknowledged records (acks=all, idempotence, RF=3,
min.insync.replicas=2) while a leader is killed, stopped, paused or bounced, and must lose none.
The unsafe control must be able to lose some: a checker that cannot fail proves nothing.
Wall time and the time to the next acknowledgement are printed for the report (pytest -s).
"""
import subprocess
import sys
import time

import pytest

from labkit.chaos import faults

from labkit import chaos as failover
from labkit.errors import LabError

RECORDS = 2000


def _report(trial):
    print(f"\n{trial.fault}: acked={trial.acked} lost={trial.lost} duplicates={trial.duplicates} "
          f"reordered={trial.reordered} time-to-next-ack={trial.time_to_ack} wall={trial.wall_s}s")


@pytest.mark.slow
@pytest.mark.parametrize("fault", faults.FAULTS)
def test_no_acknowledged_write_is_lost(healthy_lab, fault):
    trial = failover.run_trial(healthy_lab, fault, RECORDS)
    _report(trial)
    assert trial.acked >= RECORDS
    assert trial.lost == 0, f"acknowledged but lost, e.g. {trial.lost_sample}"
    assert trial.duplicates == 0  # idempotence: retries after the failover write nothing twice
    assert trial.reordered == 0
    assert trial.failed == 0
    # the books close: every record sent was acknowledged, none left unresolved by flush()
    assert trial.sent == trial.acked and trial.unresolved == 0 and trial.flush_left == 0
    assert trial.books_closed
    assert trial.misplaced == 0  # every ack found at its own (partition, offset)
    assert trial.hw_short == 0  # each high watermark above the highest acknowledged offset
    assert trial.read >= trial.acked
    # the fault hit live traffic: a victim, and acknowledgements again after each fault
    assert trial.victims and len(trial.time_to_ack) == len(trial.victims)
    assert all(0 <= t < 60 for t in trial.time_to_ack)
    if fault == "bounce":
        assert len(trial.victims) >= 2  # repeatedly


@pytest.mark.slow
@pytest.mark.parametrize("fault", faults.FAULTS)
def test_unsafe_control_loses_under_the_same_fault(healthy_lab, fault):
    """Each fault's negative control: acks=1, RF=2, min ISR 1, unclean election, the leader
    isolated and then struck by the same fault. It must lose acknowledged records, one trial."""
    trial = failover.run_trial(healthy_lab, fault, RECORDS, unsafe=True)
    _report(trial)
    assert trial.fault == f"unsafe-{fault}"
    assert trial.acked >= RECORDS and trial.books_closed
    assert trial.lost > 0, f"acks=1 + unclean election under {fault} lost nothing"
    assert trial.lost_sample and all(isinstance(s, int) for s in trial.lost_sample)
    assert len(trial.victims) >= 2  # the paused follower, then the struck leader


def test_checker_counts_each_kind_of_failure():
    acked = {0: (0, 0, 0.0), 1: (1, 0, 0.0), 2: (0, 1, 0.0), 3: (1, 1, 0.0)}
    clean = [(0, 0, 0), (1, 0, 1), (0, 1, 2), (1, 1, 3)]
    assert failover.check(acked, clean, {0: 2, 1: 2}) == {
        "read": 4, "lost": 0, "misplaced": 0, "duplicates": 0, "reordered": 0, "hw_short": 0,
        "unacked_present": 0, "lost_sample": []}
    broken = [(0, 0, 2), (0, 1, 0), (0, 2, 0), (1, 0, 1), (1, 1, 9)]  # 3 lost, 0 twice, 2 before 0
    result = failover.check(acked, broken, {0: 3, 1: 2})
    assert (result["lost"], result["duplicates"], result["reordered"], result["unacked_present"]) \
        == (1, 1, 1, 1)
    assert result["lost_sample"] == [3]
    # 0 was acknowledged at (0, 0) but sits at (0, 1) and (0, 2); 2 was acked at (0, 1), found at (0, 0)
    assert result["misplaced"] == 2


def test_checker_takes_an_ack_without_its_offset():
    """Seen on compose (bounce): an idempotent retry acknowledged with no offset is neither
    misplaced nor a crash, and still counts as lost when it cannot be read back."""
    result = failover.check({1: (0, None, 0.0), 2: (0, 1, 0.0), 3: (1, None, 0.0)},
                            [(0, 0, 1), (0, 1, 2)], {0: 2, 1: 0})
    assert (result["lost"], result["misplaced"], result["hw_short"]) == (1, 0, 0)


def test_checker_counts_a_reread_offset_once_and_a_short_high_watermark():
    acked = {0: (0, 0, 0.0), 1: (0, 1, 0.0)}
    reread = [(0, 0, 0), (0, 1, 1), (0, 1, 1), (0, 0, 0)]  # the consumer saw offsets twice
    result = failover.check(acked, reread, {0: 2})
    assert (result["read"], result["duplicates"], result["reordered"], result["lost"]) == (2, 0, 0, 0)
    assert failover.check(acked, reread, {0: 1})["hw_short"] == 1  # HW 1 cannot cover offset 1


def test_unsafe_cli_fails_when_the_control_lost_nothing(monkeypatch, capsys):
    """`labkit chaos --unsafe` exists to show loss: no loss is a failed control (exit 1)."""
    import pandas as pd
    from labkit import cli

    def trials(lost):
        return lambda *a, **k: pd.DataFrame([{"trial": 1, "acked": 2000, "lost": lost, "duplicates": 0,
                                              "reordered": 0}]).set_index("trial")
    monkeypatch.setattr(failover, "run_trials", trials(0))
    assert cli.main(["chaos", "--unsafe"]) == 1
    assert "lost nothing" in capsys.readouterr().err
    monkeypatch.setattr(failover, "run_trials", trials(17))
    assert cli.main(["chaos", "--unsafe"]) == 0


def test_a_schedule_outliving_its_trial_is_stopped_before_the_next(monkeypatch):
    import dataclasses
    import threading
    from labkit import config
    from labkit.chaos import workload

    class Stuck(threading.Thread):  # a schedule still inside a broker action
        def __init__(self):
            super().__init__(daemon=True)
            self.stop_requested, self.release = threading.Event(), threading.Event()

        def run(self):
            self.release.wait(60)
    stuck = Stuck()
    stuck.start()
    monkeypatch.setattr(workload, "_previous", stuck)
    monkeypatch.setattr(config, "TIMEOUTS", dataclasses.replace(config.TIMEOUTS, start_broker=0.5,
                                                                 stop_broker=0.5))
    with pytest.raises(LabError) as err:
        failover.run_trial(None, "kill", 10)
    assert "still acting" in err.value.message and stuck.stop_requested.is_set()
    stuck.release.set()
    stuck.join(5)


@pytest.mark.slow
def test_chaos_topic_is_deleted_even_when_read_back_fails(healthy_lab, monkeypatch):
    from labkit.chaos import workload

    def broken(*args, **kwargs):
        raise LabError("read-back broke", hint="a test")
    monkeypatch.setattr(workload, "read_back", broken)
    before = set(healthy_lab.admin().list_topics(timeout=10).topics)
    with pytest.raises(LabError, match="read-back broke"):
        failover.run_trial(healthy_lab, "kill", 300, rounds=1)
    left = {t for t in healthy_lab.admin().list_topics(timeout=10).topics if t.startswith("labkit-chaos-")}
    assert left <= before, f"chaos topics left behind: {left - before}"
    assert all(r["state"] == "running" for r in healthy_lab.cluster.status())


@pytest.mark.slow
def test_a_raising_flush_still_heals(healthy_lab, monkeypatch):
    """error_cb raises from inside flush() (ClusterDown): the trial still heals the cluster."""
    from labkit import clients
    from labkit.chaos import workload
    from labkit.errors import ClusterDown
    real = clients.producer

    class Raising:
        def __init__(self, prod):
            self.prod = prod

        def __getattr__(self, name):
            return getattr(self.prod, name)

        def flush(self, *args):
            raise ClusterDown("all brokers down (raised from error_cb)", hint="a test")
    monkeypatch.setattr(workload.clients, "producer", lambda *a, **k: Raising(real(*a, **k)))
    with pytest.raises(ClusterDown):
        failover.run_trial(healthy_lab, "stop", 300)
    assert all(r["state"] == "running" for r in healthy_lab.cluster.status()), "heal was skipped"


def test_summary_line_has_the_documented_form():
    import pandas as pd

    df = pd.DataFrame([{"acked": 10, "lost": 0, "duplicates": 1, "reordered": 0},
                       {"acked": 5, "lost": 2, "duplicates": 0, "reordered": 3}])
    assert failover.summary(df) == "trials=2 acked=15 lost=2 duplicates=1 reordered=3"


@pytest.mark.timeout(30, func_only=True)
@pytest.mark.parametrize("args, needle", [(["--fault", "explode"], "invalid choice"),
                                          (["--trials", "0"], "at least 1 trial"),
                                          (["--records", "0"], "at least 1 record")])
def test_chaos_cli_rejects_bad_arguments(lab, args, needle):
    t0 = time.monotonic()
    res = subprocess.run([sys.executable, "-m", "labkit.cli", "chaos", *args],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 2
    assert needle in res.stderr
    assert "Traceback" not in res.stderr
    assert time.monotonic() - t0 < 30


@pytest.mark.slow
def test_chaos_cli_prints_table_and_one_summary_line(healthy_lab):
    res = subprocess.run([sys.executable, "-m", "labkit.cli", "chaos", "--fault", "pause",
                          "--trials", "1", "--records", str(RECORDS)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert lines[0].split()[:3] == ["trial", "fault", "acked"]
    assert lines[1].split()[:2] == ["1", "pause"]
    summary = [line for line in lines if line.startswith("trials=")]
    assert summary == [lines[-1]]
    fields = dict(kv.split("=") for kv in lines[-1].split())
    assert list(fields) == ["trials", "acked", "lost", "duplicates", "reordered"]
    header = lines[0].split()
    row = dict(zip(header, lines[1].split()))
    assert row["sent"] == row["acked"] and row["unresolved"] == "0" and row["misplaced"] == "0"
    assert fields["trials"] == "1" and int(fields["acked"]) >= RECORDS and fields["lost"] == "0"


def test_unknown_fault_is_a_lab_error(lab):
    with pytest.raises(LabError) as info:
        failover.run_trial(lab, "meteor", 10)
    assert "kill" in info.value.hint
