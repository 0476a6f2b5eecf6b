"""Lag over time, each partition's line coloured by its Burrow status (notebook 05).

``plot_lag(history)`` takes a lag history (``lab.sample_lag(group).history``), judges every
partition with ``burrow`` over the last ``window`` samples, and draws lag against seconds
since the first sample: one subplot per group, titled with the group's worst status. Like every
``plot_*``, the figure carries what it drew: ``fig.data`` (the history with each partition's
status) and ``fig.status`` (``burrow.evaluate``'s table). The pieces are public so that the live
dashboard (``labkit.observe.liveplots``) can redraw the lines of the same figure in place.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from . import burrow
from .plots import BLUE, GREEN, ORANGE, PURPLE, VERMILLION, _figure

STATUS_COLOURS = {"OK": GREEN, "WARN": ORANGE, "STOP": VERMILLION, "STALL": PURPLE, "REWIND": BLUE}
STATUS_STYLES = {"OK": "-", "WARN": "--", "STOP": ":", "STALL": "-.", "REWIND": (0, (5, 1, 1, 1))}


def lag_frame(history: pd.DataFrame, window: int = burrow.DEFAULT_WINDOW):
    """(data, status): the history with each partition's Burrow status and ``seconds`` since the
    first sample, and ``burrow.evaluate``'s table. What ``plot_lag`` draws and carries."""
    status = burrow.evaluate(history, window) if len(history) else \
        pd.DataFrame(columns=["group", "topic", "partition", "status", "lag", "samples"])
    data = history.merge(status[["group", "topic", "partition", "status"]],
                         on=["group", "topic", "partition"], how="left") if len(history) else \
        history.assign(status=pd.Series(dtype=object))
    if len(data):  # seconds since the first sample read better than clock times
        data["seconds"] = _seconds_since(data["time"])
    return data, status


def lag_title(group: str, status: pd.DataFrame) -> str:
    return f"group {group}: {burrow.group_status(status[status['group'] == group]['status'])}"


def lag_artists(ax, gdata: pd.DataFrame) -> list:
    """Draw one group's lag lines on ``ax`` (one artist per status) and label the line ends.

    Returns the artists, so that a live view can take them off again and draw new ones."""
    artists = []
    if gdata.empty:
        return artists
    g = gdata.sort_values(["topic", "partition", "seconds"], kind="stable")
    x = g["seconds"].to_numpy(float)
    y = g["lag"].astype("Float64").to_numpy(float, na_value=np.nan)
    keys = g[["topic", "partition"]]
    starts = np.flatnonzero(keys.ne(keys.shift()).any(axis=1).to_numpy())
    xys = np.split(np.column_stack([x, y]), starts[1:])
    statuses, parts = g["status"].to_numpy()[starts], g["partition"].to_numpy()[starts]
    for st in STATUS_COLOURS:  # one artist per status: fast with 100s of partitions
        segs = [xy for xy, s in zip(xys, statuses) if s == st]
        if segs:
            artists.append(ax.add_collection(LineCollection(
                segs, colors=STATUS_COLOURS[st], linewidths=2, linestyles=STATUS_STYLES[st])))
            if max(len(xy) for xy in segs) < 3:
                pts = np.vstack(segs)
                artists.append(ax.scatter(pts[:, 0], pts[:, 1], color=STATUS_COLOURS[st], s=25, zorder=3))
    if len(xys) > 24:  # on a big topic labels only pile up on each other (the grid names partitions)
        return artists
    ends: dict = {}
    for xy, part in zip(xys, parts):
        ends.setdefault(tuple(np.nan_to_num(xy[-1])), []).append(str(part))
    # line ends at the same height share one label; past a dozen labels they pile up too
    if len(ends) <= 12:
        for (ex, ey), names in ends.items():
            label = "p" + ",".join(names) if len(names) <= 6 else f"{len(names)} partitions"
            artists.append(ax.annotate(label, (ex, ey), textcoords="offset points", xytext=(4, 0),
                                       fontsize=8, va="center"))
    return artists


def plot_lag(history: pd.DataFrame, window: int = burrow.DEFAULT_WINDOW, title: str | None = None) -> Figure:
    """Lag per partition over time; each line coloured by its Burrow status (OK ... REWIND)."""
    data, status = lag_frame(history, window)
    groups = list(dict.fromkeys(data["group"])) or ["(no samples yet)"]
    fig = _figure(8, 1.2 + 2.8 * len(groups))
    axes = fig.subplots(len(groups), 1, squeeze=False)[:, 0]
    fig.lag_axes = {}  # group -> (axes, its data artists): what a live view redraws
    for ax, g in zip(axes, groups):
        fig.lag_axes[g] = (ax, lag_artists(ax, data[data["group"] == g]))
        ax.autoscale_view()
        ax.set_title(lag_title(g, status), fontsize=11, loc="left")
        ax.set_ylabel("lag (records)")
        ax.set_ylim(bottom=0)
        ax.margins(x=0.08)  # room for the partition labels at the line ends
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("seconds since the first sample")
    handles = [Line2D([], [], color=STATUS_COLOURS[s], linestyle=STATUS_STYLES[s], linewidth=2, label=s)
               for s in burrow.STATUSES]
    fig.legend(handles=handles, loc="outside lower center", ncol=5, frameon=False,
               title=f"Burrow status over the last {window} samples (line end: partition)")
    fig.suptitle(title or "Consumer lag over time")
    fig.data = data
    fig.status = status
    return fig


def _seconds_since(times: pd.Series) -> pd.Series:
    secs = burrow._seconds(times)
    return secs - secs.min()
