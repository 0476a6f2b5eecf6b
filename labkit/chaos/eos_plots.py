"""Pictures for notebook 08: a partition's log with its transactions, and the exactly-once tally.

``plot_log`` draws one partition offset by offset, as the two isolation levels read it: committed
records, aborted ones, records of a transaction still open, and the transaction markers no reader
is given, with the last stable offset and the high watermark. ``plot_counts`` draws, per
kill-and-restart run (``exactly_once.run_with_kill``), how many orders have 0, 1 or 2+ totals.
"""
from __future__ import annotations

KINDS = {"committed": "#009E73", "aborted": "#D55E00", "open": "#F0E442", "marker": "#999999"}


def plot_log(uncommitted: list[tuple[int, str]], committed: list[tuple[int, str]], stable: int,
             high: int, title: str = ""):
    """One partition, offset by offset: ``uncommitted`` and ``committed`` are the (offset, value)
    pairs a read_uncommitted and a read_committed reader got; ``stable`` and ``high`` the last
    stable offset and high watermark. An offset below ``high`` that no reader got is a marker."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    seen = dict(uncommitted)
    shown = {offset for offset, _ in committed}
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * high + 2), 1.9))
    for offset in range(high):
        if offset in shown:
            kind = "committed"
        elif offset in seen:
            kind = "open" if offset >= stable else "aborted"
        else:
            kind = "marker"
        ax.add_patch(plt.Rectangle((offset, 0), 0.95, 1, color=KINDS[kind]))
        label = seen.get(offset, "marker") if kind != "marker" else "marker"
        ax.text(offset + 0.47, 0.5, str(label), ha="center", va="center", fontsize=8, rotation=90)
    for x, name, y in ((stable, "last stable offset", 1.35), (high, "high watermark", 1.1)):
        ax.axvline(x - 0.025, color="black", linestyle="--", linewidth=1)
        ax.text(x, y, f" {name} = {x}", fontsize=9, va="center")
    ax.set_xlim(0, max(high, 1) + 2.5)
    ax.set_ylim(0, 1.5)
    ax.set_yticks([])
    ax.set_xticks([o + 0.47 for o in range(high)], [str(o) for o in range(high)])
    ax.set_xlabel("offset")
    ax.set_title(title, fontsize=10)
    ax.legend(handles=[Patch(color=c, label=k) for k, c in KINDS.items()], loc="center left",
              bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


COLOURS = {"0": "#D55E00", "1": "#009E73", "2+": "#E69F00"}  # lost, once, duplicated


def plot_counts(runs, isolation: str = "read_committed"):
    """Per run (``exactly_once.Run``), how many orders have 0, 1 or 2+ totals in the output as
    ``isolation`` reads it, and which orders (the strip below, in order number)."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    fig, axes = plt.subplots(2, len(runs), figsize=(5 * len(runs), 4), squeeze=False,
                             gridspec_kw={"height_ratios": [3, 1]})
    for col, run in enumerate(runs):
        books = run.tally if isolation == "read_committed" else run.uncommitted
        counts = [books["counts"][o] for o in sorted(books["counts"])]
        bars = {"0": books["lost"], "1": books["once"], "2+": books["twice_or_more"]}
        ax = axes[0][col]
        ax.bar(list(bars), list(bars.values()), color=[COLOURS[k] for k in bars])
        for x, n in enumerate(bars.values()):
            ax.text(x, n, str(n), ha="center", va="bottom")
        ax.set_title(f"{run.mode}: killed mid-batch, restarted")
        ax.set_xlabel("totals in the output per order")
        ax.set_ylim(0, run.orders * 1.15)
        strip = axes[1][col]
        strip.imshow([[min(n, 2) for n in counts]], aspect="auto", interpolation="nearest",
                     cmap=ListedColormap(list(COLOURS.values())), vmin=0, vmax=2)
        strip.set_yticks([])
        strip.set_xlabel("order number (colour: 0, 1, 2+ totals)")
    axes[0][0].set_ylabel("orders")
    fig.suptitle(f"the output read with isolation.level={isolation}", fontsize=10)
    fig.tight_layout()
    return fig
