"""Every lesson as learners run it, beside nbval's run.

nbval already runs each notebook as shipped (exercise cells empty) and compares each check's saved
verdict, which is ✘. Here: the shape of every exercise (a learner cannot spoil it with Run All),
and Run All with the solutions typed in, twice in a row on the same cluster: every check ✔.
Wrong answers are fed to the checks directly in tests/lessons/test_<module>.py.
"""
import time

import pytest

from learner import exercises, lessons, load, run_all, solution_code, solved, output_text, verdicts

LESSONS = lessons()


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem[:2] for p in LESSONS])
def test_exercises_cannot_be_spoiled_by_run_all(path):
    nb = load(path)
    triples = exercises(nb)
    for e, s, c in triples:
        assert nb.cells[e].cell_type == "code" and nb.cells[c].cell_type == "code"
        assert nb.cells[s].cell_type == "markdown", "a solution must not run by itself"
        assert "<details>" in nb.cells[s].source
        assert solution_code(nb.cells[s]).strip()
        assert nb.cells[c].source.startswith("# NBVAL_CHECK_OUTPUT"), "nbval compares the verdict"
        shipped = output_text(nb.cells[c])
        assert shipped.lstrip().startswith("✘"), f"as shipped, check {c} says {shipped[:80]!r}"
    hidden = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
              and cell.get("metadata", {}).get("jupyter", {}).get("source_hidden")]
    assert not hidden, f"hidden code cells still run under Run All: {hidden}"


@pytest.mark.slow
@pytest.mark.parametrize("path", LESSONS, ids=[p.stem[:2] for p in LESSONS])
def test_run_all_with_the_solutions_typed_in_twice(lab, path):
    """(b) and (d) of the learner-mode runs: solved, then solved again on the same cluster."""
    answer = solved(load(path))
    for attempt in (1, 2):
        t0 = time.monotonic()
        done = run_all(answer)
        got = verdicts(done)
        print(f"{path.name} run {attempt}: {time.monotonic() - t0:.1f} s, {got}")
        assert got and all(v.startswith("✔") for v in got), f"run {attempt}: {got}"
