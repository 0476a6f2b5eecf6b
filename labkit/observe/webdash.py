"""The live dashboard as a web page, for the projector: ``labkit dashboard TOPIC [--group G]`` (notebook 11).

An instructor puts the lab's live view on the wall while learners work: the partition grid, the
group's lag, the broker buttons (``widgets.Dashboard``, notebook 06) and a table of each broker's
key metrics (``MetricsPanel``, from the exporters of notebook 11). labkit writes a small notebook
that builds them and serves it with **Voilà**, which runs the notebook in a kernel and shows only
its widgets, as a standalone page on 127.0.0.1 (never another interface). Ctrl-C stops Voilà and
its kernel; the cluster keeps running.
"""
from __future__ import annotations

import html
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

from .. import config
from ..errors import LabError
from .metrics import scrape

WATCHED = {  # column title -> metric: the numbers an instructor points at
    "under-replicated": "kafka_server_replicamanager_underreplicatedpartitions",
    "offline": "kafka_controller_kafkacontroller_offlinepartitionscount",
    "active controller": "kafka_controller_kafkacontroller_activecontrollercount",
    "leaders": "kafka_server_replicamanager_leadercount",
    "heap MiB": "jvm_memory_used_bytes",
}


def metrics_table(df) -> str:
    """An HTML table, one row per broker, of ``WATCHED`` from one scrape (``metrics.scrape``)."""
    head = "".join(f"<th>{html.escape(t)}</th>" for t in ["broker", "metrics", *WATCHED])
    rows = []
    for node in config.NODES:
        mine = df[df["broker"] == node]
        up = mine[mine["metric"] == "up"]
        if up.empty or not up["value"].iloc[0]:
            why = up["labels"].iloc[0].removeprefix("error=") if not up.empty else "not asked"
            rows.append(f"<tr><td>{node}</td><td colspan='{len(WATCHED) + 1}'>DOWN: {html.escape(why)}</td></tr>")
            continue
        cells = []
        for metric in WATCHED.values():
            value = mine[(mine["metric"] == metric) & mine["labels"].isin(["", "area=heap"])]["value"]
            number = value.iloc[0] if len(value) else float("nan")
            cells.append(f"{number / 2**20:.0f}" if metric.endswith("_bytes") else f"{number:g}")
        rows.append(f"<tr><td>{node}</td><td>up</td>{''.join(f'<td>{c}</td>' for c in cells)}</tr>")
    return f"<table class='labkit-metrics'><tr>{head}</tr>{''.join(rows)}</table>"


class MetricsPanel:
    """An HTML widget with ``metrics_table``, refreshed every ``every`` s by a daemon thread."""

    def __init__(self, lab, every: float = 2.0, duration: float = 4 * 3600.0):
        import ipywidgets as w
        self.lab, self.every, self.duration = lab, max(0.5, float(every)), float(duration)
        self.view = w.HTML("asking the brokers ...").add_class("labkit-metrics-panel")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="labkit-metrics-panel", daemon=True)

    def _run(self) -> None:
        import time
        end = time.monotonic() + self.duration
        while not self._stop.is_set() and time.monotonic() < end:
            try:
                self.view.value = metrics_table(scrape(self.lab.cluster, "|".join(WATCHED.values())))
            except Exception as exc:  # the panel reports, never dies: a broker down is the lesson
                self.view.value = f"<code>metrics unavailable: {html.escape(str(exc).splitlines()[0])}</code>"
            self._stop.wait(self.every)

    def show(self) -> "MetricsPanel":
        from IPython.display import display
        display(self.view)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()


def page(topic: str, group: str | None) -> str:
    """The notebook Voilà serves: the dashboard and the metrics panel, as JSON text."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
    title = f"Kafka lab · topic {topic}" + (f" · group {group}" if group else "")
    cells = [new_markdown_cell(f"## {html.escape(title)}"),
             new_code_cell("from labkit.lab import Lab\nfrom labkit.observe.webdash import MetricsPanel\n"
                           f"lab = Lab()\ndash = lab.dashboard({topic!r}, group={group!r}, mode='live')\n"
                           "panel = MetricsPanel(lab).show()")]
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                             "language": "python"}})
    return nbformat.writes(nb)


def serve(cluster, topic: str, group: str | None = None, port: int | None = None, out=sys.stdout,
          page_text: str | None = None, title: str | None = None) -> int:
    """Run Voilà on 127.0.0.1 with the dashboard page until Ctrl-C (or SIGTERM); returns its exit code.

    ``page_text`` and ``title``: another page to serve the same way (the class board, issue 20)."""
    exe = shutil.which("voila")
    if not exe:
        raise LabError("Voilà was not found on PATH.", hint="pip install 'voila>=0.5,<0.6' into the lab's venv.")
    base = getattr(cluster, "port_base", None) or config.port_base()
    port = port or config.dashboard_port(base)
    from ..cluster import procs
    if not procs.port_free(port):
        owner = procs.port_owner(port)
        raise LabError(f"Port {port} for the dashboard page is already taken{' by ' + owner if owner else ''}.",
                       hint="stop the other dashboard, or pass --port with a free port.")
    folder = Path(getattr(cluster, "state_dir", None) or config.state_dir()) / "dashboard"
    folder.mkdir(parents=True, exist_ok=True)
    notebook = folder / "dashboard.ipynb"
    notebook.write_text(page_text or page(topic, group))
    env = dict(os.environ, LABKIT_DASHBOARD="live")  # a page someone watches: refresh, do not snapshot
    env.pop("PYTEST_CURRENT_TEST", None)
    cmd = [exe, str(notebook), "--no-browser", f"--Voila.ip={config.HOST}", f"--port={port}",
           "--Voila.port_retries=0", "--strip_sources=True"]
    out.write(f"{title or f'Dashboard of {topic!r}'} at http://{config.HOST}:{port}/ (Ctrl-C stops it; the cluster keeps running)\n")
    out.flush()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C even when started from a script
    # its own session: Ctrl-C reaches this process only, which then stops Voilà and its kernel in order
    proc = subprocess.Popen(cmd, env=env, cwd=folder, start_new_session=True, stdin=subprocess.DEVNULL)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGTERM)  # Voilà shuts its kernels down on SIGTERM
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        out.write("Dashboard stopped.\n")
        return 0
