"""One self-contained ``report.html``: the tables of ``results.json`` and its figures inline.

The PNGs are embedded as base64 data URIs, so the file can be mailed or
attached to a CI run on its own.  A few lines of inline script record on
``<body data-figures-loaded="N">`` how many figures the browser decoded, which
lets a headless browser test check that the figures really render.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from gdl_zoo.bench.plots import Figure
from gdl_zoo.bench.tables import format_value, machine_line, suite_facts

__all__ = ["to_html"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
td.value { text-align: right; font-variant-numeric: tabular-nums; }
td.fail, .error { color: #b00020; font-weight: bold; }
td.pass { color: #1b5e20; }
figure { margin: 1em 0 2em; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #555; }
"""

_SCRIPT = """
window.addEventListener("load", function () {
  var images = document.querySelectorAll("figure img");
  var loaded = 0;
  images.forEach(function (img) { if (img.complete && img.naturalWidth > 0) { loaded++; } });
  document.body.setAttribute("data-figures-loaded", String(loaded));
});
"""


def _figure(figure: Figure, folder: Path) -> str:
    encoded = base64.b64encode((folder / figure.filename).read_bytes()).decode("ascii")
    title = html.escape(figure.title)
    return (
        f'<figure id="{html.escape(figure.filename)}">'
        f'<img alt="{title}" src="data:image/png;base64,{encoded}">'
        f"<figcaption><b>{title}.</b> {html.escape(figure.caption)}</figcaption></figure>"
    )


def _suite(suite: dict) -> str:
    head = (
        f"<h2>{html.escape(suite['name'])} "
        f"<small>({html.escape(suite_facts(suite))})</small></h2>"
    )
    if suite.get("description"):
        head += f"<p>{html.escape(suite['description'])}</p>"
    if suite["error"] is not None:
        last = suite["error"].strip().splitlines()[-1]
        return head + f'<p class="error">Suite failed: {html.escape(last)}</p>'
    rows = ["<tr><th>name</th><th>metric</th><th>value</th><th>unit</th><th>check</th></tr>"]
    for r in suite["records"]:
        check = {None: "", True: "pass", False: "fail"}[r["passed"]]
        rows.append(
            f"<tr><td>{html.escape(r['name'])}</td><td>{html.escape(r['metric'])}</td>"
            f'<td class="value">{format_value(r["value"])}</td><td>{html.escape(r["unit"])}</td>'
            f'<td class="{check}">{check.upper() if check == "fail" else check}</td></tr>'
        )
    return head + "<table>" + "".join(rows) + "</table>"


def to_html(data: dict, figures: list[Figure], folder: Path) -> str:
    """The report page of one run.

    Args:
        data: a ``results.json`` object.
        figures: the figures written into ``folder`` (see :func:`write_figures`).
        folder: where the PNGs are read from, to be embedded.
    """
    title = f"gdl-zoo bench ({data['started']})"
    status = "all checks passed" if data["ok"] else "some suites failed or checks did not hold"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style>",
        f"<script>{_SCRIPT}</script></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{html.escape(machine_line(data))}</p>",
        f'<p class="{"pass" if data["ok"] else "error"}">{status}</p>',
    ]
    parts += [_figure(f, Path(folder)) for f in figures]
    parts += [_suite(s) for s in data["suites"]]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
