"""Helpers shared by the exercise-check tests (tests/lessons/)."""
import time


def verdict(capsys) -> str:
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1, f"a check prints exactly one line, got {lines}"
    return lines[0]


def produce(lab, topic, records, **settings):
    p = lab.producer(**settings)
    for key, value in records:
        p.produce(topic, key=None if key is None else key.encode(),
                  value=None if value is None else value.encode())
    assert p.flush(15) == 0


def settle(consumers, partitions, timeout=45):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for c in consumers:
            c.poll(0.1)
        owned = [len(c.assignment()) for c in consumers]
        if sum(owned) == partitions and sum(n > 0 for n in owned) == min(len(consumers), partitions):
            return owned
    raise AssertionError(f"group did not settle: {owned}")
