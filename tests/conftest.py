"""Fixtures: the suite's one live cluster, and a guarantee each test leaves it healthy."""
import pytest

import labkit as lk


@pytest.fixture(scope="session")
def lab():
    """The suite's cluster (started once; conftest.py at the root stops it at the end)."""
    return lk.start(quiet=True)


@pytest.fixture
def healthy_lab(lab):
    """For tests that stop or kill brokers: every broker runs again afterwards."""
    yield lab
    lab.heal()


@pytest.fixture
def out_dir():
    """Where tests write pictures for a human to look at (tests/output/, git-ignored)."""
    import pathlib

    path = pathlib.Path(__file__).parent / "output"
    path.mkdir(exist_ok=True)
    return path
