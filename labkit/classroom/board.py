"""The instructor's live progress board: ``lab.progress_board()`` (issue 20).

A table of learners x exercises (green ✔, red ✘, with the time of the latest verdict) and,
above it, who has tried an exercise without solving it for more than ``stuck_minutes``. A
background thread re-reads ``_lab.progress`` every ``every`` seconds and only sets the widget's
HTML value (as the lab's dashboard does, labkit/observe/widgets.py), so the kernel stays free; it
ends on ``board.stop()`` or after ``duration`` seconds. Without a live front end (nbval, a
script) it shows one static snapshot. ``labkit class board`` serves the same board as a web page
for the projector, through the lab dashboard's Voilà machinery (``observe/webdash.py``).
"""
from __future__ import annotations

import html
import threading
import time

from ..errors import LabError
from . import progress


def render(records: list[dict], stuck_minutes: float, now: float | None = None) -> str:
    """The board as HTML: the stuck list, then the table (what the widget and a page show)."""
    now = time.time() if now is None else now
    df = progress.table(records)
    late = progress.stuck(records, stuck_minutes, now)
    solved = sum(cell.startswith("✔") for row in df.itertuples(index=False) for cell in row)
    head = (f"<p><b>{len(df.index)} learner(s), {solved} exercise(s) solved</b> "
            f"(updated {time.strftime('%H:%M:%S', time.localtime(now))})</p>")
    if late:
        items = "".join(f"<li>{html.escape(s['learner'])}: {html.escape(s['exercise'])} for "
                        f"{s['minutes']:.0f} min</li>" for s in late)
        head += f"<p style='color:#b00'><b>Stuck for more than {stuck_minutes:g} min:</b></p><ul>{items}</ul>"
    else:
        head += f"<p>Nobody is stuck for more than {stuck_minutes:g} min.</p>"
    if df.empty:
        return head + "<p>No verdicts yet: they arrive as learners run their exercise checks.</p>"
    cols = list(df.columns)
    rows = []
    for learner, row in df.iterrows():
        cells = "".join(f"<td style='background:{_colour(v)};padding:2px 8px'>{html.escape(v)}</td>" for v in row)
        rows.append(f"<tr><th style='text-align:left'>{html.escape(str(learner))}</th>{cells}</tr>")
    header = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    return head + f"<table><tr><th>learner</th>{header}</tr>{''.join(rows)}</table>"


def _colour(cell: str) -> str:
    return "#cfc" if cell.startswith("✔") else "#fcc" if cell.startswith("✘") else "#fff"


class Board:
    """The live widget; ``show()`` displays it, ``stop()`` ends the refreshing."""

    def __init__(self, lab, stuck_minutes: float = 10.0, every: float = 5.0, mode: str = "auto",
                 duration: float = 4 * 3600.0):
        self.lab, self.stuck_minutes = lab, float(stuck_minutes)
        self.every, self.duration = max(1.0, float(every)), float(duration)
        self.mode = mode
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.view = None
        self.records = progress.read_lab(lab)  # no class here, or a learner's lab: a LabError at once

    def html(self) -> str:
        return render(self.records, self.stuck_minutes)

    def show(self) -> "Board":
        from IPython.display import HTML, display

        from ..observe.widgets import live_frontend
        live = self.mode == "live" or (self.mode == "auto" and live_frontend())
        if not live:
            display(HTML(self.html()))
            return self
        import ipywidgets as w
        self.view = w.HTML(self.html()).add_class("labkit-progress-board")
        display(self.view)
        self._thread = threading.Thread(target=self._run, name="labkit-progress-board", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        end = time.monotonic() + self.duration
        while not self._stop.wait(self.every) and time.monotonic() < end:
            try:
                self.records = progress.read(self.lab.bootstrap_servers, timeout=10)
                self.view.value = self.html()
            except LabError as exc:  # the class cluster went away: say so on the board, keep trying
                self.view.value = f"<p style='color:#b00'>{html.escape(exc.message)}</p>" + self.html()

    def stop(self, timeout: float = 20.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def page(state_dir, stuck_minutes: float, every: float) -> str:
    """The notebook Voilà serves for ``labkit class board``: the live board of this class."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
    code = ("from labkit.lab import Lab\nfrom labkit.cluster.local import LocalCluster\n"
            f"lab = Lab(LocalCluster(state_dir={str(state_dir)!r}, secure=True))\n"
            f"board = lab.progress_board(stuck_minutes={float(stuck_minutes)!r}, every={float(every)!r}, mode='live')")
    nb = new_notebook(cells=[new_markdown_cell("## Kafka lab · class progress"), new_code_cell(code)],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    return nbformat.writes(nb)


def serve(cluster, stuck_minutes: float = 10.0, every: float = 5.0, port: int | None = None) -> int:
    """``labkit class board``: the board as a web page on 127.0.0.1 until Ctrl-C."""
    from ..observe import webdash
    from . import roster
    roster.require(cluster)
    progress.read(cluster.bootstrap_servers, timeout=10)  # no class cluster running: a LabError now
    return webdash.serve(cluster, "class progress", port=port, page_text=page(cluster.state_dir, stuck_minutes, every),
                         title="The class's progress board")
