"""The report in real headless Chromium: our script runs, injected markup does not, the
summary and every answer token's view are there, and the page renders without overflow.

Skipped when no Chromium is installed (Debian: ``apt-get install -y chromium``). The
screenshots are written to ``$SPEX_REPORT_SHOTS`` when it is set (to look at them), else to
the test's temporary folder.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from captum_spex.viz import html_report
from captum_spex.viz._common import NEGATIVE, POSITIVE

from .conftest import (
    ANSWER_TOKENS,
    MODEL,
    PASSAGE,
    QUESTION,
    TEMPLATE,
    answer_interactions,
    from_mobius,
)

_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _chromium() -> str:
    for name in (os.environ.get("CHROMIUM"), *_CANDIDATES):
        if name and (path := shutil.which(name)):
            return path
    pytest.skip(
        "Chromium is not installed (Debian: apt-get install -y chromium); "
        "the headless-browser checks of the HTML report are skipped."
    )


# a screenshot waits until the page's scripts and layout have settled (virtual time), not
# for a wall-clock moment: on a loaded machine the tab switch could otherwise come late
_SETTLE = ("--virtual-time-budget=10000", "--run-all-compositor-stages-before-draw")


def _run(tmp_path, *args: str) -> subprocess.CompletedProcess:
    cmd = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90, check=True)


TOKENS = [
    "The",
    "amazon",
    "river",
    "<script>document.title='pwned'</script>",
    "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">",
    "</script><script>document.title='pwned2'</script>",
    "in",
    "South",
    "America",
]


@pytest.fixture
def report(tmp_path):
    inter = from_mobius(
        len(TOKENS),
        {(1, 2): 2.0, (7, 8): 1.5, (3,): -1.0, (1, 4): 0.5, (2, 5): -0.4},
        feature_names=TOKENS,
    )
    path = tmp_path / "report.html"
    html_report(inter, title="SPEX report test", k=6, path=path)
    return path


def test_dom_our_script_ran_and_injected_markup_did_not(report, tmp_path):
    # "#spex-focus=1" makes the page's script show the hover panel of token 1 (amazon)
    out = _run(tmp_path, "--dump-dom", f"{report.as_uri()}#spex-focus=1")
    dom = out.stdout
    assert "<title>SPEX report test</title>" in dom  # no injected script retitled the page
    assert 'data-spex-ready="1"' in dom  # our script ran to the end
    assert "data-pwned" not in dom.split("<main", 1)[0]  # body has no injected attribute
    assert 'data-pwned="1"' not in dom
    assert dom.lower().count("<script") == 2
    assert '<img src="x"' not in dom and "<img src=x" not in dom
    # the escaped token text is in the DOM as text
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom
    assert "&lt;/script&gt;&lt;script&gt;document.title='pwned2'&lt;/script&gt;" in dom
    # the hover panel was built by the script (textContent, so tokens stay text)
    detail = dom.split('id="spex-detail-0"', 1)[1].split("</aside>", 1)[0]
    assert "<bdi>amazon</bdi> · Shapley" in detail
    assert "<bdi>amazon</bdi> × <bdi>river</bdi>" in detail
    assert "<bdi>amazon</bdi> × <bdi>&lt;img src=x" in detail
    assert 'class="tok focus"' in dom and 'class="tok partner"' in dom


def _png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def _pixels(path):
    import matplotlib.image

    return (matplotlib.image.imread(path)[:, :, :3] * 255).round()


def _share(pixels, hex_color: str) -> float:
    rgb = np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)])
    return float(np.mean(np.all(np.abs(pixels - rgb) <= 3, axis=2)))


def _shot_dir(tmp_path) -> Path:
    folder = Path(os.environ.get("SPEX_REPORT_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_screenshot_renders_the_page(report, tmp_path):
    shot = tmp_path / "shot.png"
    _run(tmp_path, *_SETTLE, f"--screenshot={shot}", "--window-size=1200,2000", report.as_uri())
    assert _png_size(shot) == (1200, 2000)
    pixels = _pixels(shot)
    # the table's bars in both colours are on screen, on a mostly light page
    assert _share(pixels, POSITIVE) > 0.001
    assert _share(pixels, NEGATIVE) > 0.0003
    assert pixels.mean() > 200


def _answer_report(tmp_path, unit: str) -> Path:
    if unit == "word":
        inter = answer_interactions()
    else:
        from captum_spex.apps.prompts import default_example, split_context

        pieces = split_context(default_example()["passage"], "sentence")
        mobius = {(4,): [8.248, 5.0, 3.0], (3,): [-2.16, -1.0, -1.2], (3, 4): [0.9476, 0.3, 0.6]}
        mobius[(0, 3, 4)] = [-0.6803, -0.2, -0.3]
        inter = answer_interactions(pieces, mobius)
    path = tmp_path / f"report_{unit}.html"
    html_report(
        inter,
        title="SPEX: why the answer 'Philip Rivers'",
        unit=unit,
        question=QUESTION,
        model=MODEL,
        target="Philip Rivers",
        prompt_template=TEMPLATE,
        output_tokens=ANSWER_TOKENS,
        path=path,
    )
    return path


def test_dom_has_the_summary_and_a_view_per_answer_token(tmp_path):
    page = _answer_report(tmp_path, "word")
    # open token 2's tab and show the panel of word 10 ("Philip") there
    dom = _run(tmp_path, "--dump-dom", f"{page.as_uri()}#spex-view=2&spex-focus=10").stdout
    assert 'data-spex-ready="1"' in dom and 'data-spex-view="2"' in dom
    text = html.unescape(dom)
    assert f'<dd id="spex-question"><bdi>{QUESTION}</bdi></dd>' in text
    assert f'<dd id="spex-model"><bdi>{MODEL}</bdi></dd>' in text
    assert '<dd id="spex-target"><bdi>Philip Rivers</bdi>' in text
    fit = text.split('<dd id="spex-fit">', 1)[1].split("</dd>", 1)[0]
    assert (
        "The surrogate explains 93% of the variance of the answer's log-probability on "
        "held-out masks (cross-validated; R² = 0.93): a good fit" in fit
    )
    for j, token in enumerate(ANSWER_TOKENS, start=1):
        assert f'<label for="spex-tab-{j}" role="tab">Token {j}: <bdi>{token.strip()}</bdi>' in text
        view = text.split(f'id="spex-view-{j}"', 1)[1].split('<div class="view"', 1)[0]
        assert len(re.findall(r'<bdi class="tok[ "]', view)) == len(PASSAGE)
        assert f"log-probability of answer token {j} (“{token.strip()}”)" in view
        assert '<tr data-f="10 11">' in view
    detail = text.split('id="spex-detail-2"', 1)[1].split("</aside>", 1)[0]
    assert "<bdi>Philip</bdi> · Shapley" in detail
    assert "<bdi>Philip</bdi> × <bdi>Rivers</bdi>" in detail
    assert text.split('id="spex-detail-0"', 1)[1].startswith(">Hover a word")  # other tabs idle


@pytest.mark.parametrize("unit", ["word", "sentence"])
def test_screenshots_of_the_answer_report(tmp_path, unit):
    page = _answer_report(tmp_path, unit)
    folder = _shot_dir(tmp_path)
    for width, tab in ((1200, 0), (1200, 2), (760, 0)):
        shot = folder / f"report_{unit}_{width}_tab{tab}.png"
        url = f"{page.as_uri()}#spex-view={tab}&spex-focus=4"
        _run(
            tmp_path,
            "--hide-scrollbars",
            *_SETTLE,
            f"--screenshot={shot}",
            f"--window-size={width},2400",
            url,
        )
        pixels = _pixels(shot)
        assert pixels.shape[:2] == (2400, width)
        assert pixels.mean() > 190
        assert _share(pixels, POSITIVE) > 0.001  # tinted text, bars and plots
        # nothing runs past the page's margin: the right edge is the background
        assert _share(pixels[:, -12:], "#f6f8fa") > 0.999, shot
