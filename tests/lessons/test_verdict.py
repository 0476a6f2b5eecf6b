"""How every check speaks: one verdict line, never an exception; and the shared reader."""
import pytest

from labkit import LabError
from labkit import lessons as exercises
from helpers import produce, verdict


def test_read_all_returns_every_record_in_offset_order(lab):
    topic = lab.fresh_topic("ex-read-all", partitions=2)
    produce(lab, topic, [(f"k{i}", str(i)) for i in range(20)])
    records = exercises.read_all(lab, topic)
    assert len(records) == 20
    for part in (0, 1):
        offsets = [r["offset"] for r in records if r["partition"] == part]
        assert offsets == list(range(len(offsets)))


class _BrokenLab:
    """A lab whose cluster cannot be asked anything."""

    bootstrap_servers = "127.0.0.1:1"

    def __init__(self, exc):
        self.exc = exc

    def admin(self):
        raise self.exc


@pytest.mark.parametrize("exc, expected", [
    (LabError("No Kafka broker answers.", hint="start the lab cluster"), "✘ not yet: No Kafka broker answers."),
    (RuntimeError("boom"), "✘ could not check: RuntimeError: boom"),
])
def test_checks_never_raise(capsys, exc, expected):
    assert exercises.check_first_message(_BrokenLab(exc), "t", "v") is False
    assert verdict(capsys).startswith(expected)
    assert exercises.check_durable(_BrokenLab(exc), "t", {"acks": "all"}) is False
    assert verdict(capsys).startswith(expected)
