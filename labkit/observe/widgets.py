"""A live dashboard in the notebook: partition grid, lag plot and broker buttons (notebook 06).

``lab.dashboard("orders", group="billing")`` shows the topic's brokers x partitions grid and the
group's lag over time, redrawn every few seconds by a background thread (``labkit.observe.liveplots``
redraws only what changed, so a refresh costs milliseconds, not seconds), with buttons to kill,
stop, start, pause and resume each broker (only those that fit its state are enabled: a dead
broker's kill is greyed out, its start stands out). The pictures stack and shrink to the notebook
column; each broker's state is a line of text too. The thread only sets widget values (PNG bytes
of the figures, HTML text), never writes into an Output with ``with out:``, so the kernel stays
free for the learner's next cell. Broker buttons run their action on a worker thread for the same reason.
``dash.stop()`` (or the dashboard's own stop button) ends the refreshing; it also ends by itself
after ``duration`` seconds. With no live front end (nbval, nbconvert, a script) it draws one
static snapshot and returns. ``mode="live"`` or ``"static"`` (or ``LABKIT_DASHBOARD``) forces one.
"""
from __future__ import annotations

import io
import os
import threading
import time

import pandas as pd

from .. import config
from ..errors import LabError
from .liveplots import GridView, LagView
from .sampler import LagSampler

ACTIONS = ("kill", "stop", "start", "pause", "resume")


def live_frontend() -> bool:
    """True in a Jupyter kernel that a person is looking at; False under pytest/nbval or a script."""
    forced = os.environ.get("LABKIT_DASHBOARD", "").lower()
    if forced in ("live", "static"):
        return forced == "live"
    if "PYTEST_CURRENT_TEST" in os.environ or os.environ.get("CI"):
        return False  # nbval's kernel inherits pytest's environment; nobody clicks there
    try:
        from IPython import get_ipython
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def grid_text(grid: pd.DataFrame) -> str:
    """The grid picture in words, shown under it: for readers of text (and a browser test)."""
    leaders = grid.loc[grid["role"] == "leader", "broker"].value_counts().sort_index()
    offline = sorted(set(grid.loc[grid["role"] == "offline", "partition"]))
    dead = sorted(set(grid.loc[~grid["broker_alive"].astype(bool), "broker"]))
    listed = ", ".join(map(str, offline)) if len(offline) <= 10 else f"{len(offline)} of them"
    return (f"leaders: {', '.join(f'broker {b} leads {n}' for b, n in leaders.items()) or 'none'}; "
            f"offline partitions: {listed or 'none'}; dead brokers: {', '.join(map(str, dead)) or 'none'}")


class Dashboard:
    """One topic (and optionally one group) watched live; see the module docstring."""

    def __init__(self, lab, topic: str, group: str | None = None, every: float = 2.0,
                 mode: str = "auto", duration: float = 1800.0):
        if mode not in ("auto", "live", "static"):
            raise LabError(f"mode={mode!r} is not a dashboard mode.", hint="use 'auto', 'live' or 'static'.")
        self.lab, self.topic, self.group = lab, topic, group
        self.every, self.duration = max(0.5, float(every)), float(duration)
        self.mode = ("live" if live_frontend() else "static") if mode == "auto" else mode
        self.sampler = LagSampler(lab.inspector, group, start=False) if group else None
        self.grid = GridView(title=f"{topic}: replicas by broker")
        self.lag = LagView(title=f"{group}: lag over time") if group else None
        self.figures: dict = {}
        self.shown_grid = None  # the grid data the widget shows now
        self.refreshes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._busy = threading.Lock()  # one broker action at a time
        self.view = None

    def __repr__(self) -> str:
        if self.mode == "static":
            return f"<Dashboard of {self.topic!r}: static snapshot (no live front end)>"
        state = "refreshing" if self.running else "stopped"
        return f"<Dashboard of {self.topic!r}: {state} every {self.every:g} s; .stop() ends it>"

    # ---- drawing --------------------------------------------------------------------------
    def snapshot(self) -> dict:
        """Ask the cluster once and draw the grid (and the lag plot with a group).

        The figures are live: the next refresh redraws them in place (``labkit.observe.liveplots``).
        """
        # one round trip for all three tables (the lag is the sampler's next sample)
        groups = self.sampler.groups if self.sampler else []
        brokers, parts, lag = self.lab.inspector.overview(self.topic, groups)
        figs = {"grid": self.grid.update(parts, brokers)}
        if self.sampler:
            self.sampler.record(lag)
            figs["lag"] = self.lag.update(self.sampler.history)
        self.figures, self.brokers = figs, brokers
        self.refreshes += 1
        return figs

    def show(self) -> "Dashboard":
        """Static: display one snapshot. Live: display the widgets and start refreshing."""
        if self.running:  # one refresh thread per dashboard
            return self
        if self.mode == "static":
            figs = self.snapshot()
            try:
                from IPython import get_ipython
                from IPython.display import display
                if get_ipython() is None:
                    raise ImportError
                display(*figs.values())
            except ImportError:  # a plain script: the tables say what the pictures would
                print(self.figures["grid"].data.to_string(index=False))
            return self
        self._build()
        from IPython.display import display
        display(self.view)
        self._thread = threading.Thread(target=self._run, name=f"labkit-dashboard-{self.topic}", daemon=True)
        self._thread.start()
        return self

    # ---- live mode ------------------------------------------------------------------------
    def _build(self) -> None:
        """The widgets, with stable CSS classes (``labkit-dashboard``, ``labkit-broker-2``,
        ``labkit-kill`` ...) so a browser test can find them; each broker's state is text too."""
        import ipywidgets as w
        # pictures one above the other, each at most the column's width (height follows):
        # side by side they needed about 1170 px and a notebook column at 1280 px has about 850
        fit = dict(width="auto", height="auto", max_width="100%")
        self.grid_img = w.Image(format="png", layout=w.Layout(**fit)).add_class("labkit-grid")
        self.grid_words = w.HTML().add_class("labkit-grid-words")
        self.lag_img = w.Image(format="png", layout=w.Layout(**fit)).add_class("labkit-lag")
        self.status = w.HTML("starting ...").add_class("labkit-status")
        self.broker_labels = {n: w.HTML(f"<code>broker {n}: ?</code>", layout=w.Layout(width="190px"))
                              .add_class("labkit-broker-state") for n in config.NODES}  # buttons align
        self.buttons: dict = {}
        rows = []
        for n in config.NODES:
            self.buttons[n] = {}
            for action in ACTIONS:
                b = w.Button(description=action, layout=w.Layout(width="70px"),
                             button_style="danger" if action == "kill" else "").add_class(f"labkit-{action}")
                b.on_click(lambda _b, n=n, action=action: self.act(n, action))
                self.buttons[n][action] = b
            rows.append(w.HBox([self.broker_labels[n], *self.buttons[n].values()],
                               layout=w.Layout(flex_flow="row wrap", align_items="center"))
                        .add_class("labkit-broker").add_class(f"labkit-broker-{n}"))
        stop = w.Button(description="stop dashboard", icon="stop").add_class("labkit-stop-dashboard")
        stop.on_click(lambda _b: self.stop(wait=False))
        pictures = [self.grid_img, self.grid_words] + ([self.lag_img] if self.group else [])
        self.view = w.VBox([w.VBox(pictures, layout=w.Layout(align_items="flex-start")), *rows,
                            w.HBox([stop, self.status], layout=w.Layout(flex_flow="row wrap"))],
                           layout=w.Layout(max_width="100%")).add_class("labkit-dashboard")

    def _show_brokers(self) -> None:
        """Each broker's state as text, and only the buttons that make sense in it."""
        for row in self.brokers.itertuples():
            self.broker_labels[row.id].value = (
                f"<code>broker {row.id}: {row.state:<8}{' ctl' if row.is_controller else ''}"
                f"{'' if row.alive else ' DEAD'}</code>")
            running, paused = row.state == "running", row.state == "paused"
            b = self.buttons[row.id]
            b["kill"].disabled = not (running or paused)
            b["stop"].disabled = not running  # a paused JVM would not hear SIGTERM: resume first
            b["pause"].disabled = not running
            b["start"].disabled = running or paused
            b["start"].button_style = "" if b["start"].disabled else "success"
            b["resume"].disabled = not paused
            b["resume"].button_style = "warning" if paused else ""

    def act(self, node: int, action: str) -> None:
        """Run a broker action (button click) on a worker thread; its result shows in the status."""
        if not self._busy.acquire(blocking=False):
            self.status.value = "busy with the previous action; try again when it is done"
            return
        self.status.value = f"broker {node}: {action} ..."

        def work():
            try:
                cluster = self.lab.cluster
                fn = {"kill": cluster.kill, "stop": cluster.stop, "pause": cluster.pause,
                      "resume": cluster.resume,
                      "start": lambda n: cluster.start(n, out=io.StringIO())}[action]
                self.status.value = str(fn(node))
            except Exception as exc:
                self.status.value = f"<b>{action} failed</b>: {str(exc).splitlines()[0]}"
            finally:
                self._busy.release()
        threading.Thread(target=work, name=f"labkit-dashboard-{action}-{node}", daemon=True).start()

    def _run(self) -> None:
        end = time.monotonic() + self.duration
        while not self._stop.is_set() and time.monotonic() < end:
            t0 = time.perf_counter()
            try:
                grid = self.snapshot()["grid"].data
                # the picture only changes when a replica's role does; compared with what the
                # widget shows, so a refresh that failed halfway is caught up by the next one
                if self.shown_grid is None or not self.shown_grid.equals(grid):
                    self.grid_img.value = self.grid.png()
                    self.grid_words.value = f"<small>{grid_text(grid)}</small>"
                    self.shown_grid = grid
                if self.lag is not None:
                    self.lag_img.value = self.lag.png()
                self._show_brokers()
                if not self._busy.locked():
                    self.status.value = (f"refreshed {pd.Timestamp.now():%H:%M:%S} "
                                         f"in {time.perf_counter() - t0:.2f} s")
            except Exception as exc:  # a dead cluster is shown, not raised from a thread
                self.status.value = f"refresh failed: {str(exc).splitlines()[0]}"
            self._stop.wait(self.every)
        if not self._stop.is_set():
            self.status.value = f"stopped after {self.duration:.0f} s; run the cell again to resume"

    @property
    def running(self) -> bool:
        return bool(self._thread and self._thread.is_alive())

    def stop(self, wait: bool = True, timeout: float = 20.0) -> None:
        """Stop refreshing; with ``wait`` return once the refresh thread has ended."""
        self._stop.set()
        if wait and self._thread and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if self.view is not None:
            self.status.value = "dashboard stopped"
