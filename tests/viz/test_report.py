"""The self-contained HTML report: escaping, embedded data, no network assets."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from captum_spex.interactions import Interactions
from captum_spex.viz import html_report
from captum_spex.viz.report import json_for_script

from .conftest import TOKENS, from_mobius

EVIL = "<script>alert(1)</script>"


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.data: dict[str, str] = {}
        self._open: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        self._open = attrs.get("id") if tag == "script" else None

    def handle_data(self, data):
        if self._open:
            self.data[self._open] = self.data.get(self._open, "") + data

    def handle_endtag(self, tag):
        self._open = None


def _parse(page):
    p = _Collect()
    p.feed(page)
    return p


@pytest.fixture
def evil():
    tokens = [*TOKENS, EVIL]
    mob = {(1, 2): 2.0, (8, 9): 1.5, (5,): -1.0, (2, 10): 0.7}
    return from_mobius(len(tokens), mob, feature_names=tokens), tokens


def test_tokens_are_escaped_and_no_script_is_injected(evil):
    inter, tokens = evil
    page = html_report(inter, title="t </title><script>x()</script>")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert EVIL not in page
    assert "<title>t &lt;/title&gt;&lt;script&gt;x()&lt;/script&gt;</title>" in page
    parsed = _parse(page)
    scripts = [a for t, a in parsed.tags if t == "script"]
    assert len(scripts) == 2  # the JSON data and the page's own script, nothing else
    assert scripts[0] == {"type": "application/json", "id": "spex-data"}
    assert page.lower().count("<script") == 2
    assert page.lower().count("</script") == 2


def test_embedded_json_is_escaped_and_round_trips(evil):
    inter, tokens = evil
    page = html_report(inter, k=3, plots=False)
    raw = re.search(r'<script type="application/json" id="spex-data">(.*?)</script>', page, re.S)
    body = raw.group(1)
    assert "<" not in body and ">" not in body and "&" not in body
    data = json.loads(body)
    assert data["tokens"] == tokens
    np.testing.assert_allclose(data["shapley"], inter.shapley_values())
    labels = [t["label"] for t in data["top"]]
    assert labels == ["amazon × river[2]", "South × America", "longest"]
    assert [t["value"] for t in data["top"]] == pytest.approx([2.0, 1.5, -1.0])
    assert all(len(t["features"]) >= 2 for t in data["hover"])
    assert {"features": [2, 10], "value": pytest.approx(0.7), "label": f"river[2] × {EVIL}"} in (
        data["hover"]
    )


def test_json_for_script_cannot_close_the_tag():
    text = json_for_script({"a": "</script><!-- & \u2028"})
    assert "</" not in text and "<!--" not in text and "&" not in text
    assert json.loads(text) == {"a": "</script><!-- & \u2028"}


def test_no_external_resources(evil):
    inter, _ = evil
    page = html_report(inter, image=None)
    assert "http://" not in page and "https://" not in page
    parsed = _parse(page)
    refs = [a[k] for _, a in parsed.tags for k in ("src", "href") if k in a]
    assert refs and all(r.startswith("data:image/png;base64,") for r in refs)
    assert not any(t in ("link", "iframe", "object", "embed") for t, _ in parsed.tags)
    assert "@import" not in page and "url(" not in page


def test_table_plots_and_file(evil, tmp_path):
    inter, tokens = evil
    path = tmp_path / "report.html"
    page = html_report(inter, k=4, path=path)
    assert path.read_text(encoding="utf-8") == page
    rows = re.findall(r'<tr data-f="([0-9 ]+)">', page)
    assert rows == ["1 2", "8 9", "5", "2 10"]
    imgs = [a for t, a in _parse(page).tags if t == "img"]
    assert len(imgs) == 2  # bar chart and heatmap
    assert all(a["alt"] for a in imgs)
    assert 'id="spex-report" data-spex-ready="0"' in page


def test_plots_false_and_image_panels():
    inter = from_mobius(4, {(0, 3): 1.0, (1,): -0.5})
    page = html_report(inter, plots=False)
    assert "<img" not in page
    assert "<h2>Features</h2>" in page  # no tokens: features, not words
    mask = np.repeat(np.arange(4), 4).reshape(4, 4)
    page = html_report(inter, image=np.zeros((4, 4, 3)), feature_mask=mask)
    assert page.count("<img") == 3


def test_multi_output_report_shows_the_chosen_output():
    inter = from_mobius(3, {(0, 1): [1.0, -3.0], (2,): [2.0, 0.0]}, 2)
    page = html_report(inter, ["a", "b", "c"], output=1, plots=False)
    data = json.loads(re.search(r'id="spex-data">(.*?)</script>', page, re.S).group(1))
    assert [(t["label"], t["value"]) for t in data["top"]] == [("a × b", -3.0)]
    assert "output 1 of 2" in page


def test_report_errors(evil):
    inter, _ = evil
    with pytest.raises(ValueError, match="'k' parameter"):
        html_report(inter, k=0)
    with pytest.raises(TypeError, match="title"):
        html_report(inter, title=3)
    with pytest.raises(ValueError, match="one entry per feature"):
        html_report(inter, ["a"])
    with pytest.raises(ValueError, match="given together"):
        html_report(inter, image=np.zeros((4, 4)))


def test_generator_names_the_package_version():
    import captum_spex
    from captum_spex._version import __version__

    assert __version__ == captum_spex.__version__
    page = html_report(Interactions(2, [(0,)], [1.0]), plots=False)
    assert f'content="captum-spex {__version__}"' in page
