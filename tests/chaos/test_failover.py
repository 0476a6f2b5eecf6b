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
    assert trial.read >= trial.acked
    # the fault hit live traffic: a victim, and acknowledgements again after each fault
    assert trial.victims and len(trial.time_to_ack) == len(trial.victims)
    assert all(0 <= t < 60 for t in trial.time_to_ack)
    if fault == "bounce":
        assert len(trial.victims) >= 2  # repeatedly


@pytest.mark.slow
def test_unsafe_control_can_lose_acknowledged_writes(healthy_lab):
    trial = failover.run_trial(healthy_lab, "kill", RECORDS, unsafe=True)
    _report(trial)
    assert trial.acked >= RECORDS
    assert trial.lost > 0, "acks=1 + unclean election after isolating the follower lost nothing"
    assert trial.lost_sample and all(isinstance(s, int) for s in trial.lost_sample)


def test_checker_counts_each_kind_of_failure():
    acked = {0: (0, 0, 0.0), 1: (1, 0, 0.0), 2: (0, 1, 0.0), 3: (1, 1, 0.0)}
    clean = [(0, 0, 0), (1, 0, 1), (0, 1, 2), (1, 1, 3)]
    assert failover.check(acked, clean) == {"read": 4, "lost": 0, "duplicates": 0, "reordered": 0,
                                            "unacked_present": 0, "lost_sample": []}
    broken = [(0, 0, 2), (0, 1, 0), (0, 2, 0), (1, 0, 1), (1, 1, 9)]  # 3 lost, 0 twice, 2 before 0
    result = failover.check(acked, broken)
    assert (result["lost"], result["duplicates"], result["reordered"], result["unacked_present"]) \
        == (1, 1, 1, 1)
    assert result["lost_sample"] == [3]


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
    assert fields["trials"] == "1" and int(fields["acked"]) >= RECORDS and fields["lost"] == "0"


def test_unknown_fault_is_a_lab_error(lab):
    with pytest.raises(LabError) as info:
        failover.run_trial(lab, "meteor", 10)
    assert "kill" in info.value.hint
