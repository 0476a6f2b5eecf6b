"""labkit.streams.pictures: the windows picture says what the processor saw."""
from labkit.streams import WindowedCount, plot_windows


def test_picture(lab, topics):
    src, out, log, base, name = topics
    counter = WindowedCount(lab, src, out, log, window_s=10, grace_s=0, name=name)
    counter.run(timeout=30)
    counter.close()
    fig = plot_windows(counter.seen, 10, 0, base)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.texts]
    assert "[10, 20) s: 3 counted, closed" in labels and "[40, 50) s: 1 counted, open" in labels
    assert "late: dropped" in [t.get_text() for t in ax.get_legend().get_texts()]
