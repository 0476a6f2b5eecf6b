"""Broker metrics over time: the graph an operator keeps in Grafana, drawn with matplotlib (notebook 11).

``plot_metrics(history, names)`` draws one panel per metric name from a ``MetricsSampler``'s
history, one line per broker (and per label set, such as a topic or request type). Counters
(names ending ``_total``, ``_count`` or ``_sum``) only ever grow, so, like Prometheus's ``rate()``,
the panel shows their increase per second between samples; a counter that falls (its broker
restarted) starts again from there instead of drawing a negative rate.
"""
from __future__ import annotations

import difflib

import pandas as pd

from ..errors import LabError
from .plots import _figure

COUNTER_SUFFIXES = ("_total", "_count", "_sum")


def is_counter(name: str) -> bool:
    """True for a name Prometheus uses for an ever-growing counter (plotted as a rate)."""
    return name.endswith(COUNTER_SUFFIXES)


def check_names(history: pd.DataFrame, names) -> list[str]:
    """``names`` as a list, each present in ``history``; else a LabError listing near names."""
    names = [names] if isinstance(names, str) else list(names or [])
    if not names:
        raise LabError("plot_metrics needs at least one metric name.",
                       hint="for example lab.plot_metrics(history, "
                            "['kafka_server_replicamanager_underreplicatedpartitions']).")
    known = sorted(set(history["metric"])) if len(history) else []
    for name in names:
        if name in known:
            continue
        near = difflib.get_close_matches(name, known, n=5, cutoff=0.5) or \
            [k for k in known if any(part in k for part in name.lower().split("_") if len(part) > 4)][:5]
        raise LabError(f"No metric named {name!r} in this history "
                       f"({len(known)} metric names, {history['time'].nunique() if len(history) else 0} samples).",
                       hint=(f"did you mean {', '.join(near)}?" if near else
                             "lab.metrics()['metric'].unique() lists every name; a sampler started with "
                             "match=... keeps only the names that match."))
    return names


def rates(series: pd.DataFrame) -> pd.Series:
    """Increase per second of one counter's samples (``time``, ``value``), NaN where it reset."""
    series = series.sort_values("time")
    seconds = series["time"].diff().dt.total_seconds()
    change = series["value"].diff()
    per_second = change / seconds
    return per_second.where(change >= 0).set_axis(series["time"])


def plot_metrics(history, names, title: str | None = None):
    """One panel per metric in ``names``, a line per broker and label set (notebook 11).

    ``history`` is a ``MetricsSampler`` or its ``history`` DataFrame. Returns the figure.
    """
    history = getattr(history, "history", history)
    if not isinstance(history, pd.DataFrame) or "metric" not in history.columns:
        raise LabError("plot_metrics needs a metrics history.",
                       hint="sampler = lab.sample_metrics(every=1.0); ...; lab.plot_metrics(sampler, [...]).")
    names = check_names(history, names)
    fig = _figure(9, 0.6 + 2.4 * len(names))
    axes = fig.subplots(len(names), 1, sharex=True, squeeze=False)
    for ax, name in zip(axes[:, 0], names):
        rows = history[history["metric"] == name]
        for (broker, labels), series in rows.groupby(["broker", "labels"], sort=True):
            ys = rates(series) if is_counter(name) else series.set_index("time")["value"]
            label = f"broker {broker}" + (f" {labels}" if labels else "")
            ax.plot(ys.index, ys.values, marker=".", label=label)
        ax.set_title(f"{name}{' (per second)' if is_counter(name) else ''}", fontsize=10)
        ax.grid(alpha=0.3)
        if rows[["broker", "labels"]].drop_duplicates().shape[0] <= 8:
            ax.legend(fontsize=8, loc="upper left")
    axes[-1, 0].set_xlabel("time")
    if title:
        fig.suptitle(title)
    return fig
