"""Fixtures of the stream-processing tests (notebook 09): the notebook's clicks in fresh topics."""
import pytest
from clicks import RECORDS, run_topics



@pytest.fixture
def topics(lab):
    run, src, out, log, base = run_topics(lab, "st")
    with lab.producer() as p:
        for key, sec in RECORDS:
            p.produce(src, key=key, value="", timestamp=base + sec * 1000)
        assert p.flush(15) == 0
    return src, out, log, base, f"st-{run}"
