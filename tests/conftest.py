"""Fixtures: the suite's one live cluster, and a guarantee each test leaves it healthy."""
import time

import pytest
from confluent_kafka import KafkaException

import labkit as lk


@pytest.fixture(scope="session")
def lab():
    """The suite's cluster (started once; conftest.py at the root stops it at the end)."""
    return lk.start(quiet=True)


@pytest.fixture
def spare(tmp_path):
    """A throwaway cluster's handle (state in tmp_path, its own free ports); stopped afterwards."""
    import io

    from labkit import config
    from labkit.cluster import procs
    from labkit.cluster.local import LocalCluster
    from spares import free_base

    cluster = LocalCluster(state_dir=tmp_path / "spare", port_base=free_base())
    yield cluster
    cluster.down(out=io.StringIO())  # pytest removes tmp_path; a test's own files are not labkit's to wipe
    for n in config.NODES:
        assert not procs.brokers_on(cluster._props(n)), "a broker was left running"


@pytest.fixture
def healthy_lab(lab):
    """For tests that stop or kill brokers: every broker runs again afterwards."""
    yield lab
    lab.heal()


@pytest.fixture(scope="session")
def filled_topic(lab):
    """Make a fresh RF=3 topic holding ``records`` values '0', '1', ... spread round-robin."""
    def make(name: str, partitions: int, records: int) -> str:
        lab.fresh_topic(name, partitions=partitions, replication_factor=3)
        with lab.producer() as p:
            for i in range(records):
                p.produce(name, str(i).encode(), partition=i % partitions)
            assert p.flush(30) == 0
        return name
    return make


@pytest.fixture
def out_dir():
    """Where tests write pictures for a human to look at (tests/output/, git-ignored)."""
    import pathlib

    path = pathlib.Path(__file__).parent / "output"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def commit_offsets(lab):
    """Commit ``offsets`` (TopicPartitions) for ``group`` as a consumer that then leaves."""
    def commit(group: str, offsets: list) -> None:
        c = lab.consumer(group, enable_auto_commit=False)
        end = time.monotonic() + 60
        while True:  # a cluster that just started may still be electing group coordinators
            try:
                c.commit(offsets=offsets, asynchronous=False)
                break
            except KafkaException as exc:
                if not exc.args[0].retriable() and "COORDINATOR" not in exc.args[0].name() \
                        or time.monotonic() > end:
                    raise
                time.sleep(0.5)
        c.close()
    return commit
