"""The picture of tumbling windows filling and closing as records arrive (notebook 09).

Across: the records in the order the processor read them (processing time). Up: each record's
timestamp (event time). Each window is a horizontal band; the stream time (the largest timestamp
so far) climbs as a step line, and the line below it by the grace period is where windows close:
a band turns grey from the record that closed it. A record that lands in a closed band is late
(a red cross); the number in each band is the window's final count.
"""
from __future__ import annotations

from .windowed import window_start


def plot_windows(seen: list[dict], window_s: float, grace_s: float, base_ms: int | None = None,
                 title: str | None = None):
    """Draw the records ``WindowedCount.seen`` lists; times are shown in seconds from ``base_ms``
    (default: the first window's start). Returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.2))
    if not seen:
        ax.text(0.5, 0.5, "no records processed yet", ha="center", va="center", transform=ax.transAxes)
        return fig
    size, grace = int(window_s * 1000), int(grace_s * 1000)
    base = window_start(min(r["timestamp"] for r in seen), size) if base_ms is None else base_ms
    sec = lambda ms: (ms - base) / 1000  # noqa: E731
    n = len(seen)
    starts = sorted({window_start(r["timestamp"], size) for r in seen})
    for s in starts:
        closed_at = next((i for i, r in enumerate(seen) if r["stream_time"] >= s + size + grace), None)
        ax.axhspan(sec(s), sec(s + size), xmin=0, xmax=1, color="tab:blue", alpha=0.07)
        if closed_at is not None:  # grey from the record that closed it
            ax.fill_between([closed_at - 0.5, n - 0.5], sec(s), sec(s + size), color="0.6", alpha=0.35, lw=0)
        counted = sum(1 for r in seen if not r["late"] and window_start(r["timestamp"], size) == s)
        state = "closed" if closed_at is not None else "open"
        ax.text(n - 0.3, sec(s) + window_s / 2, f"[{sec(s):g}, {sec(s + size):g}) s: {counted} counted, {state}",
                va="center", fontsize=8)
        ax.axhline(sec(s), color="tab:blue", lw=0.5, alpha=0.5)
    xs = range(n)
    ax.step(xs, [sec(r["stream_time"]) for r in seen], where="post", color="black", lw=1.2, label="stream time")
    ax.step(xs, [sec(r["stream_time"] - grace) for r in seen], where="post", color="black", lw=1, ls=":",
            label=f"stream time - grace ({grace_s:g} s)")
    keys = sorted({r["key"] for r in seen})
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for j, key in enumerate(keys):
        mine = [(i, r) for i, r in enumerate(seen) if r["key"] == key]
        ok = [(i, sec(r["timestamp"])) for i, r in mine if not r["late"]]
        if ok:
            ax.scatter(*zip(*ok), color=colours[j % len(colours)], s=40, zorder=3, label=f"key {key}")
    late = [(i, sec(r["timestamp"])) for i, r in enumerate(seen) if r["late"]]
    if late:
        ax.scatter(*zip(*late), marker="x", color="red", s=70, zorder=4, label="late: dropped")
    ax.set_xlim(-0.5, n + 3.5)
    ax.set_xlabel("records in the order processed (processing time →)")
    ax.set_ylabel("record timestamp, s (event time)")
    ax.set_title(title or f"Tumbling windows of {window_s:g} s, grace {grace_s:g} s")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig
