"""Pictures the live dashboard redraws in place, fast enough to refresh every second (notebook 06).

Building a matplotlib figure and rendering it takes hundreds of milliseconds, mostly layout and
tick labels, and those hardly change from one refresh to the next. A view builds its figure
once with ``plots`` or ``lagplot``, renders the unchanging part (axes, ticks, legend, titles) once, and
on each refresh draws only the artists that carry data (grid cells, lag lines) over that saved
background: matplotlib's blitting. When the unchanging part does change (a broker dies, a
group's status changes, lag outgrows the y axis), the view redraws everything once.

``view.update(...)`` returns ``view.fig``, an ordinary figure with ``fig.data`` like any
``plot_*`` result; ``view.png()`` gives the PNG bytes that the dashboard's Image widget shows.
"""
from __future__ import annotations

import math
import struct
import threading
import zlib

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg

from . import burrow, lagplot, plots

DPI = 80  # notebook size, and a quarter fewer pixels to draw than matplotlib's 100


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode(canvas) -> bytes:
    """The canvas as an RGBA PNG: rows unfiltered, zlib level 1. Written here rather than by
    Pillow, whose per-row filtering took twice as long (6 ms against 12 for the grid) for a
    file only a fifth smaller; the pixels are the same."""
    rgba = np.asarray(canvas.buffer_rgba())
    h, w = rgba.shape[:2]
    rows = np.zeros((h, 1 + 4 * w), np.uint8)  # each row starts with its filter type, 0: none
    rows[:, 1:] = rgba.reshape(h, -1)
    header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)  # 8 bits per channel, RGBA
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 1)) + _chunk(b"IEND", b""))


class _View:
    """A figure whose data artists are redrawn over a saved background.

    ``lock`` guards the figure: a dashboard's refresh thread and a learner's cell may both use it.
    """

    def __init__(self):
        self.lock = threading.RLock()
        self.fig = None
        self.full_draws = 0  # how often the whole figure was rendered (tests and benchmarks read it)
        self._background = None
        self._renderer = None
        self._png = None  # the picture last encoded, while nothing in it has changed since

    def _adopt(self, fig) -> None:
        fig.set_dpi(DPI)
        FigureCanvasAgg(fig)
        self.fig, self._background, self._png = fig, None, None

    def _dynamic(self) -> list:
        raise NotImplementedError

    def _capture(self) -> None:
        """Render everything but the data artists and keep the pixels."""
        dynamic = self._dynamic()
        for artist in dynamic:
            artist.set_visible(False)
        try:
            self.fig.canvas.draw()
            self._background = self.fig.canvas.copy_from_bbox(self.fig.bbox)
            self._renderer = self.fig.canvas.get_renderer()
            self.full_draws += 1
        finally:
            for artist in dynamic:  # _dynamic() lists only visible artists
                artist.set_visible(True)

    def png(self) -> bytes:
        """The current picture as PNG bytes: the saved background plus the data drawn on it
        (the same bytes again while no data changed: a grid whose roles all stayed put)."""
        with self.lock:
            canvas = self.fig.canvas
            # someone else rendered the figure (a notebook showed it at another dpi): start over
            if self._background is None or canvas.get_renderer() is not self._renderer:
                self._capture()
                self._png = None
            if self._png is None:
                canvas.restore_region(self._background)
                for artist in sorted(self._dynamic(), key=lambda a: a.get_zorder()):
                    self.fig.draw_artist(artist)
                self._png = encode(canvas)
            return self._png


class GridView(_View):
    """``plots.plot_partitions`` kept live: roles change in place, a dead broker redraws it all."""

    def __init__(self, title: str | None = None):
        super().__init__()
        self.title, self.key = title, None

    def update(self, parts: pd.DataFrame, brokers: pd.DataFrame):
        with self.lock:
            return self._update(parts, brokers)

    def _update(self, parts: pd.DataFrame, brokers: pd.DataFrame):
        key = (tuple(zip(parts["topic"], parts["partition"])), tuple(brokers["id"]),
               tuple(bool(a) for a in brokers["alive"]))
        if key != self.key:  # other partitions or brokers, or one died: a new figure
            self._adopt(plots.plot_partitions(parts, brokers, self.title))
            self.key = key
            return self.fig
        data = plots.grid_data(parts, brokers)
        code_of = plots.role_codes(data)
        for _ax, topic, chunk, image, letters in self.fig.cells:
            codes = plots.cell_codes(code_of, topic, chunk, list(brokers["id"]))
            if not np.array_equal(codes, image.get_array()):  # a role changed: redraw on png()
                image.set_data(codes)
                plots.mark_cells(letters, codes)
                self._png = None
        self.fig.data = data
        return self.fig

    def _dynamic(self) -> list:
        # the cells, and what lies on top of them: separators, dead-broker hatching, letters, frame
        # (not the frame of an empty cell of the layout: plot_partitions turned those off)
        return [a for ax in self.fig.axes if ax.axison
                for a in (*ax.images, *ax.collections, *ax.patches, *ax.texts, *ax.spines.values())
                if a.get_visible()]


def headroom(value: float) -> float:
    """The smallest of 1, 2, 5 x 10^k at least 1.25 x ``value``: axis limits that change rarely."""
    need = max(1.25 * float(value), 1.0)
    k = 10 ** math.floor(math.log10(need))
    return next(m * k for m in (1, 2, 5, 10) if m * k >= need)


def _top(column: pd.Series) -> float:
    """The largest known value (lag is unknown while a partition's leader is down), else 0."""
    values = column.astype("Float64").to_numpy(float, na_value=np.nan)
    return float(np.nanmax(values)) if np.isfinite(values).any() else 0.0


class LagView(_View):
    """``lagplot.plot_lag`` kept live: new lines each refresh, on axes that grow only by steps."""

    def __init__(self, window: int = burrow.DEFAULT_WINDOW, title: str | None = None):
        super().__init__()
        self.window, self.title = window, title
        self.limits: tuple = ()

    def update(self, history: pd.DataFrame):
        with self.lock:
            return self._update(history)

    def _update(self, history: pd.DataFrame):
        data, status = lagplot.lag_frame(history, self.window)
        groups = list(dict.fromkeys(data["group"]))
        x_max, y_max = (_top(data[c]) for c in ("seconds", "lag")) if len(data) else (0.0, 0.0)
        if self.fig is None or list(self.fig.lag_axes) != (groups or ["(no samples yet)"]):
            self._adopt(lagplot.plot_lag(history, self.window, self.title))
            self._set_limits(x_max, y_max)
            self._quiet_labels()
            return self.fig
        if not (x_max <= self.limits[0] / 1.1 and y_max <= self.limits[1]):
            # lag outgrew the axes: new limits on the same figure, whose ticks, texts and legend
            # are kept (a third cheaper than building it again), and a new background
            self._set_limits(x_max, y_max)
            self._background = None
        self._png = None  # new lines every time
        by_group = dict(list(data.groupby("group", sort=False)))  # one pass, not one per group
        for g, (ax, artists) in self.fig.lag_axes.items():
            for artist in artists:
                artist.remove()
            self.fig.lag_axes[g] = (ax, lagplot.lag_artists(ax, by_group.get(g, data.iloc[:0])))
            title = lagplot.lag_title(g, status)
            if ax.get_title(loc="left") != title:  # a status changed: the background too
                ax.set_title(title, fontsize=11, loc="left")
                self._background = None
        self._quiet_labels()
        self.fig.data, self.fig.status = data, status
        return self.fig

    def _set_limits(self, x_max: float, y_max: float) -> None:
        self.limits = (headroom(x_max), headroom(y_max))
        for ax, _artists in self.fig.lag_axes.values():
            ax.set_xlim(-0.02 * self.limits[0], self.limits[0])
            ax.set_ylim(0, self.limits[1])

    def _quiet_labels(self) -> None:
        for _ax, artists in self.fig.lag_axes.values():
            for artist in artists:
                artist.set_in_layout(False)  # line-end labels must not move the axes around

    def _dynamic(self) -> list:
        return [a for _ax, artists in self.fig.lag_axes.values() for a in artists if a.get_visible()]
