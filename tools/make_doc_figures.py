"""Regenerate the figures the documentation embeds, by running the pages' own code.

Every tutorial saves its figures into the folder named by ``$GDL_ZOO_DOCS_FIGURES``.
This script runs each page (or the pages given) with that folder set to
``docs/figures/``, through the same runner as ``tests/test_docs.py``, so the
committed PNGs are exactly what the documented code draws, and it fails when a
page's printed values no longer match what the page shows.

Usage::

    python tools/make_doc_figures.py                      # every page
    python tools/make_doc_figures.py tutorials/grids.md   # one page
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FIGURES = DOCS / "figures"


def _docs_runner():
    """The page runner of ``tests/test_docs.py`` (one implementation for tests and figures)."""
    spec = importlib.util.spec_from_file_location("_test_docs", ROOT / "tests" / "test_docs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    """Run the pages and write their figures into ``docs/figures/``; the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", help="pages relative to docs/ (default: all)")
    args = parser.parse_args(argv)
    runner = _docs_runner()
    pages = args.pages or runner.PAGES
    FIGURES.mkdir(exist_ok=True)
    os.environ[runner.FIGURES_ENV] = str(FIGURES)
    before = {p: p.stat().st_mtime for p in FIGURES.glob("*.png")}
    status = 0
    for page in pages:
        start = time.perf_counter()
        failures, attempted, report = runner.run_page(DOCS / page)
        seconds = time.perf_counter() - start
        print(f"{page}: {attempted} examples, {failures} failed, {seconds:.1f} s")
        if failures:
            print(report, file=sys.stderr)
            status = 1
    for png in sorted(FIGURES.glob("*.png")):
        if before.get(png) != png.stat().st_mtime:
            print(f"wrote {png.relative_to(ROOT)} ({png.stat().st_size / 1024:.0f} KiB)")
    return status


if __name__ == "__main__":
    sys.exit(main())
