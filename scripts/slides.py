"""Give every notebook RISE slide metadata where a section starts (issue 20: slides).

An instructor presents a lesson with jupyterlab-rise (View > Render as slideshow, or Alt+R)
and then runs it. RISE reads each cell's ``metadata.slideshow.slide_type``; this script sets it
from the notebook's own headings, so it can be re-applied after a lesson changes or a new
notebook arrives:

- a ``# `` title or ``## `` section heading starts a **slide**;
- a ``### `` heading, and an exercise, starts a **subslide** (down-arrow in RISE);
- the solution, check and recap cells that follow an exercise appear as **fragments**.

Only ``metadata.slideshow`` changes: sources and outputs stay byte for byte, and the file is
written the way Jupyter writes it (one-space indent, sorted keys). Usage::

    python scripts/slides.py [--check] [NOTEBOOK ...]     # default: notebooks/*.ipynb
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUBSLIDE_STARTS = ("**Exercise", "### Exercise", "**Your turn")
FRAGMENT_STARTS = ("**Solution", "**Check", "**Hint", "<details>")  # a folded solution


def slide_type(cell: dict) -> str | None:
    """The RISE slide type a cell should have, or None for 'continues the current slide'."""
    if cell.get("cell_type") != "markdown":
        return None
    first = "".join(cell.get("source", "")).lstrip().split("\n", 1)[0]
    if first.startswith(("# ", "## ")):
        return "slide"
    if first.startswith("### ") or first.startswith(SUBSLIDE_STARTS):
        return "subslide"
    if first.startswith(FRAGMENT_STARTS):
        return "fragment"
    return None


def dumps(nb: dict) -> str:
    """A notebook as Jupyter (nbformat) writes it, so an unchanged notebook is unchanged on disk."""
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def apply(nb: dict) -> int:
    """Set the slide metadata in place; the number of cells changed."""
    changed = 0
    for cell in nb["cells"]:
        want = slide_type(cell)
        meta = cell.setdefault("metadata", {})
        have = meta.get("slideshow", {}).get("slide_type")
        if want == have:
            continue
        if want is None:
            meta.pop("slideshow", None)
        else:
            meta["slideshow"] = {**meta.get("slideshow", {}), "slide_type": want}
        changed += 1
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook needs it")
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    stale = []
    for path in paths:
        raw = path.read_text(encoding="utf-8")
        nb = json.loads(raw)
        if apply(nb):
            stale.append(path.name)
            if not args.check:
                path.write_text(dumps(nb), encoding="utf-8")
    verb = "need slide metadata (run scripts/slides.py)" if args.check else "updated"
    print(f"{len(stale)} of {len(paths)} notebooks {verb}" + (f": {', '.join(stale)}" if stale else ""))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
