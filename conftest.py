"""pytest set-up shared by tests/ and notebooks/ (nbval).

The suite runs its own cluster, never a learner's lab: whatever LABKIT_STATE_DIR, LABKIT_PORT_BASE
or LABKIT_BACKEND the shell exported, the suite ASSIGNS its own (state in .lab-test/cluster, ports
from LABKIT_TEST_PORT_BASE or 19092, backend from LABKIT_TEST_BACKEND or local) and marks what
it creates as the test suite's (LABKIT_OWNER). nbval kernels inherit these variables, so
notebooks find the same cluster. The session stops its cluster at the end, and at the start stops
brokers a hard-killed earlier session left behind (the folder's marker says they are the suite's).
Sessions running at once (two targeted test files) share the cluster: each holds a shared lock on
.lab-test/.sessions, and only a session that is alone stops or wipes it.
"""
import fcntl
import os
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent
STATE_DIR = ROOT / ".lab-test" / "cluster"
OWNER = "test-suite"


def suite_env() -> dict:
    """The variables the suite runs under (tests/test_isolation.py checks them)."""
    return {"LABKIT_STATE_DIR": str(STATE_DIR),
            "LABKIT_PORT_BASE": os.environ.get("LABKIT_TEST_PORT_BASE", "19092"),
            "LABKIT_BACKEND": os.environ.get("LABKIT_TEST_BACKEND", "local"),
            "LABKIT_OWNER": OWNER}


def pytest_configure(config):
    learner = {k: os.environ[k] for k in ("LABKIT_STATE_DIR", "LABKIT_PORT_BASE", "LABKIT_BACKEND")
               if k in os.environ}
    os.environ.update(suite_env())
    os.environ.pop("LABKIT_IDLE_STOP", None)  # the suite's cluster must not stop mid-run
    os.environ.pop("LABKIT_SECURE_STATE_DIR", None)  # notebook 12's secured lab: next to the suite's folder
    if learner and learner != {k: os.environ[k] for k in learner}:
        print(f"labkit: the suite ignores your {', '.join(sorted(learner))} and runs its own cluster "
              f"in {STATE_DIR} (ports from {os.environ['LABKIT_PORT_BASE']}).")
    # Kafka's tool shims live next to the interpreter; notebooks call them with `!kafka-topics ...`.
    bindir = str(pathlib.Path(os.sys.executable).parent)
    if bindir not in os.environ["PATH"].split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ["PATH"]


def _suite_cluster():
    from labkit.cluster import storage
    from labkit.cluster.local import LocalCluster

    if STATE_DIR.exists() and storage.owner(STATE_DIR) not in (None, OWNER):
        return None  # not the suite's (cannot happen unless someone pointed a lab here): hands off
    if STATE_DIR.exists():
        storage.claim(STATE_DIR)  # a folder from before owner markers: the suite's by its path
    return LocalCluster(state_dir=STATE_DIR)


_SESSIONS: list = []  # this session's open lock file


def _alone(exclusive_then_shared: bool) -> bool:
    """True when no other test session runs in this repo (the kernel drops a killed one's lock)."""
    if not _SESSIONS:
        STATE_DIR.parent.mkdir(parents=True, exist_ok=True)
        _SESSIONS.append(open(STATE_DIR.parent / ".sessions", "a"))
    fd = _SESSIONS[0].fileno()
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        alone = True
    except BlockingIOError:
        alone = False
    if exclusive_then_shared:
        fcntl.flock(fd, fcntl.LOCK_SH)  # from now on this session counts as running
    return alone


def pytest_sessionstart(session):
    # brokers running here while no session runs were left by a killed session: the suite's
    cluster = _suite_cluster()
    if _alone(True) and cluster is not None and any(cluster.pid(n) for n in (1, 2, 3)):
        cluster.down(out=open(os.devnull, "w"))


def _stop_secured() -> None:
    """Notebook 12's secured lab (.lab-test/cluster-secure), should a failed run have left it up."""
    from labkit.cluster.local import LocalCluster

    folder = STATE_DIR.with_name(STATE_DIR.name + "-secure")
    if folder.is_dir():
        LocalCluster(state_dir=folder, secure=True).down(out=open(os.devnull, "w"))


def pytest_sessionfinish(session, exitstatus):
    cluster = _suite_cluster()
    if _alone(False) and cluster is not None and STATE_DIR.exists():
        cluster.down(wipe=True, out=open(os.devnull, "w"))
    if _alone(False):
        _stop_secured()
