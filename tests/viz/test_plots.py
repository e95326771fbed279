"""Pairwise heatmap and top-k bar chart."""

from __future__ import annotations

import html
import importlib
import sys
from fractions import Fraction

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex

from captum_spex.indices import INDICES, IndexSpec, _fourier_weights
from captum_spex.interactions import Interactions
from captum_spex.viz import (
    html_report,
    pairwise_matrix,
    plot_interaction_heatmap,
    plot_text_interactions,
    plot_top_interactions,
    to_visualization_records,
)
from captum_spex.viz._common import NEGATIVE, POSITIVE, display_names

from .conftest import TOKENS, from_mobius


def test_pairwise_matrix_mobius_matches_the_dict(sentence):
    feats, mat = pairwise_matrix(sentence, m=5, index="mobius")
    shap = np.abs(sentence.shapley_values())
    assert feats == [int(i) for i in np.argsort(-shap, kind="stable")[:5]]
    mob = sentence.mobius()
    for a, i in enumerate(feats):
        for b, j in enumerate(feats):
            key = (i,) if i == j else tuple(sorted((i, j)))
            assert mat[a, b] == pytest.approx(mob.get(key, 0.0), abs=1e-12)
    np.testing.assert_array_equal(mat, mat.T)


def test_pairwise_matrix_ordered_index_at_order_two(sentence):
    feats, mat = pairwise_matrix(sentence, features=[1, 2, 5, 6], index="fsii")
    fsii = sentence.index("fsii", order=2)
    assert mat[0, 1] == pytest.approx(fsii[(1, 2)])
    assert mat[2, 3] == pytest.approx(fsii.get((5, 6), 0.0))
    assert mat[0, 0] == pytest.approx(fsii[(1,)])
    # the triple amazon·longest·river[2] is shared out to its pairs by FSII
    assert mat[0, 3] != 0.0


def test_pairwise_errors(sentence):
    with pytest.raises(ValueError, match="n_features >= 2"):
        pairwise_matrix(Interactions(1, [(0,)], [1.0]))
    with pytest.raises(ValueError, match="distinct feature ids"):
        pairwise_matrix(sentence, features=[1, 1])
    with pytest.raises(ValueError, match="'m' parameter"):
        pairwise_matrix(sentence, m=1)
    with pytest.raises(ValueError, match="valid|index"):
        pairwise_matrix(sentence, index="nope")


def test_heatmap_labels_symmetric_scale_and_blank_diagonal(sentence):
    fig, ax = plot_interaction_heatmap(sentence, m=4, index="mobius")
    feats, mat = pairwise_matrix(sentence, m=4, index="mobius")
    labels = display_names(sentence)
    assert [t.get_text() for t in ax.get_xticklabels()] == [labels[i] for i in feats]
    assert [t.get_text() for t in ax.get_yticklabels()] == [labels[i] for i in feats]
    (im,) = ax.get_images()
    low, high = im.get_clim()
    off = mat[~np.eye(4, dtype=bool)]
    assert low == -high == pytest.approx(-np.abs(off).max())
    data = im.get_array()
    assert data.mask[np.diag_indices(4)].all() and not data.mask[0, 1]
    assert im.cmap(im.norm(high))[:3] == pytest.approx(plt.matplotlib.colors.to_rgb(POSITIVE))
    assert "2.00" in {t.get_text() for t in ax.texts}  # annotated amazon × river


def test_heatmap_diagonal_on_existing_axes(sentence):
    fig, given = plt.subplots()
    out_fig, ax = plot_interaction_heatmap(sentence, m=3, diagonal=True, annotate=False, ax=given)
    assert ax is given and out_fig is fig
    (im,) = ax.get_images()
    assert not np.ma.getmaskarray(im.get_array()).any()
    _, mat = pairwise_matrix(sentence, m=3)
    np.testing.assert_allclose(np.diag(im.get_array()), np.diag(mat))
    assert np.abs(np.diag(mat)).max() > 0
    assert len(ax.texts) == 0


def test_duplicate_tokens_are_disambiguated(sentence):
    names = display_names(sentence)
    assert names[2] == "river[1]" and names[6] == "river[2]"  # 1st and 2nd "river"
    assert names[0] == "The" and names[4] == "the"


def test_top_bar_chart(sentence):
    fig, ax = plot_top_interactions(sentence, k=5)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [
        "amazon × river[1]",
        "South × America",
        "longest",
        "amazon × longest × river[2]",
        "is × river[2]",
    ]
    widths = [p.get_width() for p in ax.patches]
    assert widths == pytest.approx([2.0, 1.5, -1.0, 0.8, -0.6])
    colors = [to_hex(p.get_facecolor()) for p in ax.patches]
    assert colors == [POSITIVE, POSITIVE, NEGATIVE, POSITIVE, NEGATIVE]
    assert ax.yaxis_inverted()  # largest on top
    assert "Möbius" in ax.get_title()


def test_top_bar_chart_min_order_output_and_sep():
    inter = from_mobius(3, {(0, 1): [1.0, -5.0], (2,): [9.0, 9.0], (1, 2): [2.0, 0.5]}, 2)
    fig, ax = plot_top_interactions(inter, k=3, output=1, min_order=2, sep=" & ")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0 & 1", "1 & 2"]
    assert [p.get_width() for p in ax.patches] == pytest.approx([-5.0, 0.5])
    assert "interactions" in ax.get_title()


def test_zero_terms_are_not_shown():
    # exact zeros and rounding noise from the index conversion are left out
    inter = Interactions(2, [(), (0,), (0, 1)], [0.0, 1e-20, 1.0])
    fig, ax = plot_top_interactions(inter, k=10, index="fourier")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0 × 1"]


def test_show_true_calls_plt_show_and_returns_none(sentence, monkeypatch):
    calls = []
    monkeypatch.setattr(plt, "show", lambda *a, **k: calls.append(1))
    assert plot_top_interactions(sentence, show=True) is None
    assert plot_interaction_heatmap(sentence, show=True) is None
    assert len(calls) == 2


def test_viz_imports_without_matplotlib_and_names_the_extra(sentence, monkeypatch):
    import captum_spex

    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.setitem(sys.modules, name, None)  # "import matplotlib" now fails
        elif name.startswith("captum_spex.viz"):
            monkeypatch.delitem(sys.modules, name)  # re-imported below, restored after
    monkeypatch.setattr(captum_spex, "viz", captum_spex.viz)
    fresh = importlib.import_module("captum_spex.viz")  # no matplotlib at import time
    page = fresh.html_report(sentence, plots=False)  # the page itself needs no matplotlib
    assert "amazon" in page
    with pytest.raises(ImportError, match=r'pip install "captum-spex\[viz\]"'):
        fresh.plot_top_interactions(sentence)
    with pytest.raises(ImportError, match=r'pip install "captum-spex\[viz\]"'):
        fresh.html_report(sentence)


def test_labels_follow_feature_names_argument():
    inter = from_mobius(len(TOKENS), {(1, 2): 1.0}, feature_names=None)
    fig, ax = plot_top_interactions(inter, k=1)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1 × 2"]
    fig, ax = plot_top_interactions(inter, k=1, feature_names=TOKENS)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["amazon × river[1]"]


def test_pairwise_views_of_a_constant_only_explanation_are_empty():
    from captum_spex import Interactions
    from captum_spex.viz import pairwise_matrix, plot_interaction_heatmap

    inter = Interactions(4, [()], [1.5])
    feats, matrix = pairwise_matrix(inter, m=3)
    assert len(feats) == 3 and not matrix.any()
    fig, _ = plot_interaction_heatmap(inter, m=3)
    assert fig is not None


# ---------------------------------------------------------------------- the index table
@pytest.mark.parametrize("name", list(INDICES))
def test_titles_come_from_the_index_table(sentence, name):
    spec = INDICES[name]
    label = spec.label(sentence.resolve_order(name))
    fig, ax = plot_top_interactions(sentence, k=3, index=name)
    assert ax.get_title().endswith(f"by |{label}|")
    assert ax.get_xlabel() == f"{label} value"
    fig, ax = plot_interaction_heatmap(sentence, m=4, index=name)
    assert (
        ax.get_title()
        == f"Pairwise {spec.label(2 if spec.ordered else None)} among the top 4 features"
    )
    fig, ax = plot_text_interactions(sentence, k=2, index=name)
    assert ax.texts[0].get_text().endswith(f"by |{label}|")
    page = html_report(sentence, k=2, index=name, plots=False)
    assert f"terms by |{html.escape(label)}|</h3>" in page


def test_a_new_table_entry_reaches_the_views(sentence, monkeypatch):
    spec = IndexSpec("half", "Half-Möbius", lambda u, t, ell: Fraction(int(u == t), 2), "")
    monkeypatch.setitem(INDICES, "half", spec)
    try:
        fig, ax = plot_top_interactions(sentence, k=2, index="half")
        assert ax.get_title() == "Top 2 terms by |Half-Möbius|"
        assert [t.get_text() for t in ax.texts] == ["+1.00", "+0.75"]  # half of 2 and 1.5
    finally:
        _fourier_weights.cache_clear()


def test_view_messages_name_the_view(sentence):
    valid = ", ".join(repr(name) for name in INDICES)
    cases = [
        (
            lambda: plot_top_interactions(sentence, k=-1),
            "The 'k' parameter of plot_top_interactions must be an int >= 0; got -1.",
        ),
        (
            lambda: plot_top_interactions(sentence, order=11),
            "The 'order' parameter of plot_top_interactions must be an int in [1, 10] or None; "
            "got 11.",
        ),
        (
            lambda: plot_text_interactions(sentence, index="nope"),
            f"The 'index' parameter of plot_text_interactions must be one of {valid}; got 'nope'.",
        ),
        (
            lambda: html_report(sentence, k=0),
            "The 'k' parameter of html_report must be an int >= 1; got 0.",
        ),
        (
            lambda: pairwise_matrix(sentence, rank_by="sii"),
            "The 'rank_by' parameter of pairwise_matrix must be one of 'shapley', 'banzhaf'; "
            "got 'sii'.",
        ),
        (
            lambda: plot_interaction_heatmap(sentence, output=1),
            "The 'output' parameter of plot_interaction_heatmap must be an int in [0, 0] or "
            "None; got 1.",
        ),
        (
            lambda: to_visualization_records(sentence, min_order=0),
            "The 'min_order' parameter of to_visualization_records must be an int >= 1; got 0.",
        ),
        (
            lambda: plot_top_interactions(sentence, feature_names=["a"]),
            "The 'feature_names' parameter of plot_top_interactions must be a sequence of str "
            "with one entry per feature (n_features=10); got ['a'].",
        ),
    ]
    for call, message in cases:
        with pytest.raises(ValueError) as info:
            call()
        assert str(info.value) == message


# ------------------------------------------------------------- issue 16: standard errors
def _with_errors():
    """Fourier terms with errors: (0,) and (1, 2) clear of zero, (3,) not."""
    terms = [(), (0,), (1, 2), (3,)]
    return Interactions(
        4,
        terms,
        [0.5, -1.0, 0.8, 0.02],
        standard_errors=[0.0, 0.05, 0.05, 0.05],
        feature_names=["a", "b", "c", "d"],
    )


def test_bar_chart_draws_95_intervals_and_pales_terms_that_cover_zero():
    inter = _with_errors()
    top = inter.top(5, min_order=1)
    fig, ax = plot_top_interactions(inter, k=5)
    (lines,) = [c for c in ax.collections if c.get_segments()]  # the error lines
    spans = sorted(float(abs(s[1][0] - s[0][0])) for s in lines.get_segments())
    assert spans == pytest.approx(sorted(2 * 1.96 * t.stderr for t in top))
    alphas = {t.label: p.get_facecolor()[3] for t, p in zip(top, ax.patches, strict=True)}
    assert [t.covers_zero for t in top].count(True) == 1
    for t in top:
        assert (alphas[t.label] < 1.0) == t.covers_zero
    assert "95% intervals" in ax.get_xlabel()
    plain, ax2 = plot_top_interactions(Interactions(4, [(), (0,)], [0.5, -1.0]), k=3)
    assert not [c for c in ax2.collections if c.get_segments()]
    assert "intervals" not in ax2.get_xlabel()


def test_report_table_shows_plus_minus_and_marks_terms_that_cover_zero():
    inter = _with_errors()
    top = inter.top(10)
    page = html_report(inter)
    assert page.count("±") >= len(top)
    unsure = sum(bool(t.covers_zero) for t in top)
    assert unsure >= 1 and page.count('class="unsure"') == unsure
    assert f"{unsure} of these {len(top)} terms" in page
    assert "±" not in html_report(Interactions(4, [(), (0,)], [0.5, -1.0]))
