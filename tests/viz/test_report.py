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


def _data(page):
    raw = re.search(r'<script type="application/json" id="spex-data">(.*?)</script>', page, re.S)
    return raw.group(1)


def test_embedded_json_is_escaped_and_round_trips(evil):
    inter, tokens = evil
    page = html_report(inter, k=3, plots=False)
    body = _data(page)
    assert "<" not in body and ">" not in body and "&" not in body
    data = json.loads(body)
    assert data["tokens"] == tokens
    (view,) = data["views"]
    np.testing.assert_allclose(view["shapley"], inter.shapley_values())
    labels = [t["label"] for t in view["top"]]
    assert labels == ["amazon × river[1]", "South × America", "longest"]
    assert [t["value"] for t in view["top"]] == pytest.approx([2.0, 1.5, -1.0])
    assert all(len(t["features"]) >= 2 for t in view["hover"])
    assert {"features": [2, 10], "value": pytest.approx(0.7), "label": f"river[1] × {EVIL}"} in (
        view["hover"]
    )
    assert data["names"][2] == "river[1]" and data["names"][10] == EVIL


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
    assert "The input, feature by feature" in page  # no tokens: features, not words
    assert "Hover a feature" in page and "Hover a word" not in page
    mask = np.repeat(np.arange(4), 4).reshape(4, 4)
    page = html_report(inter, image=np.zeros((4, 4, 3)), feature_mask=mask)
    assert page.count("<img") == 3
    assert "The image, segment by segment" in page and "Hover a segment" in page


def test_multi_output_report_has_one_view_per_output():
    inter = from_mobius(3, {(0, 1): [1.0, -3.0], (2,): [2.0, 0.0]}, 2)
    page = html_report(inter, ["a", "b", "c"], output=1)
    data = json.loads(_data(page))
    assert data["selected"] == 1
    assert [v["output"] for v in data["views"]] == [0, 1]
    assert [(t["label"], t["value"]) for t in data["views"][1]["top"]] == [("a × b", -3.0)]
    assert 'id="spex-view-0"' in page and 'id="spex-view-1"' in page
    assert re.search(r'id="spex-tab-1" value="1" checked>', page)
    assert not re.search(r'id="spex-tab-0" value="0" checked>', page)
    assert '<label for="spex-tab-1" role="tab">Output 1</label>' in page
    views = page.split('<div class="view"')[1:]
    assert [v.count("<img") for v in views] == [2, 2]  # each tab has its own plots


def test_many_outputs_plot_the_open_tab_only():
    inter = from_mobius(3, {(0, 1): list(np.arange(1.0, 15.0)), (2,): [1.0] * 14}, 14)
    page = html_report(inter, ["a", "b", "c"], output=3)
    views = page.split('<div class="view"')[1:]
    assert len(views) == 14
    assert [v.count("<img") for v in views] == [2 if j == 3 else 0 for j in range(14)]
    assert "Plots are drawn for the tab opened first only" in views[0]


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
    with pytest.raises(ValueError, match="The 'unit' parameter of html_report must be one of"):
        html_report(inter, unit="paragraph")
    for name in ("question", "model", "target", "prompt_template"):
        with pytest.raises(TypeError, match=f"The '{name}' parameter of html_report must be a str"):
            html_report(inter, plots=False, **{name: 3})
    with pytest.raises(ValueError, match=r"one entry per output after the first.*n_outputs - 1=0"):
        html_report(inter, plots=False, output_tokens=["x"])


def test_generator_names_the_package_version():
    import captum_spex
    from captum_spex._version import __version__

    assert __version__ == captum_spex.__version__
    page = html_report(Interactions(2, [(0,)], [1.0]), plots=False)
    assert f'content="captum-spex {__version__}"' in page
