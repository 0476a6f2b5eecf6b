"""pytest set-up shared by tests/ and notebooks/ (nbval).

The suite runs its own cluster, in .lab-test/ on ports 19092-19094, so `make test` never touches
a learner's lab. nbval kernels inherit these variables, so notebooks find the same cluster.
A cluster the session started is stopped and wiped when it ends, whatever happened; one that
was already running is left running.
"""
import os
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent


def pytest_configure(config):
    os.environ.setdefault("LABKIT_STATE_DIR", str(ROOT / ".lab-test" / "cluster"))
    os.environ.setdefault("LABKIT_PORT_BASE", "19092")
    # Kafka's tool shims live next to the interpreter; notebooks call them with `!kafka-topics ...`.
    bindir = str(pathlib.Path(os.sys.executable).parent)
    if bindir not in os.environ["PATH"].split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ["PATH"]


def pytest_sessionstart(session):
    from labkit.cluster.local import LocalCluster

    # A cluster that was already running belongs to someone (a developer iterating, a learner
    # who pointed LABKIT_STATE_DIR at their lab): the suite uses it and leaves it as it was.
    cluster = LocalCluster()
    session.config._labkit_was_running = cluster.state_dir.exists() and any(
        cluster.pid(n) for n in (1, 2, 3))


def pytest_sessionfinish(session, exitstatus):
    from labkit.cluster.local import LocalCluster

    cluster = LocalCluster()
    if cluster.state_dir.exists() and not getattr(session.config, "_labkit_was_running", False):
        cluster.down(wipe=True, out=open(os.devnull, "w"))
