"""Fixtures for the Connect tests: the suite's cluster with its Connect worker running."""
import io
import uuid

import pytest

from labkit.connect import Worker


@pytest.fixture(scope="module")
def worker(lab):
    """The suite cluster's Connect worker for one test module, stopped afterwards: the tests and
    notebooks after these share the machine's two cores and should not feed an idle worker."""
    w = Worker(lab.cluster)
    w.up(out=io.StringIO())
    yield w
    w.stop(out=io.StringIO())


@pytest.fixture
def connect(worker):
    """A REST client of the running worker (started again if a test stopped it)."""
    worker.up(out=io.StringIO())
    return worker.client()


@pytest.fixture
def run_id():
    return uuid.uuid4().hex[:8]
