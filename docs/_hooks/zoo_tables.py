"""MkDocs hook: the blueprint table and the model cards, generated from the zoo's registry.

``docs/index.md`` holds the marker ``<!-- zoo:blueprint -->`` and ``docs/cards.md``
the marker ``<!-- zoo:cards -->``; at build time they are replaced by tables built
from :func:`gdl_zoo.zoo.list_models`, so a domain that registers a card appears on
the site without editing a page.  A row links the implementation to its API page
(when the domain has one), the card to its section of ``cards.md``, and names the
test file that proves the symmetry (a link when ``repo_url`` is set).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from pathlib import Path

BLUEPRINT_MARKER = "<!-- zoo:blueprint -->"
CARDS_MARKER = "<!-- zoo:cards -->"
ROOT = Path(__file__).resolve().parents[2]

#: Domain -> (Ω, the group in the blueprint's words), in the blueprint's order.
DOMAINS: dict[str, tuple[str, str]] = {
    "grids": ("Zᵈ grids, sequences", "translations, time warping"),
    "groups": ("homogeneous spaces: R², R³, S²", "Z²⋊C_N / D_N, E(3), SO(3)"),
    "graphs": ("graphs, sets", "permutations Σₙ"),
    "meshes": ("triangle meshes as 2-manifolds", "isometries, vertex relabelling"),
    "gauges": ("meshes with tangent frames", "local SO(2) gauge changes"),
    "weightspace": ("a network's weight space", "hidden-unit permutations"),
}


def implementation(card) -> str | None:
    """The dotted path of the class (or function) a card's factory builds, if it can be read.

    A factory is either the class itself or a small function ``return Cls(...)``
    that may import ``Cls`` locally; the path is the class's defining module.
    """
    factory = card.factory
    if inspect.isclass(factory):
        return f"{factory.__module__}.{factory.__qualname__}"
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(factory)))
    except (OSError, TypeError, SyntaxError):
        return None
    imports = {}
    returned = None
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                imports[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Return) and isinstance(node.value, ast.Call):
            if isinstance(node.value.func, ast.Name):
                returned = node.value.func.id
    if returned is None:
        return None
    if returned in imports:
        module, _, name = imports[returned].rpartition(".")
        obj = getattr(importlib.import_module(module), name, None)
    else:
        obj = getattr(factory, "__globals__", {}).get(returned)
    if obj is None or not hasattr(obj, "__module__"):
        return None
    return f"{obj.__module__}.{obj.__qualname__}"


def symmetry_test(path: str | None) -> str | None:
    """The test file mirroring an implementation's module (tests mirror the package)."""
    if path is None:
        return None
    parts = path.split(".")[:-1]  # gdl_zoo, domain, module
    if len(parts) < 3 or parts[0] != "gdl_zoo":
        return None
    test = Path("tests", *parts[1:-1], f"test_{parts[-1]}.py")
    return test.as_posix() if (ROOT / test).is_file() else None


def _api_page(domain: str) -> str | None:
    page = Path("api", f"{domain}.md")
    return page.as_posix() if (ROOT / "docs" / page).is_file() else None


def _code_link(path: str, repo_url: str | None) -> str:
    if repo_url:
        return f"[`{path}`]({repo_url.rstrip('/')}/blob/main/{path})"
    return f"`{path}`"


def _model_cell(card) -> str:
    path = implementation(card)
    if path is None:
        return f"`{card.name}`"
    name = path.rsplit(".", 1)[-1]
    if _api_page(card.domain) is None:
        return f"`{name}`"
    return f"[`{name}`][{path}]"


def blueprint_table(cards, repo_url: str | None = None) -> str:
    """The home page's table: one row per card, one 'in progress' row per empty domain."""
    lines = [
        "| domain | Ω | group G | flavour | implementation | card | symmetry test |",
        "|---|---|---|---|---|---|---|",
    ]
    domains = list(DOMAINS) + sorted({c.domain for c in cards} - set(DOMAINS))
    for domain in domains:
        omega, group = DOMAINS.get(domain, ("", ""))
        rows = [c for c in cards if c.domain == domain]
        if not rows:
            lines.append(f"| `{domain}` | {omega} | {group} | | *in progress* | | |")
            continue
        for k, card in enumerate(rows):
            first = f"| `{domain}` | {omega} |" if k == 0 else "| | |"
            lines.append(
                f"{first} {_escape(card.group)} | {card.flavour} | "
                f"{_model_cell(card)} | [{card.name}](cards.md#{card.name}) | "
                f"{_tests(card, repo_url)} |"
            )
    return "\n".join(lines)


def _tests(card, repo_url: str | None) -> str:
    test = symmetry_test(implementation(card))
    tests = [_code_link("tests/test_zoo.py", repo_url)]
    if test is not None:
        tests.insert(0, _code_link(test, repo_url))
    return "<br>".join(tests)


def card_sections(cards, repo_url: str | None = None) -> str:
    """One section per card: what the zoo declares, and the command that checks it."""
    out = []
    for card in cards:
        tolerance = (
            "exact (harness default tolerance)"
            if card.exact
            else (f"approximate, declared tolerance {card.tolerance:g}")
        )
        path = implementation(card)
        rows = [
            ("domain", f"`{card.domain}`"),
            ("group", _escape(card.group)),
            ("flavour", card.flavour),
            ("symmetry", tolerance),
            ("input action", f"`{_escape(repr(card.input_action))}`"),
            ("output action", f"`{_escape(repr(card.output_action))}`"),
            ("implementation", _model_cell(card) if path else "—"),
            ("paper", _escape(card.paper)),
            ("symmetry test", _tests(card, repo_url)),
        ]
        if card.requires:
            rows.append(("extras", ", ".join(f"`{extra}`" for _, extra in card.requires)))
        out += [f"## `{card.name}` {{#{card.name}}}", "", card.description, ""]
        out += ["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]
        out += ["", "```bash", f"gdl-zoo check {card.name}", "```", ""]
    return "\n".join(out)


def _escape(text: str) -> str:
    return str(text).replace("|", "\\|")


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Replace the markers with tables generated from the registry."""
    if BLUEPRINT_MARKER not in markdown and CARDS_MARKER not in markdown:
        return markdown
    from gdl_zoo import zoo

    cards = zoo.list_models()
    repo_url = config.get("repo_url")
    markdown = markdown.replace(BLUEPRINT_MARKER, blueprint_table(cards, repo_url))
    return markdown.replace(CARDS_MARKER, card_sections(cards, repo_url))
