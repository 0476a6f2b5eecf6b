"""The dashboard: a static snapshot without a front end, live refreshing with working broker
buttons, and no thread or process left behind (also when the kernel running it is killed)."""
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import TopicPartition

from labkit import LabError

from labkit.cluster import procs
from labkit.observe.widgets import Dashboard, grid_text, live_frontend

TOPIC = "widgets-demo"
GROUP = "widgets-readers"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def topic(lab, filled_topic, commit_offsets):
    filled_topic(TOPIC, partitions=3, records=30)
    commit_offsets(GROUP, [TopicPartition(TOPIC, 0, 4)])
    return TOPIC


def labkit_threads():
    return [t.name for t in threading.enumerate() if t.name.startswith("labkit-")]


def wait_for(condition, timeout, what):
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.1)


def test_mode_detection(monkeypatch):
    assert not live_frontend()  # pytest (and nbval's kernels) have no one to click
    monkeypatch.setenv("LABKIT_DASHBOARD", "live")
    assert live_frontend()
    monkeypatch.setenv("LABKIT_DASHBOARD", "static")
    assert not live_frontend()
    monkeypatch.delenv("LABKIT_DASHBOARD")
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    monkeypatch.delenv("CI", raising=False)
    assert not live_frontend()  # a plain Python process is no front end either


def test_snapshot_mode_headless(lab, topic, capsys):
    d = lab.dashboard(topic, group=GROUP)
    assert d.mode == "static" and not d.running and d.refreshes == 1
    assert "static snapshot" in repr(d)
    grid = d.figures["grid"].data
    assert (grid["role"] == "leader").sum() == 3
    text = grid_text(grid)  # the picture in words, the line under the live grid
    assert text.endswith("offline partitions: none; dead brokers: none"), text
    assert text.startswith("leaders: broker ") and sum(int(x) for x in re.findall(r"leads (\d+)", text)) == 3
    lag = d.figures["lag"].status.set_index("partition")["lag"].to_dict()
    assert lag == {0: 6}  # the group knows only the partition it committed
    assert "leader" in capsys.readouterr().out  # a script sees the grid as a table
    with pytest.raises(LabError):
        Dashboard(lab, topic, mode="sometimes")


def test_live_mode_refreshes_and_buttons_work(healthy_lab, topic):
    lab = healthy_lab
    d = lab.dashboard(topic, group=GROUP, every=0.5, mode="live")
    try:
        assert d.running
        wait_for(lambda: d.refreshes >= 2 and d.grid_img.value, 60, "two refreshes")
        assert d.grid_img.value[:8] == b"\x89PNG\r\n\x1a\n" and d.lag_img.value[:4] == b"\x89PNG"
        d.act(3, "pause")
        wait_for(lambda: lab.cluster.status()[2]["state"] == "paused", 10, "broker 3 to pause")
        wait_for(lambda: "paused" in d.broker_labels[3].value, 30, "the label to say paused")
        wait_for(lambda: "dead brokers: 3" in d.grid_words.value, 30, "the grid's words to say so")
        paused = d.buttons[3]
        assert paused["pause"].disabled and paused["stop"].disabled and paused["start"].disabled
        assert not paused["resume"].disabled and paused["resume"].button_style == "warning"
        assert not paused["kill"].disabled  # SIGKILL still ends a stopped JVM
        assert not d.buttons[1]["pause"].disabled and d.buttons[1]["resume"].disabled
        wait_for(lambda: not d._busy.locked(), 10, "the action to finish")
        d.act(3, "resume")
        wait_for(lambda: lab.cluster.status()[2]["state"] == "running", 10, "broker 3 to resume")
        wait_for(lambda: d.buttons[3]["resume"].disabled and not d.buttons[3]["pause"].disabled,
                 30, "broker 3's buttons to follow")
        assert d.buttons[3]["resume"].button_style == "" and d.buttons[3]["start"].disabled
    finally:
        d.stop()
    assert not d.running and d.status.value == "dashboard stopped"
    wait_for(lambda: not labkit_threads(), 15, "labkit threads to end")


def test_widgets_carry_classes_a_browser_can_find(lab, topic):
    """tests/browser reads the dashboard from the page by these classes; the pictures stack."""
    d = Dashboard(lab, topic, group=GROUP, mode="live")
    d._build()  # the widgets, without displaying them or refreshing
    assert "labkit-dashboard" in d.view._dom_classes
    pictures, *rows, bottom = d.view.children
    grid, words, lag = pictures.children
    assert [x._dom_classes[0] for x in (grid, words, lag)] == ["labkit-grid", "labkit-grid-words", "labkit-lag"]
    assert grid.layout.max_width == lag.layout.max_width == "100%"
    for n, row in zip((1, 2, 3), rows):
        assert f"labkit-broker-{n}" in row._dom_classes
        label, *buttons = row.children
        assert "labkit-broker-state" in label._dom_classes
        assert [b._dom_classes[0] for b in buttons] == [f"labkit-{a}" for a in ("kill", "stop", "start",
                                                                                  "pause", "resume")]
    assert "labkit-stop-dashboard" in bottom.children[0]._dom_classes
    assert "labkit-status" in bottom.children[1]._dom_classes


def test_a_refresh_that_fails_halfway_is_caught_up(lab, topic):
    """The grid is updated before the lag is recorded and drawn; if that fails, the next refresh
    must still push the new grid to the widget."""
    d = Dashboard(lab, topic, group=GROUP, every=0.5, mode="live")
    d._build()  # the widgets, without displaying them
    calls, record = [], d.sampler.record

    def failing_once(frame):
        calls.append(1)
        if len(calls) == 1:
            raise LabError("the lag sample failed", hint="a broker restarting")
        return record(frame)
    d.sampler.record = failing_once
    d._thread = threading.Thread(target=d._run, name="labkit-dashboard-test", daemon=True)
    d._thread.start()
    try:
        wait_for(lambda: d.grid_img.value and d.lag_img.value, 60, "both pictures after a failed refresh")
    finally:
        d.stop()
    assert len(calls) >= 2 and d.shown_grid.equals(d.grid.fig.data)
    assert d.grid_img.value[:4] == b"\x89PNG"


def test_sampler_leaves_no_thread(lab, topic):
    s = lab.sample_lag(GROUP, every=0.2)
    wait_for(lambda: s.samples >= 2, 30, "two samples")
    h = s.stop()
    assert not s.running and not labkit_threads()
    assert set(h["partition"]) == {0} and h["time"].is_monotonic_increasing
    with pytest.raises(LabError):
        lab.sample_lag(GROUP, every=0)


def run(kc, code, timeout=120):
    """Execute ``code`` in the kernel; return (stdout text, output message types)."""
    out, kinds = [], []

    def hook(msg):
        kinds.append(msg["msg_type"])
        content = msg["content"]
        if msg["msg_type"] == "stream":
            out.append(content["text"])
        elif msg["msg_type"] == "error":
            out.append("\n".join(content["traceback"]))
        elif msg["msg_type"] in ("display_data", "execute_result"):
            kinds.extend(content["data"])
    reply = kc.execute_interactive(code, timeout=timeout, output_hook=hook)
    assert reply["content"]["status"] == "ok", "".join(out)
    return "".join(out), kinds


@pytest.fixture
def kernel():
    from jupyter_client.manager import start_new_kernel
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(ROOT), env=dict(os.environ),
                              startup_timeout=120)
    yield km, kc
    kc.stop_channels()
    if km.is_alive():
        km.shutdown_kernel(now=True)


def children(pid):
    """Pids whose parent is ``pid`` (Linux /proc)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            pass
    return kids


def test_kernel_shows_a_static_snapshot_under_pytest(kernel, topic):
    _km, kc = kernel
    text, kinds = run(kc, f"import labkit as lk\nlab = lk.start(quiet=True)\n"
                          f"d = lab.dashboard({TOPIC!r}, group={GROUP!r})\nprint(d.mode)")
    assert text.split()[-1] == "static"
    assert kinds.count("image/png") == 2  # the grid and the lag plot, drawn inline


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killed_kernel_leaves_no_thread_or_process(kernel, lab, topic):
    km, kc = kernel
    text, kinds = run(kc, f"import labkit as lk, threading, os\nlab = lk.start(quiet=True)\n"
                          f"s = lab.sample_lag({GROUP!r}, every=0.2)\n"
                          f"d = lab.dashboard({TOPIC!r}, group={GROUP!r}, every=0.5, mode='live')\n"
                          "import time\nend = time.monotonic() + 60\n"
                          "while (s.samples < 3 or d.refreshes < 2) and time.monotonic() < end:\n"
                          "    time.sleep(0.1)\n"
                          "print(s.samples, d.refreshes, os.getpid(), "
                          "sorted(t.name for t in threading.enumerate() if t.name.startswith('labkit')))")
    samples, refreshes, pid = (int(x) for x in text.split()[:3])
    assert samples >= 3 and refreshes >= 2
    assert "labkit-lag-sampler" in text and "labkit-dashboard" in text
    kids = children(pid)
    connection = Path(km.connection_file).name
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not procs.alive(pid) and not km.is_alive(), 15, "the kernel to die")
    wait_for(lambda: not [k for k in kids if procs.alive(k)], 15, "the kernel's children to end")
    strays = [p for p in procs.pids_matching(connection)]
    assert not strays, f"processes still hold the kernel's connection file: {strays}"
    # the cluster the kernel was watching is untouched: its brokers are not the kernel's
    assert all(row["state"] == "running" for row in lab.cluster.status())
