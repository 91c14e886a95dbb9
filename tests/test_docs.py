"""The documentation cannot rot: every code block of every page runs, and its output is checked.

Each page under ``docs/`` is run top to bottom in one namespace: ``pycon`` blocks
(``>>>`` examples) as doctests whose printed values must match, ``python`` blocks
as plain code.  ``bash`` blocks are not run (they install packages or take
minutes), but every ``gdl-zoo`` command in them must parse with the real
command-line parser.  Tutorials save their figures into
``$GDL_ZOO_DOCS_FIGURES``; here that is a temporary folder, and every figure a
page embeds must be one that its code wrote (``tools/make_doc_figures.py``
writes the committed copies into ``docs/figures/``).
"""

from __future__ import annotations

import doctest
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
FIGURES_ENV = "GDL_ZOO_DOCS_FIGURES"
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,})(?P<lang>[\w-]*)(?P<info>.*)$")
_FIGURE = re.compile(r"!\[[^\]]*\]\((?P<path>[^)\s]+\.png)\)")


@dataclass(frozen=True)
class Block:
    """A fenced code block of a page."""

    lang: str
    lineno: int  # 1-based line of the block's first code line
    text: str


def code_blocks(markdown: str) -> list[Block]:
    """The fenced code blocks of ``markdown``, in order."""
    blocks, lines, k = [], markdown.splitlines(), 0
    while k < len(lines):
        opening = _FENCE.match(lines[k])
        if not opening:
            k += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        body, j = [], k + 1
        while j < len(lines) and lines[j].strip() != fence:
            body.append(lines[j][indent:])
            j += 1
        if j == len(lines):
            raise ValueError(f"line {k + 1}: code block never closed")
        blocks.append(Block(opening["lang"], k + 2, "\n".join(body) + "\n"))
        k = j + 1
    return blocks


def run_page(path: Path) -> tuple[int, int, str]:
    """Run a page's ``pycon`` and ``python`` blocks in order in one namespace.

    Returns:
        ``(failures, examples, report)`` where ``report`` is doctest's output.
    """
    globs: dict = {"__name__": f"docs.{path.stem}"}
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    report: list[str] = []
    for block in code_blocks(path.read_text(encoding="utf-8")):
        name = f"{path.name}:{block.lineno}"
        if block.lang == "pycon":
            test = parser.get_doctest(block.text, globs, name, str(path), block.lineno - 1)
            runner.run(test, out=report.append, clear_globs=False)
            globs = test.globs  # DocTest runs in a copy; carry its names to the next block
        elif block.lang == "python":
            exec(compile(block.text, name, "exec"), globs)  # noqa: S102 — the docs' own code
    results = runner.summarize(verbose=False)
    return results.failed, results.attempted, "".join(report)


def gdl_zoo_commands(markdown: str) -> list[list[str]]:
    """The arguments of every ``gdl-zoo`` command in the page's shell blocks."""
    commands = []
    for block in code_blocks(markdown):
        if block.lang not in ("bash", "sh", "console", "shell"):
            continue
        for line in block.text.splitlines():
            line = line.split(" #", 1)[0].strip().removeprefix("$ ")
            if line.startswith("gdl-zoo"):
                commands.append(shlex.split(line)[1:])
    return commands


@pytest.mark.parametrize("page", PAGES)
def test_page_code_runs_and_prints_what_it_shows(page, tmp_path, monkeypatch):
    monkeypatch.setenv(FIGURES_ENV, str(tmp_path))
    monkeypatch.chdir(tmp_path)
    failures, _, report = run_page(DOCS / page)
    assert failures == 0, report
    for match in _FIGURE.finditer((DOCS / page).read_text(encoding="utf-8")):
        figure = Path(match["path"]).name
        assert (tmp_path / figure).is_file(), (
            f"{page} embeds {figure} but its code did not write it"
        )
        assert (DOCS / "figures" / figure).is_file(), f"run tools/make_doc_figures.py ({figure})"


@pytest.mark.parametrize("page", PAGES)
def test_page_commands_parse(page):
    from gdl_zoo.cli import build_parser

    parser = build_parser()
    for args in gdl_zoo_commands((DOCS / page).read_text(encoding="utf-8")):
        try:
            parser.parse_args(args)
        except SystemExit as error:
            pytest.fail(f"{page}: `gdl-zoo {shlex.join(args)}` does not parse ({error})")


def test_the_runner_catches_a_wrong_output(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "```python\nvalue = 2\n```\n\n```pycon\n>>> value + 1\n4\n\n```\n", encoding="utf-8"
    )
    failures, attempted, report = run_page(page)
    assert (failures, attempted) == (1, 1)
    assert "Expected:\n    4\nGot:\n    3" in report


def test_tutorials_have_code_and_figures():
    for domain in ("grids", "groups", "graphs", "meshes", "gauges", "weightspace"):
        page = f"tutorials/{domain}.md"
        text = (DOCS / page).read_text(encoding="utf-8")
        assert sum(b.lang == "pycon" for b in code_blocks(text)) >= 3, page
        assert _FIGURE.search(text), f"{page} has no figure"


def test_every_card_is_on_the_home_page_and_the_cards_page():
    sys.path.insert(0, str(DOCS / "_hooks"))
    try:
        import zoo_tables
    finally:
        sys.path.remove(str(DOCS / "_hooks"))
    from gdl_zoo import zoo

    cards = zoo.list_models()
    table, sections = zoo_tables.blueprint_table(cards), zoo_tables.card_sections(cards)
    for card in cards:
        assert f"[{card.name}](cards.md#{card.name})" in table
        assert f"{{#{card.name}}}" in sections
        if card.domain in ("grids", "groups"):
            path = zoo_tables.implementation(card)
            assert path is not None and f"][{path}]" in table, card.name
            assert zoo_tables.symmetry_test(path) is not None, card.name
    home = (DOCS / "index.md").read_text(encoding="utf-8")
    assert zoo_tables.BLUEPRINT_MARKER in home
    assert zoo_tables.CARDS_MARKER in (DOCS / "cards.md").read_text(encoding="utf-8")


def _rendered_modules(page_text: str) -> list:
    """The modules that a page renders whole with a ``::: dotted.name`` directive."""
    import importlib

    modules = []
    for target in re.findall(r"^::: (\S+)$", page_text, flags=re.MULTILINE):
        try:
            modules.append(importlib.import_module(target))
        except ImportError:
            continue  # a class or function, not a module
    return modules


def test_every_public_name_of_a_documented_subpackage_is_on_its_api_page():
    import importlib

    for page in sorted((DOCS / "api").glob("*.md")):
        text = page.read_text(encoding="utf-8")
        package = importlib.import_module(f"gdl_zoo.{page.stem}")
        if f"::: gdl_zoo.{page.stem}\n" in text:
            continue  # the whole package, with its __all__, is rendered
        rendered = _rendered_modules(text)
        for name in getattr(package, "__all__", ()):
            obj = getattr(package, name)
            module = getattr(obj, "__module__", None)
            documented = (
                f"::: {module}\n" in text or f"::: {module}.{name}\n" in text
                if module
                # a constant: named explicitly, or defined by a module the page renders
                else f".{name}\n" in text or any(getattr(m, name, None) is obj for m in rendered)
            )
            assert documented, f"{page.name} does not document gdl_zoo.{page.stem}.{name}"
