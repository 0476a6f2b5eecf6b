"""Fixtures of the stream-processing tests (notebook 09): the notebook's clicks in fresh topics."""
import uuid

import pytest
from clicks import RECORDS

from labkit.streams import time_zero



@pytest.fixture
def topics(lab):
    run = uuid.uuid4().hex[:6]
    src = lab.fresh_topic(f"st-in-{run}", partitions=1)
    out = lab.fresh_topic(f"st-out-{run}", partitions=1)
    log = lab.fresh_topic(f"st-log-{run}", partitions=1, config={"cleanup.policy": "compact"})
    base = time_zero()
    with lab.producer() as p:
        for key, sec in RECORDS:
            p.produce(src, key=key, value="", timestamp=base + sec * 1000)
        assert p.flush(15) == 0
    return src, out, log, base, f"st-{run}"
