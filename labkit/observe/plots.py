"""Pictures of the cluster: partition grid, log ranges, assignment (notebooks 02-06; lag: lagplot.py).

Each ``plot_*`` takes DataFrames from ``labkit.observe.inspector`` (``lab.plot_*`` fetches them for you)
and returns a matplotlib ``Figure``. The figure carries what it drew as ``fig.data`` (a
DataFrame), so tests and curious learners can check the picture against the cluster. Figures
are built without pyplot, so the dashboard can draw them on a background thread. Colours are
the Okabe-Ito palette, safe for colour-blind readers, and every picture has a legend.
"""
from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch


# Okabe-Ito colours
BLUE, GREEN, ORANGE, VERMILLION = "#0072B2", "#009E73", "#E69F00", "#D55E00"
PURPLE, SKY, YELLOW, GREY = "#CC79A7", "#56B4E9", "#F0E442", "#EEEEEE"
ROLES = ("not a replica", "leader", "in-sync follower", "out-of-sync replica", "offline")
ROLE_COLOURS = (GREY, BLUE, GREEN, ORANGE, VERMILLION)
ROLE_MARKS = ("", "L", "F", "O", "X")
ROWS_PER_BLOCK = 20  # partitions per column of the grid before it wraps


def _show_inline() -> None:
    """In IPython, display our (pyplot-free) figures as PNG, once, whatever the backend."""
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import print_figure
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    png = shell.display_formatter.formatters["image/png"]
    try:
        png.lookup_by_type(Figure)
    except KeyError:
        png.for_type(Figure, lambda fig: print_figure(fig, "png", bbox_inches="tight"))


def _figure(width: float, height: float, layout: str | None = "constrained") -> Figure:
    _show_inline()
    return Figure(figsize=(min(width, 14), min(height, 12)), layout=layout)


# ---- partition grid ---------------------------------------------------------------------
def grid_data(parts: pd.DataFrame, brokers: pd.DataFrame) -> pd.DataFrame:
    """Long table: each (topic, partition, broker) with its role and whether the broker is alive."""
    alive = dict(zip(brokers["id"], brokers["alive"]))
    rows = []
    for p in parts.itertuples():
        for b in brokers["id"]:
            if b not in p.replicas:
                role = ROLES[0]
            elif p.offline:
                role = "offline"
            elif b == p.leader:
                role = "leader"
            else:
                role = "in-sync follower" if b in p.isr else "out-of-sync replica"
            rows.append({"topic": p.topic, "partition": p.partition, "broker": b, "role": role,
                         "broker_alive": bool(alive[b])})
    return pd.DataFrame(rows, columns=["topic", "partition", "broker", "role", "broker_alive"])


def plot_partitions(parts: pd.DataFrame, brokers: pd.DataFrame, title: str | None = None) -> Figure:
    """Brokers (columns) x partitions (rows): who leads, who follows in sync, who lags, what is offline."""
    data = grid_data(parts, brokers)
    ids = list(brokers["id"])
    dead = [b for b, a in zip(ids, brokers["alive"]) if not a]
    topics = list(dict.fromkeys(parts["topic"]))
    counts = [int((parts["topic"] == t).sum()) for t in topics]
    ncols = max(1, max(math.ceil(c / ROWS_PER_BLOCK) for c in counts)) if counts else 1
    rows_shown = min(max(counts or [1]), ROWS_PER_BLOCK)
    fig = _figure(max(6.5, 1.0 + ncols * (0.55 * len(ids) + 0.7)),
                  1.5 + len(topics) * (0.27 * rows_shown + 0.9))
    axes = fig.subplots(len(topics) or 1, ncols, squeeze=False)
    cmap = ListedColormap(ROLE_COLOURS)
    code_of = role_codes(data)
    fig.cells = []  # (axes, topic, partitions, image, letters): what a live view updates in place
    for r, topic in enumerate(topics):
        tdata = data[data["topic"] == topic]
        nparts = sorted(tdata["partition"].unique())
        for c in range(ncols):
            ax = axes[r][c]
            chunk = nparts[c * ROWS_PER_BLOCK:(c + 1) * ROWS_PER_BLOCK]
            if not chunk:
                ax.set_axis_off()
                continue
            codes = cell_codes(code_of, topic, chunk, ids)
            image = ax.imshow(codes, cmap=cmap, vmin=-0.5, vmax=len(ROLES) - 0.5, aspect="auto")
            letters = []
            if len(nparts) <= 40:  # letters in cells help colour-blind readers; too small beyond
                letters = [[ax.text(x, y, "", ha="center", va="center", fontsize=8, in_layout=False)
                            for x in range(len(ids))] for y in range(len(chunk))]
                mark_cells(letters, codes)
            fig.cells.append((ax, topic, chunk, image, letters))
            for x, b in enumerate(ids):
                if b in dead:
                    ax.bar(x, len(chunk), bottom=-0.5, width=1.0, fill=False, hatch="///",
                           edgecolor="#444444", linewidth=0)
            ax.set_xticks(range(len(ids)), [f"{b}\nDEAD" if b in dead else str(b) for b in ids])
            ax.set_yticks(range(len(chunk)), [str(p) for p in chunk], fontsize=8 if len(chunk) > 12 else 10)
            ax.vlines([x - 0.5 for x in range(1, len(ids))], -0.5, len(chunk) - 0.5, color="white", linewidth=1.5)
            ax.hlines([y - 0.5 for y in range(1, len(chunk))], -0.5, len(ids) - 0.5, color="white", linewidth=1.5)
            ax.xaxis.set_ticks_position("top")
            for tick, b in zip(ax.xaxis.get_major_ticks(), ids):
                if b in dead:
                    for label in (tick.label1, tick.label2):
                        label.set_color(VERMILLION)
                        label.set_fontweight("bold")
            if c == 0:
                ax.set_ylabel(f"{topic}\npartition")
            ax.set_xlabel("broker")
    handles = [Patch(facecolor=col, edgecolor="#999999", label=f"{mark} {role}".strip())
               for role, col, mark in zip(ROLES, ROLE_COLOURS, ROLE_MARKS)]
    handles.append(Patch(facecolor="white", edgecolor="#444444", hatch="///", label="dead broker"))
    fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=9, frameon=False)
    fig.suptitle(title or "Partition replicas by broker")
    fig.data = data
    return fig


def role_codes(data: pd.DataFrame) -> dict:
    """(topic, partition, broker) -> index of its role in ROLES, from ``grid_data``."""
    return {(t, p, b): ROLES.index(role) for t, p, b, role in
            zip(data["topic"], data["partition"], data["broker"], data["role"])}


def cell_codes(code_of: dict, topic: str, chunk, ids) -> np.ndarray:
    return np.array([[code_of[(topic, p, b)] for b in ids] for p in chunk])


def mark_cells(letters: list, codes: np.ndarray) -> None:
    """Write each cell's role letter, white on the dark colours."""
    for row, code_row in zip(letters, codes):
        for text, code in zip(row, code_row):
            text.set_text(ROLE_MARKS[code])
            text.set_color("white" if code in (1, 4) else "black")


# ---- the log: retained range and committed positions -------------------------------------
def log_data(parts: pd.DataFrame, lag: pd.DataFrame) -> pd.DataFrame:
    """Per partition: low and high watermark, and each group's committed offset (NaN: none)."""
    base = parts[["topic", "partition", "low", "high"]]
    if lag.empty:
        return base.assign(group=pd.Series(dtype=object), committed=pd.Series(dtype="Int64"))
    marks = lag[["group", "topic", "partition", "committed"]]
    return base.merge(marks, on=["topic", "partition"], how="left")


def plot_log(parts: pd.DataFrame, lag: pd.DataFrame, title: str | None = None) -> Figure:
    """Each partition's retained range (low to high watermark) with each group's position on it."""
    data = log_data(parts, lag)
    keys = list(parts[["topic", "partition"]].itertuples(index=False, name=None))
    fig = _figure(8, 1.6 + 0.38 * len(keys))
    ax = fig.subplots()
    for y, (topic, part) in enumerate(keys):
        row = parts[(parts["topic"] == topic) & (parts["partition"] == part)].iloc[0]
        if pd.notna(row["low"]) and pd.notna(row["high"]):
            ax.barh(y, max(int(row["high"]) - int(row["low"]), 0.01), left=int(row["low"]),
                    height=0.5, color=SKY, edgecolor=BLUE)
    groups = [g for g in dict.fromkeys(data["group"].dropna())]
    markers, colours = "ov^sD", (VERMILLION, BLUE, GREEN, PURPLE, ORANGE)
    for i, g in enumerate(groups):
        pts = data[(data["group"] == g) & data["committed"].notna()]
        ys = [keys.index((t, p)) for t, p in zip(pts["topic"], pts["partition"])]
        ax.scatter(pts["committed"].astype(float), ys, marker=markers[i % 5], s=70, zorder=3,
                   color=colours[i % 5], edgecolor="black", label=f"{g}: committed")
    ax.set_yticks(range(len(keys)), [f"{t} [{p}]" if len(set(parts['topic'])) > 1 else str(p)
                                     for t, p in keys])
    ax.invert_yaxis()
    ax.set_xlabel("offset")
    ax.set_ylabel("partition")
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlim(left=min(0, ax.get_xlim()[0]))
    handles = [Patch(facecolor=SKY, edgecolor=BLUE, label="retained records (low to high watermark)")]
    handles += ax.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9, frameon=False)
    fig.suptitle(title or "The log: what each partition keeps, and where each group is")
    fig.data = data
    return fig


# ---- who owns what -------------------------------------------------------------------------
def assignment_data(lag: pd.DataFrame) -> pd.DataFrame:
    """Per partition the group knows: its owner's client id, or '(unassigned)'."""
    data = lag[["group", "topic", "partition", "member"]].copy()
    data["member"] = data["member"].fillna("").replace("", "(unassigned)")
    return data.sort_values(["member", "topic", "partition"]).reset_index(drop=True)


def plot_assignment(lag: pd.DataFrame, group: str) -> Figure:
    """Consumers (rows) x partitions (columns): a filled cell is a partition that consumer owns."""
    data = assignment_data(lag)
    members = sorted(set(data["member"]) - {"(unassigned)"}) + \
        (["(unassigned)"] if (data["member"] == "(unassigned)").any() else [])
    keys = sorted(set(zip(data["topic"], data["partition"])))
    fig = _figure(2.5 + 0.45 * max(len(keys), 4), 1.9 + 0.5 * max(len(members), 1))
    ax = fig.subplots()
    palette = (BLUE, GREEN, ORANGE, PURPLE, SKY, VERMILLION, YELLOW)
    for y, m in enumerate(members):
        owned = data[data["member"] == m]
        colour = GREY if m == "(unassigned)" else palette[y % len(palette)]
        for t, p in zip(owned["topic"], owned["partition"]):
            x = keys.index((t, p))
            ax.add_patch(matplotlib.patches.Rectangle((x - 0.45, y - 0.4), 0.9, 0.8, color=colour))
            ax.text(x, y, str(p), ha="center", va="center", fontsize=9,
                    color="white" if colour in (BLUE, VERMILLION) else "black")
    ax.set_xlim(-0.6, max(len(keys), 1) - 0.4)
    ax.set_ylim(len(members) - 0.5 if members else 0.5, -0.5)
    multi = len({t for t, _ in keys}) > 1
    ax.set_xticks(range(len(keys)), [f"{t}[{p}]" if multi else str(p) for t, p in keys],
                  rotation=90 if multi else 0, fontsize=8 if len(keys) > 20 else 10)
    ax.set_yticks(range(len(members)), members)
    ax.set_xlabel("partition")
    ax.set_ylabel("consumer (client id)")
    ax.legend(handles=[Patch(color=GREY, label="no consumer owns it")], loc="upper left",
              bbox_to_anchor=(1.01, 1), fontsize=9, frameon=False)
    fig.suptitle(f"Which consumer of group {group!r} reads which partition")
    fig.data = data
    return fig
