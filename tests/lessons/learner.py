"""Running a notebook the way a learner does: Run All, with or without their answers typed in.

A lesson's exercise is three tagged cells (README: "Exercises"): the learner's code cell
(``exercise``), a markdown ``solution`` that shows a solution in a ``<details>`` block and never
runs by itself, and a ``check`` that prints one verdict line, ``✔ correct: ...`` or
``✘ not yet: ...``. ``solved`` types each solution into its exercise cell, as a learner who copies
it does; ``run_all`` executes a notebook top to bottom in a fresh kernel, as Run All does.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
CELL_TIMEOUT = 300  # seconds; the same bound nbval gets in pyproject.toml
CODE_BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def lessons() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def load(path: Path):
    return nbformat.read(path, as_version=4)


def tagged(nb, tag: str) -> list[int]:
    """Indices of the cells carrying ``tag`` in their metadata."""
    return [i for i, c in enumerate(nb.cells) if tag in c.get("metadata", {}).get("tags", [])]


def exercises(nb) -> list[tuple[int, int, int]]:
    """(exercise, solution, check) cell indices, in order; a lesson's layout errors raise."""
    ex, sol, chk = tagged(nb, "exercise"), tagged(nb, "solution"), tagged(nb, "check")
    if not (len(ex) == len(sol) == len(chk)) or not ex:
        raise AssertionError(f"{len(ex)} exercise, {len(sol)} solution and {len(chk)} check cells")
    triples = list(zip(ex, sol, chk))
    for e, s, c in triples:
        if not e < s < c:
            raise AssertionError(f"cells {e}, {s}, {c} are not in the order exercise, solution, check")
    return triples


def solution_code(cell) -> str:
    """The python block of a solution cell: what replaces the exercise cell."""
    blocks = CODE_BLOCK.findall(cell.source)
    if len(blocks) != 1:
        raise AssertionError(f"a solution cell needs exactly one ```python block, not {len(blocks)}")
    return blocks[0]


def solved(nb):
    """A copy of ``nb`` with every exercise cell holding its solution's code."""
    nb = copy.deepcopy(nb)
    for e, s, _c in exercises(nb):
        nb.cells[e].source = solution_code(nb.cells[s])
    return nb


def run_all(nb, path: Path = NOTEBOOKS):
    """Execute every cell in a fresh kernel, top to bottom; a cell that raises stops the run."""
    nb = copy.deepcopy(nb)
    NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                   resources={"metadata": {"path": str(path)}}).execute()
    return nb


def output_text(cell) -> str:
    """The stream and text/plain output of a code cell, joined."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif "data" in out:
            parts.append(out["data"].get("text/plain", ""))
    return "\n".join(parts)


def verdicts(nb) -> list[str]:
    """The verdict line each check printed (its first line starting with ✔ or ✘), in order."""
    found = []
    for _e, _s, c in exercises(nb):
        lines = [ln for ln in output_text(nb.cells[c]).splitlines() if ln[:1] in ("✔", "✘")]
        found.append(lines[0] if lines else "(no verdict)")
    return found
