"""Every notebook opens as a RISE slideshow: a slide where each section starts (issue 20, item 5)."""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
_spec = importlib.util.spec_from_file_location("slides", ROOT / "scripts" / "slides.py")
slides = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(slides)


def _heading(cell) -> str:
    return "".join(cell["source"]).lstrip().split("\n", 1)[0] if cell["cell_type"] == "markdown" else ""


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_every_section_heading_starts_a_slide(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    heads = [c for c in nb["cells"] if _heading(c).startswith(("# ", "## "))]
    assert len(heads) >= 3, "a lesson has a title and sections"
    for cell in heads:
        assert cell["metadata"].get("slideshow") == {"slide_type": "slide"}, _heading(cell)
    assert _heading(nb["cells"][0]).startswith("# "), "the title is the first slide"
    # code cells stay on their section's slide: RISE shows them with their outputs
    assert not any(c["metadata"].get("slideshow") for c in nb["cells"] if c["cell_type"] == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_the_script_changes_only_metadata(path):
    """Stripping the slide metadata and re-applying gives the file back byte for byte."""
    raw = path.read_text(encoding="utf-8")
    nb = json.loads(raw)
    for cell in nb["cells"]:
        cell["metadata"].pop("slideshow", None)
    assert slides.apply(nb) > 0
    assert slides.dumps(nb) == raw


def test_check_mode_finds_a_notebook_without_slides(tmp_path, capsys):
    src = json.loads(NOTEBOOKS[0].read_text(encoding="utf-8"))
    for cell in src["cells"]:
        cell["metadata"].pop("slideshow", None)
    bare = tmp_path / "99_new.ipynb"
    bare.write_text(slides.dumps(src), encoding="utf-8")
    assert slides.main(["--check", str(bare)]) == 1
    assert "99_new.ipynb" in capsys.readouterr().out
    assert slides.main([str(bare)]) == 0 and slides.main(["--check", str(bare)]) == 0
    assert bare.read_text(encoding="utf-8") == NOTEBOOKS[0].read_text(encoding="utf-8")
