"""Text view: one row per interaction with its words boxed."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_hex

from captum_spex.viz import plot_text_interactions
from captum_spex.viz._common import NEGATIVE, POSITIVE

from .conftest import TOKENS, from_mobius


def _rows(ax):
    """Split the figure's texts into (header, [tokens]) rows, in drawing order."""
    rows = []
    for t in ax.texts[1:]:  # texts[0] is the title
        if t.get_fontweight() == "bold":
            rows.append((t, []))
        else:
            rows[-1][1].append(t)
    return rows


def test_each_row_boxes_exactly_the_interaction_words(sentence):
    fig, ax = plot_text_interactions(sentence, k=4)
    rows = _rows(ax)
    assert len(rows) == 4
    expected = [(1, 2), (8, 9), (5,), (1, 5, 6)]
    for (_header, tokens), term in zip(rows, expected, strict=True):
        assert [t.get_text() for t in tokens] == TOKENS
        boxed = [i for i, t in enumerate(tokens) if t.get_bbox_patch() is not None]
        assert boxed == list(term)
    assert rows[0][0].get_text() == "1.  amazon × river[1]   +2.00"
    assert rows[2][0].get_text() == "3.  longest   \u22121.00"
    edge = [to_hex(rows[i][1][expected[i][0]].get_bbox_patch().get_edgecolor()) for i in (0, 2)]
    assert edge == [POSITIVE, NEGATIVE]
    assert ax.texts[0].get_text() == "Top 4 terms by |Möbius|"


def test_context_elides_far_tokens(sentence):
    fig, ax = plot_text_interactions(sentence, k=1, min_order=2, context=1)
    ((header, tokens),) = _rows(ax)
    assert [t.get_text() for t in tokens] == ["The", "amazon", "river", "is", "…"]


def test_long_text_wraps_inside_the_figure():
    words = [f"word{i}" for i in range(60)]
    inter = from_mobius(60, {(3, 57): 1.0}, feature_names=words)
    fig, ax = plot_text_interactions(inter, k=1, width=4.0)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ((header, tokens),) = _rows(ax)
    lines = {round(t.get_position()[1], 3) for t in tokens}
    assert len(lines) > 5
    right = max(t.get_window_extent(renderer).x1 for t in tokens)
    assert right <= fig.bbox.width
    assert fig.get_figheight() > 2.0


def test_special_characters_are_drawn_literally():
    words = ["$x$", "costs", "$5", "and", "$\\alpha$", "  ", "\n"]
    inter = from_mobius(len(words), {(0, 2): 1.0, (4,): -0.5})
    fig, ax = plot_text_interactions(inter, words, k=2)
    fig.canvas.draw()  # would raise on unbalanced mathtext
    drawn = [t.get_text() for t in _rows(ax)[0][1]]
    assert drawn == ["$x$", "costs", "$5", "and", "$\\alpha$", "  ", "\\n"]


def test_multi_output_and_errors():
    inter = from_mobius(3, {(0, 1): [1.0, -3.0], (2,): [5.0, 0.0]}, 2)
    fig, ax = plot_text_interactions(inter, ["a", "b", "c"], output=1)
    ((header, tokens),) = _rows(ax)
    assert header.get_text().endswith("\u22123.00")
    with pytest.raises(ValueError, match="one entry per feature"):
        plot_text_interactions(inter, ["a"])
    with pytest.raises(ValueError, match="'output' parameter"):
        plot_text_interactions(inter, output=2)
    with pytest.raises(ValueError, match="'context' parameter"):
        plot_text_interactions(inter, context=-1)


def test_no_terms_still_draws():
    inter = from_mobius(2, {(): 1.0})
    fig, ax = plot_text_interactions(inter)
    assert "No terms" in ax.texts[-1].get_text()
    assert np.isfinite(fig.get_figheight())
