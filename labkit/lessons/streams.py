"""The check of notebook 09's exercise: counts per key per 10 s window, with the right grace.

The learner produces timestamped records to an input topic and runs a windowed count into an
output topic. The check reads that topic (its committed records) and compares it with the counts
the records call for: every record counted, including one that arrives after its window's end,
and every window closed that a suitable grace period closes by the last record's time. It names
the mistake: windows of another size, a grace too short (the late record was dropped) or too long
(windows that never closed), or nothing there yet.
"""
from __future__ import annotations

from ..streams.windowed import read_results, window_start
from .verdict import Wrong, _topic, _verdict

WINDOW_MS = 10_000


def plan(records: list[tuple[str, float]], base_ms: int, size_ms: int = WINDOW_MS) -> dict:
    """What ``records`` ((key, seconds after ``base_ms``), in the order produced) call for:

    - ``min_grace`` / ``max_grace`` (s): the grace periods that count every record and still
      close every window that can close by the last record's time;
    - ``expected``: (key, window start ms) -> count, over the windows that close;
    - ``late``: (key, ts ms, stream time ms) of each record that comes after its window's end.
    """
    stream, late, lateness = 0, [], 0
    for key, sec in records:
        ts = base_ms + int(sec * 1000)
        stream = max(stream, ts)
        behind = stream - (window_start(ts, size_ms) + size_ms)
        if behind >= 0:
            late.append((key, ts, stream))
            lateness = max(lateness, behind)
    min_grace = lateness // 1000 + 1 if late else 0  # dropped unless end + grace > stream time
    closing = {window_start(base_ms + int(s * 1000), size_ms) for _, s in records}
    closing = {s for s in closing if s + size_ms + min_grace * 1000 <= stream}
    expected: dict[tuple[str, int], int] = {}
    for key, sec in records:
        start = window_start(base_ms + int(sec * 1000), size_ms)
        if start in closing:
            expected[(key, start)] = expected.get((key, start), 0) + 1
    max_grace = min((stream - s - size_ms) // 1000 for s in closing) if closing else None
    return {"min_grace": min_grace, "max_grace": max_grace, "expected": expected, "late": late,
            "stream_time": stream}


@_verdict
def check_window_counts(lab, topic: str, records: list, base_ms: int) -> str:
    """Notebook 09: ``topic`` holds the final count of every key in every 10 s window that closes.

    ``records`` are the exercise's (key, seconds) pairs as produced, ``base_ms`` their time zero.
    """
    _topic(lab, topic)
    try:
        got = read_results(lab, topic)
    except (ValueError, TypeError, KeyError):
        raise Wrong(f"{topic!r} holds records that are not WindowedCount's results (JSON with key, start, "
                    "end and count): let the WindowedCount write them, into a fresh topic.") from None
    if not got:
        raise Wrong(f"there are no final window counts in {topic!r} yet: produce EX_RECORDS to EX_INPUT "
                    "(with their timestamps) and run a WindowedCount from EX_INPUT into it (a grace longer than "
                    "the records' whole span closes no window at all).")
    sizes = sorted({(r["end"] - r["start"]) // 1000 for r in got})
    if sizes != [WINDOW_MS // 1000]:
        raise Wrong(f"your windows are {' and '.join(map(str, sizes))} s long; the exercise asks for "
                    f"{WINDOW_MS // 1000} s tumbling windows (window_s=10).")
    want = plan(records, base_ms)
    sec = lambda ms: (ms - base_ms) // 1000  # noqa: E731
    counts: dict[tuple[str, int], int] = {}
    for r in got:
        if (r["key"], r["start"]) in counts:
            raise Wrong(f"key {r['key']!r} in [{sec(r['start'])}, {sec(r['end'])}) s has two final counts: "
                        "run the count once into a fresh output topic.")
        counts[(r["key"], r["start"])] = r["count"]
    grace = f"a grace of {want['min_grace']} to {want['max_grace']} s"
    for (key, start), n in sorted(want["expected"].items(), key=lambda kv: (kv[0][1], kv[0][0])):
        span = f"[{sec(start)}, {sec(start + WINDOW_MS)}) s"
        if (key, start) not in counts:
            raise Wrong(f"window {span} has no final count for {key!r}: it closes only once stream time "
                        f"passes its end + grace, and the last record is at {sec(want['stream_time'])} s; "
                        f"{grace} counts the late record and still closes it.")
        if counts[(key, start)] < n:
            late = [(sec(ts), sec(st)) for k, ts, st in want["late"] if k == key and window_start(ts, WINDOW_MS) == start]
            why = (f": the record at {late[0][0]} s came when stream time was {late[0][1]} s, after its window "
                   f"had ended; it was dropped as late. {grace} keeps it") if late else ""
            raise Wrong(f"{key!r} in {span} counts {counts[(key, start)]}, expected {n}{why}.")
        if counts[(key, start)] > n:
            raise Wrong(f"{key!r} in {span} counts {counts[(key, start)]}, expected {n}: were the records "
                        "produced twice? Use a fresh input topic.")
    return (f"{len(want['expected'])} final counts of {sum(want['expected'].values())} records, the late one "
            f"included; every window up to "
            f"{sec(max(s for _, s in want['expected']) + WINDOW_MS)} s closed.")
