"""User tokens are plain text everywhere: no mathtext in any plot (``$$`` used to crash the
draw, ``$5 × $10`` lost its dollars), bidi controls isolated in the report, and sentence
labels cut short so the PNG keeps a sane width without tight-layout warnings."""

from __future__ import annotations

import io
import re
import struct
import warnings

import numpy as np
import pytest

from captum_spex.viz import (
    html_report,
    plot_image_interactions,
    plot_interaction_heatmap,
    plot_text_interactions,
    plot_top_interactions,
)

from .conftest import from_mobius

TRICKY = ["$$", "$5 × $10", "left\u202eright", "\u202e", "$\\alpha$"]
# one main effect per token, largest first, so each plot shows them in this order
TRICKY_MOBIUS = {(0,): 5.0, (1,): 4.0, (2,): 3.0, (3,): 2.0, (4,): 1.0, (0, 1): 0.5}


@pytest.fixture
def tricky():
    return from_mobius(len(TRICKY), TRICKY_MOBIUS, feature_names=TRICKY)


def _drawn(fig):
    fig.canvas.draw()  # mathtext would raise here on "$$"


def test_bar_chart_draws_tokens_as_they_are(tricky):
    fig, ax = plot_top_interactions(tricky, k=5)
    _drawn(fig)
    labels = ax.get_yticklabels()
    assert [t.get_text() for t in labels] == TRICKY
    assert not any(t.get_parse_math() for t in labels)


def test_heatmap_draws_tokens_as_they_are(tricky):
    fig, ax = plot_interaction_heatmap(tricky, m=5)
    _drawn(fig)
    for labels in (ax.get_xticklabels(), ax.get_yticklabels()):
        assert [t.get_text() for t in labels] == TRICKY
        assert not any(t.get_parse_math() for t in labels)


def test_text_view_draws_tokens_as_they_are(tricky):
    fig, ax = plot_text_interactions(tricky, k=6)
    _drawn(fig)
    texts = [t.get_text() for t in ax.texts]
    for rank in range(1, 7):
        start = next(i for i, s in enumerate(texts) if s.startswith(f"{rank}."))
        assert texts[start + 1 : start + 1 + len(TRICKY)] == TRICKY
    assert "1.  $$   +5.00" in texts
    assert "6.  $$ × $5 × $10   +0.50" in texts
    assert not any(t.get_parse_math() for t in ax.texts)


def test_image_panels_draw_segment_names_as_they_are(tricky):
    mask = np.repeat(np.arange(5), 5).reshape(5, 5)
    fig, axes = plot_image_interactions(tricky, np.zeros((5, 5, 3)), mask, k=6)
    _drawn(fig)
    assert [ax.texts[0].get_text() for ax in axes[:5]] == TRICKY
    assert [t.get_text() for t in axes[5].texts] == ["$$", "$5 × $10"]
    assert axes[5].get_title() == "#6  $$ × $5 × $10\n+0.50"
    for ax in axes:
        assert not ax.title.get_parse_math()
        assert not any(t.get_parse_math() for t in ax.texts)


def test_a_right_to_left_override_cannot_flip_the_rest_of_a_plot_label():
    words = ["left\u202eright", "after"]
    inter = from_mobius(2, {(0, 1): 1.0, (0,): 0.5}, feature_names=words)
    fig, ax = plot_top_interactions(inter, k=2)
    _drawn(fig)
    # the pair's names sit between isolates (FSI ... PDI); a lone name is drawn as it is
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["\u2068left\u202eright\u2069 × after", "left\u202eright"]
    fig, ax = plot_text_interactions(inter, k=2)
    _drawn(fig)
    texts = [t.get_text() for t in ax.texts]
    assert "1.  \u2068left\u202eright\u2069 × after   +1.00" in texts
    assert "2.  \u2068left\u202eright\u2069   +0.50" in texts  # the value is drawn after it
    assert texts.count("left\u202eright") == 2  # the tokens themselves are unchanged


def test_report_isolates_every_token(tricky):
    page = html_report(tricky, unit="token")
    tokens = re.findall(r'<bdi class="tok" data-i="(\d+)"[^>]*>(.*?)</bdi>', page)
    assert [int(i) for i, _ in tokens] == list(range(len(TRICKY)))
    assert [t for _, t in tokens] == TRICKY  # none of these needs escaping
    # the table: each name in its own isolate, so "\u202e" cannot flip what follows it
    assert "<bdi>$$</bdi> × <bdi>$5 × $10</bdi>" in page
    assert '<td class="term" title="\u202e"><bdi>\u202e</bdi></td>' in page
    assert page.count("<img") == 2  # the plots survived the tokens


def _sentences():
    from captum_spex.apps.prompts import default_example, split_context

    return split_context(default_example()["passage"], "sentence")


@pytest.fixture
def sentences():
    names = _sentences()
    mobius = {(0,): 2.0, (1, 2): -1.5, (0, 3, 5): 1.2, (4,): 0.8, (2, 5): 0.6}
    return from_mobius(len(names), mobius, feature_names=names)


def _png_width(fig, dpi=120):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return struct.unpack(">II", buf.getvalue()[16:24])[0]


def test_sentence_labels_keep_the_bar_chart_narrow(sentences):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Tight layout not applied" and any other warning
        fig, ax = plot_top_interactions(sentences, k=5)
        width = _png_width(fig)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert all(len(line) <= 40 for s in labels for line in s.split("\n")), labels
    assert labels[0] == "Trying to snap a four-game skid, the…"
    # a term of three sentences: one a line, each recognisable
    assert labels[2].split("\n") == [
        "Trying to snap a four-game skid, the…",
        "× In the second quarter, the Chiefs…",
        "× In the second quarter, the Chargers…",
    ]
    assert width <= 1100, width  # the figure is 8 in wide: 960 px at 120 dpi
    assert fig.get_figwidth() == 8.0


def test_sentence_labels_in_the_other_plots(sentences):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig, ax = plot_interaction_heatmap(sentences, m=6)
        assert _png_width(fig) <= 1600
        assert all(len(t.get_text()) <= 24 for t in ax.get_xticklabels())
        fig, ax = plot_text_interactions(sentences, k=3, width=8.0)
        fig.canvas.draw()
        right = max(t.get_window_extent().x1 for t in ax.texts)
    assert right <= fig.bbox.width + 1  # long tokens wrap instead of running off the page
