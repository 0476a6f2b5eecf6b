"""Broker metrics over time: the graph an operator keeps in Grafana, drawn with matplotlib (notebook 11).

``plot_metrics(history, names)`` draws one panel per metric name from a ``MetricsSampler``'s
history, one line per broker (and per label set, such as a topic or request type). Counters
(names ending ``_total``, ``_count`` or ``_sum``) only ever grow, so, like Prometheus's ``rate()``,
the panel shows their increase per second between samples; a counter that falls (its broker
restarted) starts again from there instead of drawing a negative rate. A Kafka histogram's
``..._mean`` (such as a request's ``TotalTimeMs``) is its mean since the broker started; with its
``..._count`` beside it, the panel shows the mean over each interval between samples instead,
``Δ(mean × count) / Δcount``: the same as PromQL's ``rate(sum) / rate(count)``.
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


def interval_means(history: pd.DataFrame, name: str) -> pd.DataFrame | None:
    """Rows (time, broker, labels, value) of ``name``'s mean over each interval, or None when the
    history has no ``..._count`` for this ``..._mean``."""
    count = name[: -len("_mean")] + "_count"
    if not name.endswith("_mean") or count not in set(history["metric"]):
        return None
    keys = ["time", "broker", "labels"]
    both = history[history["metric"] == name][keys + ["value"]].merge(
        history[history["metric"] == count][keys + ["value"]], on=keys, suffixes=("_mean", "_count"))
    parts = []
    for _, one in both.sort_values("time").groupby(["broker", "labels"]):
        added = one["value_count"].diff()
        total = (one["value_mean"] * one["value_count"]).diff()
        parts.append(one[keys].assign(value=(total / added).where(added > 0)))
    return pd.concat(parts) if parts else None


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
        means = interval_means(history, name)
        rows = history[history["metric"] == name] if means is None else means
        for (broker, labels), series in rows.groupby(["broker", "labels"], sort=True):
            ys = rates(series) if is_counter(name) else series.sort_values("time").set_index("time")["value"]
            label = f"broker {broker}" + (f" {labels}" if labels else "")
            ax.plot(ys.index, ys.values, marker=".", label=label)
        unit = " (per second)" if is_counter(name) else " (mean over each interval)" if means is not None else ""
        ax.set_title(f"{name}{unit}", fontsize=10)
        ax.grid(alpha=0.3)
        if rows[["broker", "labels"]].drop_duplicates().shape[0] <= 8:
            ax.legend(fontsize=8, loc="upper left")
    axes[-1, 0].set_xlabel("time")
    if title:
        fig.suptitle(title)
    return fig
