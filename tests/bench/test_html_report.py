"""report.html is self-contained, escapes what it shows, and renders its figures in Chromium."""

import base64
import re
import shutil
import subprocess

import pytest

from gdl_zoo.bench.runner import run_suites, write_report
from gdl_zoo.bench.suites import BenchContext, Record, Suite

CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
    None,
)


def _run():
    def symmetry(context):
        return [
            Record(
                "<model>",
                "equivariance error (float64)",
                2e-16,
                "relative error",
                True,
                {"tolerance": 1e-10},
            ),
            Record(
                "bad",
                "equivariance error (float64)",
                0.3,
                "relative error",
                False,
                {"tolerance": 1e-10},
            ),
        ]

    def speed(context):
        return [Record("conv", "fwd+bwd time ratio", 1.07, "ratio")]

    def accuracy(context):
        curve = {"x": [0, 30, 60, 90], "y": [99.0, 60.0, 55.0, 98.0], "x_label": "angle (deg)"}
        return [Record("cnn", "test accuracy", 78.0, "%", details={"curve": curve})]

    suites = [
        Suite("t.symmetry", "test", "symmetry", symmetry, "checks"),
        Suite("t.speed", "test", "speed", speed, "ratios"),
        Suite("t.accuracy", "test", "accuracy", accuracy, "curves"),
    ]
    return run_suites(suites, BenchContext(), progress=False)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return write_report(_run(), tmp_path_factory.mktemp("report"))


def test_html_embeds_every_figure_and_escapes_names(report):
    page = report.html.read_text()
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == len(report.figures) == 3
    for encoded, figure in zip(images, report.figures):
        assert base64.b64decode(encoded) == (report.html.parent / figure.filename).read_bytes()
    assert "&lt;model&gt;" in page and "<model>" not in page
    assert "FAIL" in page and "some suites failed" in page
    assert 'src="http' not in page and "<link" not in page  # nothing fetched


def test_markdown_links_the_same_figures(report):
    text = report.markdown.read_text()
    for figure in report.figures:
        assert f"]({figure.filename})" in text


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (CI installs Debian's)")
def test_report_renders_in_headless_chromium(report, tmp_path):
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000"]
    url = report.html.resolve().as_uri()
    dom = subprocess.run(
        [*common, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    loaded = re.search(r'data-figures-loaded="(\d+)"', dom)
    assert loaded is not None, "the page's load script did not run"
    assert int(loaded.group(1)) == len(report.figures)

    shot = tmp_path / "screenshot.png"
    subprocess.run(
        [*common, f"--screenshot={shot}", "--window-size=1200,2400", url],
        capture_output=True,
        timeout=120,
        check=True,
    )
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[0] == 2400 and pixels.shape[1] == 1200
    assert pixels[..., :3].std() > 0.05  # not a blank page
