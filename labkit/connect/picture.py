"""The picture of a Connect pipeline with the records counted at each stage (notebook 10).

Boxes left to right: a file, a connector (its tasks do the copying), a topic, another connector,
a file; each data box shows how many lines or records it holds right now. A dead-letter topic, when
given, hangs below the sink connector: where the records it could not convert went.
"""
from __future__ import annotations

COLOURS = {"file": "#dbe9f6", "connector": "#f4e1c1", "topic": "#d5ecd4", "dlq": "#f6d5d5"}


def plot_pipeline(stages: list[tuple[str, str, int | None]], dead_letter: tuple[str, int] | None = None,
                  title: str | None = None):
    """Draw ``stages`` = [(label, kind, count or None), ...]; kind is file, connector or topic.

    ``dead_letter`` = (topic, count) adds the dead-letter topic under the last connector.
    Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    width, gap = 2.5, 0.7
    rows = 2 if dead_letter else 1
    fig, ax = plt.subplots(figsize=(1.45 * len(stages) * (width + gap) / 2.9 + 1, 1.6 * rows + 0.6))
    centres = []
    for i, (label, kind, count) in enumerate(stages):
        x = i * (width + gap)
        ax.add_patch(FancyBboxPatch((x, 0), width, 1, boxstyle="round,pad=0.05",
                                    facecolor=COLOURS.get(kind, "white"), edgecolor="#555"))
        detail = kind if count is None else _count(count, "line" if kind == "file" else "record")
        ax.text(x + width / 2, 0.62, label, ha="center", va="center", fontsize=9, weight="bold")
        ax.text(x + width / 2, 0.3, detail, ha="center", va="center", fontsize=9)
        centres.append(x + width / 2)
        if i:
            ax.annotate("", xy=(x - 0.05, 0.5), xytext=(x - gap + 0.05, 0.5),
                        arrowprops={"arrowstyle": "->", "color": "#333"})
    if dead_letter:
        sink = max(i for i, stage in enumerate(stages) if stage[1] == "connector")
        x = sink * (width + gap)
        ax.add_patch(FancyBboxPatch((x, -1.6), width, 1, boxstyle="round,pad=0.05",
                                    facecolor=COLOURS["dlq"], edgecolor="#555"))
        ax.text(x + width / 2, -0.98, dead_letter[0], ha="center", va="center", fontsize=9, weight="bold")
        ax.text(x + width / 2, -1.3, f"{_count(dead_letter[1], 'record')} (dead letters)", ha="center",
                va="center", fontsize=9)
        ax.annotate("", xy=(x + width / 2, -0.55), xytext=(x + width / 2, -0.05),
                    arrowprops={"arrowstyle": "->", "color": "#a33"})
    ax.set_xlim(-0.2, len(stages) * (width + gap) - gap + 0.2)
    ax.set_ylim(-1.8 if dead_letter else -0.2, 1.3)
    ax.axis("off")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
