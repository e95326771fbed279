"""The report explains itself: what was asked of which model, the fit in words, the terms
with their meaning, ties, the ``word[k]`` suffix, the unit, one tab per answer token, one
number format and the labelled diagnostics."""

from __future__ import annotations

import html
import json
import re

import pytest

from captum_spex.interactions import Interactions
from captum_spex.viz import html_report
from captum_spex.viz._common import Numbers
from captum_spex.viz._report_explain import fit_line, tie_groups

from .conftest import (
    ANSWER_TOKENS,
    MODEL,
    PASSAGE,
    QUESTION,
    TEMPLATE,
    answer_interactions,
    auto_diagnostics,
    from_mobius,
)


def _report(inter=None, **kw):
    kw = {
        "question": QUESTION,
        "model": MODEL,
        "target": "Philip Rivers",
        "prompt_template": TEMPLATE,
        "output_tokens": ANSWER_TOKENS,
        "plots": False,
        **kw,
    }
    return html_report(answer_interactions() if inter is None else inter, **kw)


def _dd(page, key):
    return re.search(rf'<dd id="spex-{key}">(.*?)</dd>', page, re.S).group(1)


def _view(page, j):
    start = page.index(f'<div class="view" id="spex-view-{j}"')
    ends = [page.find(m, start + 1) for m in ('<div class="view"', "</section>")]
    return page[start : min(e for e in ends if e > 0)]


def test_summary_says_what_was_asked_of_which_model():
    page = _report()
    assert _dd(page, "model") == f"<bdi>{MODEL}</bdi>"
    assert _dd(page, "question") == f"<bdi>{QUESTION}</bdi>"
    target = _dd(page, "target")
    assert target.startswith("<bdi>Philip Rivers</bdi>")
    assert "Explained: the answer&#x27;s log-probability." in target
    assert "17 words of the passage; removing one deletes it from the prompt" in _dd(
        page, "features"
    )
    assert "1,000 model queries · interactions up to order 3 · method “auto”" in _dd(page, "budget")
    template = re.search(r'id="spex-template" open>(.*?)</details>', page, re.S).group(1)
    assert "<mark>{passage}</mark>" in template
    assert html.escape("<|im_start|>user") in template


def test_fit_line_in_plain_words():
    page = _report()
    fit = _dd(page, "fit")
    assert (
        "The surrogate explains 93% of the variance of the answer&#x27;s log-probability on "
        "held-out masks (cross-validated; R² = 0.93): a good fit" in fit
    )
    assert 'class="fit-text good"' in fit
    # the token tabs have their own line, from their own R²
    assert "explains 55% of the variance of the log-probability of answer token 2" in page
    assert 'class="fit poor" id="spex-fit-2"' in page


@pytest.mark.parametrize(
    ("diagnostics", "expected", "level"),
    [
        ({"mode": "auto", "r2_estimate": 0.78}, "explains 78% of the variance", "fair"),
        (
            {"mode": "sparse", "r2_estimate": 0.95, "n_holdout": 120},
            "on 120 held-out random masks (R² = 0.95): a good fit",
            "good",
        ),
        ({"mode": "sparse", "r2_estimate": None}, "was not measured", "unknown"),
        (
            {"mode": "proxy", "r2_estimate": -0.2, "n_validation": 50},
            "explains none of the variance of the model's output on 50 held-out random masks "
            "(R² = \u22120.20): a very poor fit",
            "poor",
        ),
        (
            {"mode": "exact", "r2_estimate": 0.99, "returned_degree": 2},
            "Every subset was queried (exact transform): the terms up to order 2 keep 99%",
            "good",
        ),
    ],
)
def test_fit_line_of_each_method(diagnostics, expected, level):
    inter = Interactions(2, [(), (0,)], [0.0, 1.0], diagnostics=diagnostics)
    text, got = fit_line(inter, 0, "the model's output")
    assert expected in text and got == level


def test_each_answer_token_has_its_view():
    page = _report()
    for j, label in enumerate(
        ["Whole answer", "Token 1: <bdi>Philip</bdi>", "Token 2: <bdi>Rivers</bdi>"]
    ):
        assert f'<label for="spex-tab-{j}" role="tab">{label}</label>' in page
        view = _view(page, j)
        assert view.count('class="tok"') == len(PASSAGE)
        assert '<tr data-f="10 11">' in view  # Philip × Rivers leads every view
    assert "log-probability of answer token 1 (“Philip”), given the tokens before it" in page
    data = json.loads(re.search(r'id="spex-data">(.*?)</script>', page, re.S).group(1))
    assert [v["output"] for v in data["views"]] == [0, 1, 2]
    assert [v["top"][0]["value"] for v in data["views"]] == pytest.approx([8.248, 5.0, 3.0])
    # the per-output diagnostics are labelled by output
    assert "whole answer: 0.934; answer token 1 “Philip”: 0.9; answer token 2 “Rivers”: 0.55" in (
        html.unescape(page)
    )


def test_terms_come_with_their_meaning_and_one_number_format():
    view = html.unescape(_view(_report(), 0))
    assert "Synergy: kept together, these 2 words add 8.25 more than their own effects." in view
    assert "Its own effect: keeping this word raises the log-probability by 2.16." in view
    assert "Overlap of all 3: kept together, they add 0.68 less than all their smaller" in view
    values = re.findall(r'<td class="num (?:pos|neg)">([^<]*)', view)
    assert values[:3] == ["+8.25", "+2.16", "+0.95"]
    assert all(re.fullmatch(r"[+\u2212]\d+\.\d\d ?", v) for v in values), values
    assert "Möbius terms add up" in view


def test_tied_values_are_pointed_out():
    assert tie_groups([2.0, -0.6803, 1.0, -0.6803, -0.6803 * (1 + 1e-12)]) == [[1, 3, 4]]
    view = html.unescape(_view(_report(), 0))
    assert view.count('<span class="tie" title="tied value">=</span>') == 3
    assert "Rows 4, 5 and 6 (\u22120.68) have exactly the same value" in view
    assert "aliased" in view
    # +0.50 and -0.50 in the first token's view have one magnitude but are not tied
    assert 'class="note ties"' not in _view(_report(), 1)


def test_word_k_suffix_is_the_k_th_occurrence():
    page = _report()
    assert "<bdi>QB[1]</bdi> × <bdi>Philip</bdi> × <bdi>Rivers</bdi>" in page
    assert (
        "A word that occurs more than once carries its occurrence number: <bdi>QB[2]</bdi> "
        "is the second <bdi>QB</bdi> of the passage." in page
    )


@pytest.mark.parametrize("unit", ["word", "sentence", "token"])
def test_hover_text_names_the_unit(unit):
    page = _report(unit=unit)
    other = {"word", "sentence", "token"} - {unit}
    assert f"Hover a {unit} to list its interactions" in page
    assert f"Hover a {unit} to see its interactions." in page
    assert f"The passage, {unit} by {unit}" in page
    assert not any(f"Hover a {o}" in page for o in other)
    assert (
        json.loads(re.search(r'id="spex-data">(.*?)</script>', page, re.S).group(1))["noun"] == unit
    )


def test_heatmap_shows_the_table_index_or_says_why_not():
    inter = answer_interactions()
    page = _report(inter, plots=True)
    assert "Pairwise Möbius values among the 10 words" in page
    assert "These are the same values as in the table." in page
    page = _report(inter, plots=True, index="fsii", order=3)
    assert "Pairwise FSII (order 2) values" in page
    assert "differ from the table&#x27;s FSII (order 3)" in page


def test_diagnostics_are_labelled_and_collapsed():
    diag = auto_diagnostics(noise_sd=[0.1, 0.2, 0.3], b=6, t=3, lgb_params={"num_leaves": 7})
    page = html.unescape(_report(answer_interactions(diagnostics=diag)))
    block = page[page.index('<section id="spex-diagnostics">') :]
    assert "<details><summary>Raw diagnostics of the run" in block
    assert "<details open" not in block
    for label, key in [
        ("Estimated R² on held-out masks", "r2_estimate"),
        ("Estimated noise s.d.", "noise_sd"),
        ("Buckets per group, log2 (b)", "b"),
        ("Errors the BCH code corrects (t)", "t"),
        ("Answer token ids", "target_ids"),
        ("Candidate terms considered", "n_candidates"),
    ]:
        assert f"<tr><td>{label}</td><td><code>{key}</code></td>" in block
    assert "whole answer: 0.1; answer token 1 “Philip”: 0.2; answer token 2 “Rivers”: 0.3" in block
    assert "num_leaves=7" in block


def test_numbers_never_show_a_negative_zero():
    fmt = Numbers(8.0)
    assert (fmt(-1e-12), fmt(1e-12), fmt(-0.5)) == ("0.00", "0.00", "\u22120.50")
    inter = from_mobius(3, {(): -1e-13, (0, 1): 1.0})
    assert "\u22120.00" not in html_report(inter, plots=False)
