"""The lab as a learner meets it: JupyterLab in Chromium, Run All, and the dashboard's buttons.

Notebook 00 must run top to bottom with Run All and show no error. The live dashboard must fit
a notebook column at 1280 px (no horizontal scroll), and its kill button must kill the broker:
the page says DEAD, `labkit status` agrees, and the start button brings the broker back.
Screenshots go to tests/output/; with LABKIT_REFRESH_DOCS=1 the dashboard's also refreshes
docs/img/dashboard.png (off by default, so a test run leaves the work tree clean).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import nbformat
import pytest

from labkit.errors import LabError
from labkit.wait import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
TOPIC, GROUP = "browser-dashboard", "browser-readers"

# What the notebook open in the page is doing: kernel status, each code cell's execution count,
# and the error outputs (read from JupyterLab's own models, not guessed from pixels).
NOTEBOOK_STATE = """(name) => {
  const app = window.jupyterapp;
  const w = app && app.shell.currentWidget;
  if (!w || !w.context || !w.context.path.endsWith(name) || !w.sessionContext) return null;
  const session = w.sessionContext.session;
  const kernel = session && session.kernel;
  const cells = w.content.widgets.filter(c => c.model.type === 'code');
  const errors = [];
  for (const c of cells)
    for (const o of c.model.outputs.toJSON())
      if (o.output_type === 'error') errors.push(o.ename + ': ' + o.evalue);
  return {kernel: kernel ? kernel.status : 'none', ready: w.context.isReady,
          counts: cells.map(c => c.model.executionCount), errors: errors};
}"""


def notebook_state(page, name):
    dialog = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
    if dialog.count():  # "Select Kernel" and the like: take the default
        print(f"[browser] accepting a dialog: {page.locator('.jp-Dialog').inner_text()[:120]!r}")
        dialog.first.click()
    return page.evaluate(NOTEBOOK_STATE, name)


def open_notebook(page, jupyter, name, timings):
    base, token, _ = jupyter
    t0 = time.monotonic()
    page.goto(f"{base}/lab/tree/{name}?token={token}", timeout=90_000)
    wait_for(f"{name} to open with an idle kernel", lambda: (lambda s: s and s["ready"] and s["kernel"] == "idle")(
        notebook_state(page, name)), timeout=120, interval=0.5)
    timings(f"{name} open, kernel idle", t0)


def run_all(page, name, timings, timeout):
    """Run All, as a learner does; return once every code cell ran and the kernel is idle."""
    t0 = time.monotonic()
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")

    def finished():
        s = notebook_state(page, name)
        if s and s["errors"]:  # Run All stops at an error: say which at once
            raise AssertionError(f"{name} raised under Run All: {s['errors']}")
        return s and s["kernel"] == "idle" and all(c is not None for c in s["counts"])
    try:
        wait_for(f"Run All of {name} to finish", finished, timeout=timeout, interval=1.0)
    except LabError:
        print(f"[browser] last state of {name}: {notebook_state(page, name)}")
        raise
    timings(f"{name}: Run All", t0)


def test_notebook_00_runs_with_run_all(page, jupyter, timings, out_dir):
    name = next(p.name for p in jupyter[2].glob("00_*.ipynb"))
    open_notebook(page, jupyter, name, timings)
    run_all(page, name, timings, timeout=400)
    state = notebook_state(page, name)
    assert state["counts"] and all(c is not None for c in state["counts"]) and not state["errors"]
    outputs = page.locator(".jp-NotebookPanel .jp-OutputArea-output").all_inner_texts()
    assert outputs and not [o for o in outputs if "Traceback" in o], outputs
    page.screenshot(path=str(out_dir / "browser-00-run-all.png"), full_page=False)


DASHBOARD_CELLS = [
    "import labkit as lk\nfrom confluent_kafka import KafkaException, TopicPartition\n"
    "lab = lk.start(quiet=True)",
    f"TOPIC, GROUP = {TOPIC!r}, {GROUP!r}\n"
    "lab.fresh_topic(TOPIC, partitions=3, replication_factor=3)\n"
    "with lab.producer() as p:\n"
    "    for i in range(60):\n"
    "        p.produce(TOPIC, str(i).encode(), partition=i % 3)\n"
    "    p.flush(30)\n"
    "reader = lab.consumer(GROUP, enable_auto_commit=False)\n"
    "lk.wait.wait_for('the group coordinator', lambda: reader.commit(\n"
    "    offsets=[TopicPartition(TOPIC, p, 5 * p) for p in range(3)], asynchronous=False) or True,\n"
    "    timeout=60, retry_on=(KafkaException,))\n"
    "reader.close()",
    "dash = lab.dashboard(TOPIC, GROUP, every=1.0, mode='live')",
]


# Does the dashboard fit its output area? Its own scroll width, and any element inside that
# scrolls sideways or reaches past the dashboard's right edge (a picture cut off by its row).
FIT = """e => {
  const right = e.getBoundingClientRect().right;
  const all = [...e.querySelectorAll('*')];
  const name = x => x.tagName.toLowerCase() + '.' + [...x.classList].join('.');
  return {scroll: e.scrollWidth, client: e.clientWidth,
          output: e.closest('.jp-OutputArea-output').clientWidth,
          images: [...e.querySelectorAll('img')].map(i => [i.naturalWidth, Math.round(i.getBoundingClientRect().width)]),
          scrolling: all.filter(x => x.clientWidth && x.scrollWidth > x.clientWidth + 1)
                        .map(x => name(x) + ' ' + x.scrollWidth + '>' + x.clientWidth),
          beyond: all.filter(x => x.getBoundingClientRect().right > right + 1)
                     .map(x => name(x) + ' right=' + Math.round(x.getBoundingClientRect().right) + '>' + Math.round(right))};
}"""


def broker_label(page, n):
    return page.locator(f".labkit-dashboard .labkit-broker-{n} .labkit-broker-state").inner_text()


def grid_words(page):
    """The line under the grid picture: its state in words (labkit.observe.widgets.grid_text)."""
    return page.locator(".labkit-dashboard .labkit-grid-words").inner_text()


def dashboard_text(page):
    """What the page shows, for a wait that timed out."""
    dash = page.locator(".labkit-dashboard")
    return (dash.inner_text() + "\ngrid: " + grid_words(page)) if dash.count() else "no dashboard on the page"


def labkit_status():
    """`labkit status` as a learner would type it, with the suite's environment (its cluster)."""
    done = subprocess.run([shutil.which("labkit") or "labkit", "status"], capture_output=True,
                          text=True, timeout=60, env=dict(os.environ))
    states = {int(m[1]): m[2] for m in re.finditer(r"^\s*(\d)\s+(\w+)", done.stdout, re.M)}
    return done.returncode, states, done.stdout


def test_dashboard_kill_button_kills_the_broker(page, jupyter, healthy_lab, timings, out_dir):
    name = "browser_dashboard.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in DASHBOARD_CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, jupyter[2] / name)
    open_notebook(page, jupyter, name, timings)
    run_all(page, name, timings, timeout=180)
    dash = page.locator(".labkit-dashboard")
    t0 = time.monotonic()
    try:
        wait_for("the dashboard to show three running brokers and its pictures", lambda: dash.count() and all(
            "running" in broker_label(page, n) for n in (1, 2, 3)) and "dead brokers: none" in grid_words(page)
            and page.evaluate("() => [...document.querySelectorAll('.labkit-dashboard img')]"
                              ".every(i => i.naturalWidth > 0)"),
            timeout=90, interval=0.5, on_timeout=lambda: dashboard_text(page))
        timings("dashboard drawn", t0)
        dash.scroll_into_view_if_needed()
        widths = dash.evaluate(FIT)
        print(f"[browser] dashboard at {page.viewport_size['width']} px: {widths}")
        dash.screenshot(path=str(out_dir / "browser-dashboard.png"))
        page.screenshot(path=str(out_dir / "browser-dashboard-page.png"))
        assert widths["scroll"] <= widths["client"] <= widths["output"], f"wider than its column: {widths}"
        assert not widths["scrolling"] and not widths["beyond"], f"cut off or scrolling: {widths}"

        t0 = time.monotonic()
        page.locator(".labkit-broker-2 button.labkit-kill").click()
        wait_for("the page to show broker 2 DEAD", lambda: "DEAD" in broker_label(page, 2), timeout=60,
                 interval=0.5, on_timeout=lambda: dashboard_text(page))
        timings("kill clicked -> page shows broker 2 DEAD", t0)
        code, states, text = labkit_status()
        assert code == 1 and states.get(2) != "running" and states.get(1) == "running", text
        # a dead broker cannot be killed again; its start button is the one to press
        wait_for("broker 2's buttons to follow", lambda: page.locator(
            ".labkit-broker-2 button.labkit-kill").is_disabled(), timeout=30, interval=0.5)
        assert "mod-success" in page.locator(".labkit-broker-2 button.labkit-start").get_attribute("class")
        assert page.locator(".labkit-broker-1 button.labkit-start").is_disabled()
        # the picture once Kafka has moved every leadership off broker 2 (the line under it says so in words)
        t0 = time.monotonic()
        settled = "offline partitions: none; dead brokers: 2"
        wait_for("the grid to show broker 2 dead and every partition led", lambda: settled in grid_words(page),
                 timeout=60, interval=0.5, on_timeout=lambda: dashboard_text(page))
        timings("grid settled with broker 2 dead", t0)
        dash.screenshot(path=str(out_dir / "browser-dashboard-dead.png"))
        if os.environ.get("LABKIT_REFRESH_DOCS") == "1":
            shutil.copy(out_dir / "browser-dashboard-dead.png", DOCS_IMG / "dashboard.png")

        t0 = time.monotonic()
        page.locator(".labkit-broker-2 button.labkit-start").click()
        wait_for("the page to show broker 2 running again", lambda: "DEAD" not in broker_label(page, 2)
                 and "running" in broker_label(page, 2), timeout=150, interval=0.5,
                 on_timeout=lambda: dashboard_text(page))
        timings("start clicked -> page shows broker 2 running", t0)
        code, states, text = labkit_status()
        assert code == 0 and states.get(2) == "running", text
    finally:
        try:
            page.locator(".labkit-dashboard button.labkit-stop-dashboard").click(timeout=10_000)
        except Exception as exc:  # the page may be what failed; the kernel's end stops it anyway
            print(f"[browser] could not press the dashboard's stop button: {exc}")
