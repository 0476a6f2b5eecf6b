"""Live views: what they draw in place matches a full drawing of the same state, pixel for pixel
(almost), and they redraw everything only when the unchanging part of the picture changes."""
import io
import threading
import time

import numpy as np
import pandas as pd
import pytest
from confluent_kafka import TopicPartition
from PIL import Image

from labkit.observe import burrow, lagplot, plots
from labkit.observe.liveplots import GridView, LagView, headroom

TOPIC = "liveplots-demo"
GROUP = "liveplots-readers"


@pytest.fixture(scope="module")
def topic(filled_topic):
    return filled_topic(TOPIC, partitions=6, records=60)


def blit_matches_full_render(view) -> float:
    """Compare the in-place picture with a full render of the same figure; return the share of
    pixels that differ (antialiasing where a cell meets the axes frame may differ a little)."""
    blit = np.asarray(Image.open(io.BytesIO(view.png())).convert("RGBA")).astype(int)
    view.fig.canvas.draw()
    full = np.asarray(view.fig.canvas.buffer_rgba()).astype(int)
    assert blit.shape == full.shape
    differ = np.abs(blit - full).max(axis=2) > 16
    return differ.mean()


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def test_png_holds_the_canvas_pixels_exactly():
    """liveplots writes its own PNG (unfiltered rows): any PNG reader gets the canvas back."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from labkit.observe.liveplots import encode
    fig = Figure(figsize=(3, 2), dpi=50)
    fig.patch.set_alpha(0.5)  # transparency survives too
    fig.subplots().plot([0, 1, 3], [2, 0, 1], color=plots.VERMILLION)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    png = encode(canvas)
    Image.open(io.BytesIO(png)).verify()
    assert Image.open(io.BytesIO(png)).mode == "RGBA"
    assert np.array_equal(pixels(png), np.asarray(canvas.buffer_rgba()))


def test_headroom_steps():
    assert [headroom(v) for v in (0, 0.5, 1, 3, 7.9, 8.1, 40, 950)] == [1, 1, 2, 5, 10, 20, 50, 2000]


def test_grid_view_updates_roles_in_place(lab, topic, out_dir):
    parts, brokers = lab.partitions(topic), lab.brokers()
    view = GridView(title=topic)
    fig = view.update(parts, brokers)
    first = view.png()
    (out_dir / "live-grid.png").write_bytes(first)
    assert fig.data.equals(plots.grid_data(parts, brokers)) and view.full_draws == 1
    # nothing changed: the picture already encoded is given again, not drawn again
    assert view.update(parts, brokers) is fig and view.png() is first
    # the leader moves to the next replica in every partition: same brokers, new roles
    moved = parts.assign(leader=[r[(r.index(lead) + 1) % len(r)] for r, lead in
                                 zip(parts["replicas"], parts["leader"])])
    assert view.update(moved, brokers) is fig
    assert fig.data.equals(plots.grid_data(moved, brokers))
    assert not np.array_equal(pixels(view.png()), pixels(first))
    assert blit_matches_full_render(view) < 0.001
    assert view.full_draws == 1  # roles changed in place: no new background
    codes = fig.cells[0][3].get_array()
    leaders = [list(brokers["id"]).index(lead) for lead in moved["leader"]]
    assert [int(np.argwhere(row == 1)[0][0]) for row in codes] == leaders
    # a dead broker changes the axes' labels and hatching: a new figure, drawn in full
    dead = brokers.assign(alive=[b != 3 for b in brokers["id"]])
    assert view.update(moved, dead) is not fig
    assert blit_matches_full_render(view) < 0.001
    assert not view.fig.data[view.fig.data["broker"] == 3]["broker_alive"].any()


def test_grid_view_of_two_topics_leaves_empty_cells_empty(lab, topic):
    """A 6-partition topic beside a 25-partition one: the grid wraps the long one into two
    columns, leaving an empty cell beside the short one, which must stay blank in place too."""
    parts, brokers = lab.partitions(topic), lab.brokers()
    long = pd.concat([parts] * 5, ignore_index=True).head(25)
    long = long.assign(topic="liveplots-long", partition=range(25))
    both = pd.concat([parts, long], ignore_index=True)
    view = GridView()
    fig = view.update(both, brokers)
    assert sum(not ax.axison for ax in fig.axes) == 1
    assert blit_matches_full_render(view) < 0.001
    view.update(both.assign(leader=both["replicas"].str[-1]), brokers)
    assert blit_matches_full_render(view) < 0.001 and view.full_draws == 1


def test_views_can_be_shared_between_threads(lab, topic, history):
    """The dashboard's thread and a learner's cell may redraw the same view at once."""
    grid, lag = GridView(), LagView()
    parts, brokers = lab.partitions(topic), lab.brokers()
    errors = []

    def redraw(rounds):
        try:
            for i in range(rounds):
                grid.update(parts if i % 2 else parts.assign(leader=parts["replicas"].str[-1]), brokers)
                grid.png()
                lag.update(history.head(6 * (i % 5 + 1)))
                lag.png()
        except Exception as exc:  # reported below, with the thread's exception
            errors.append(repr(exc))
    threads = [threading.Thread(target=redraw, args=(15,)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and not any(t.is_alive() for t in threads)


@pytest.fixture(scope="module")
def history(lab, topic, commit_offsets):
    """A real lag history: a group that committed part of each partition, sampled a few times."""
    commit_offsets(GROUP, [TopicPartition(topic, p, p) for p in range(6)])
    with lab.sample_lag(GROUP, every=0.2) as s:
        end = time.monotonic() + 20
        while s.samples < 8 and time.monotonic() < end:
            time.sleep(0.1)
    assert s.samples >= 8 and not s.errors
    return s.history


def test_lag_view_draws_what_plot_lag_draws(history, out_dir):
    times = sorted(history["time"].unique())
    view = LagView(title=GROUP)
    for n in range(1, len(times) + 1):  # one refresh per sample, as the dashboard does
        fig = view.update(history[history["time"].isin(times[:n])])
        view.png()
    (out_dir / "live-lag.png").write_bytes(view.png())
    reference = lagplot.plot_lag(history)
    assert fig.status.equals(reference.status) and fig.data.equals(reference.data)
    assert fig.status.equals(burrow.evaluate(history))
    assert view.full_draws < len(times)  # most refreshes drew only the lines
    ax = fig.lag_axes[GROUP][0]
    assert ax.get_ylim()[1] >= history["lag"].max() and ax.get_xlim()[1] >= fig.data["seconds"].max()
    segments = [seg for art in fig.lag_axes[GROUP][1] if hasattr(art, "get_segments")
                for seg in art.get_segments()]
    assert len(segments) == 6 and all(len(seg) == len(times) for seg in segments)
    assert blit_matches_full_render(view) < 0.001


def test_lag_view_redraws_when_lag_outgrows_the_axes(history):
    view = LagView()
    view.update(history)
    view.png()
    top = view.limits[1]
    grown = history.assign(lag=history["lag"] * 10, time=history["time"] + pd.Timedelta(seconds=1))
    view.update(pd.concat([history, grown], ignore_index=True))
    view.png()
    assert view.limits[1] > top and view.full_draws == 2
    assert blit_matches_full_render(view) < 0.001
    # grown in place, the picture is the one a view built for this history from scratch draws
    fresh = LagView()
    fresh.update(pd.concat([history, grown], ignore_index=True))
    assert fresh.limits == view.limits and np.array_equal(pixels(fresh.png()), pixels(view.png()))


def test_lag_view_survives_unknown_lag(history):
    """While a partition's leader is down its lag is unknown (NA): the view still draws."""
    blind = history.assign(lag=pd.array([pd.NA] * len(history), dtype="Int64"))
    view = LagView()
    assert view.update(blind).data["lag"].isna().all()
    assert view.png()[:4] == b"\x89PNG"
    later = blind.assign(time=blind["time"] + pd.Timedelta(seconds=1))
    view.update(pd.concat([blind, history, later], ignore_index=True))
    assert view.png()[:4] == b"\x89PNG"
