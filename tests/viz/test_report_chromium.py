"""The report in real headless Chromium: our script runs, injected markup does not.

Skipped when no Chromium is installed (Debian: ``apt-get install -y chromium``).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess

import numpy as np
import pytest

from captum_spex.viz import html_report
from captum_spex.viz._common import NEGATIVE, POSITIVE

from .conftest import from_mobius

_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _chromium() -> str:
    for name in (os.environ.get("CHROMIUM"), *_CANDIDATES):
        if name and (path := shutil.which(name)):
            return path
    pytest.skip(
        "Chromium is not installed (Debian: apt-get install -y chromium); "
        "the headless-browser checks of the HTML report are skipped."
    )


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
    detail = dom.split('id="spex-detail"', 1)[1].split("</aside>", 1)[0]
    assert "amazon · Shapley" in detail
    assert "amazon × river" in detail
    assert "amazon × &lt;img src=x" in detail
    assert 'class="tok focus"' in dom and 'class="tok partner"' in dom


def _png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_screenshot_renders_the_page(report, tmp_path):
    shot = tmp_path / "shot.png"
    _run(tmp_path, f"--screenshot={shot}", "--window-size=1200,900", report.as_uri())
    assert _png_size(shot) == (1200, 900)
    import matplotlib.image

    pixels = (matplotlib.image.imread(shot)[:, :, :3] * 255).round()

    def share(hex_color: str) -> float:
        rgb = np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)])
        return float(np.mean(np.all(np.abs(pixels - rgb) <= 3, axis=2)))

    # the table's bars in both colours are on screen, on a mostly light page
    assert share(POSITIVE) > 0.001
    assert share(NEGATIVE) > 0.0003
    assert pixels.mean() > 200
