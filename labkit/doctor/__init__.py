"""``labkit doctor``: is this machine ready for the lab? One table of ✔/✘ rows (issue 20).

A learner runs it before a workshop; an instructor asks the room to. It only looks (seconds,
nothing started) unless ``--start`` asks for a full round trip: ``up``, produce, consume, ``down``
on the configured state folder. The exit status is 1 when a ✘ row blocks the lab, else 0;
``!`` rows name what a later lesson will need.
"""
from __future__ import annotations

import sys
import time
import uuid

from .. import config
from ..errors import LabError
from . import checks
from .checks import Row

__all__ = ["run", "table", "round_trip", "Row"]


def table(rows: list[Row]) -> str:
    """The rows as text: mark, check, what was seen; each ✘ or ! followed by its fix."""
    width = max(len(r.check) for r in rows)
    lines = []
    for r in rows:
        lines.append(f"{r.mark} {r.check:<{width}}  {r.seen}")
        if not r.ok and r.fix:
            lines.append(f"  {'':<{width}}  fix: {r.fix}")
    return "\n".join(lines)


def round_trip(out=None, timeout: float = 60.0, backend: str | None = None) -> Row:
    """Start the lab cluster, write and read back one record, stop it again (``--start``).

    A cluster that was already running is used and left running: the doctor stops only what it
    started.
    """
    from .. import clients
    from ..cluster import get_cluster
    from ..wait import wait_for

    out = out or sys.stdout
    began = time.monotonic()
    cluster = get_cluster(backend)
    was_up = all(r["state"] == "running" for r in cluster.status())
    try:
        if not was_up:
            cluster.up(out=out)
        topic, value = "_labkit_doctor", uuid.uuid4().hex.encode()
        producer = clients.producer(cluster.bootstrap_servers)
        producer.produce(topic, value=value)
        if producer.flush(timeout) != 0:
            raise LabError("The doctor's record was not acknowledged.", hint="`labkit logs 1` shows why.")
        consumer = clients.consumer(cluster.bootstrap_servers, f"_labkit_doctor_{uuid.uuid4().hex[:8]}",
                                    **{"auto.offset.reset": "earliest"})
        consumer.subscribe([topic])
        seen: list[bytes] = []

        def read_back() -> bool:
            msg = consumer.poll(1.0)
            if msg is not None and msg.error() is None:
                seen.append(msg.value())
            return value in seen
        try:
            wait_for("the doctor's record to come back", read_back, timeout=timeout, interval=0,
                     hint="the cluster accepted the record but no consumer read it; `labkit status`.")
        finally:
            clients.close(consumer)
    except LabError as exc:
        return Row("round trip (--start)", False, exc.message, exc.hint or "")
    finally:
        if not was_up:
            cluster.down(out=out)
    said = "cluster was already up, left running" if was_up else "up, produce, consume, down"
    return Row("round trip (--start)", True, f"{said} in {time.monotonic() - began:.0f} s")


def run(start: bool = False, backend: str | None = None, out=None) -> int:
    """Print the table; 1 when something blocks the lab, else 0 (``labkit doctor [--start]``)."""
    out = out or sys.stdout
    print(f"labkit doctor: Kafka {config.KAFKA_VERSION} lab, ports from {config.port_base()}, "
          f"state in {config.state_dir()}", file=out)
    rows = checks.all_rows(backend)
    if start and not any(r.blocks and not r.ok for r in rows):
        rows.append(round_trip(out=out, backend=backend))
    elif start:
        rows.append(Row("round trip (--start)", False, "not tried: a ✘ above blocks it", "fix the ✘ rows first"))
    print(table(rows), file=out)
    blocked = [r.check for r in rows if r.blocks and not r.ok]
    if blocked:
        print(f"\nNot ready: {', '.join(blocked)}. Each ✘ says its fix.", file=out)
        return 1
    print("\nReady for the lab." + ("" if start else " `labkit doctor --start` also runs the cluster once."),
          file=out)
    return 0
