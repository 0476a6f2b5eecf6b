"""pytest set-up shared by tests/ and notebooks/ (nbval).

The suite runs its own cluster, in .lab-test/ on ports 19092-19094, so `make test` never touches
a learner's lab. nbval kernels inherit these variables, so notebooks find the same cluster.
The cluster is stopped and wiped when the session ends, whatever happened.
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


def pytest_sessionfinish(session, exitstatus):
    from labkit.brokers import LocalCluster

    cluster = LocalCluster()
    if cluster.state_dir.exists():
        cluster.down(wipe=True, out=open(os.devnull, "w"))
