"""Adapters into Captum's LLMAttributionResult and visualize_text records."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import LLMAttributionResult
from captum.attr import visualization as captum_viz

from captum_spex.interactions import Interactions
from captum_spex.viz import to_llm_attribution_result, to_visualization_records

from .conftest import TOKENS, from_mobius


@pytest.mark.parametrize("values", ["shapley", "banzhaf"])
def test_seq_attr_is_the_per_feature_value(sentence, values):
    res = to_llm_attribution_result(sentence, values=values)
    assert isinstance(res, LLMAttributionResult)
    expected = getattr(sentence, f"{values}_values")()
    np.testing.assert_allclose(res.seq_attr.numpy(), expected)
    assert res.input_tokens == TOKENS
    assert res.token_attr is None
    # Shapley of amazon: 2/2 (amazon·river) + 0.8/3 (the triple)
    if values == "shapley":
        assert res.seq_attr[1].item() == pytest.approx(1.0 + 0.8 / 3)


def test_captum_plot_seq_attr_draws_the_values(sentence):
    res = to_llm_attribution_result(sentence)
    fig, ax = res.plot_seq_attr(show=False)
    heights = [p.get_height() for p in ax.patches]
    # Captum draws a positive and a negative bar per token
    pos, neg = np.array(heights[: len(TOKENS)]), np.array(heights[len(TOKENS) :])
    np.testing.assert_allclose(pos + neg, sentence.shapley_values(), atol=1e-12)


def test_token_attr_from_per_output_interactions():
    # column 0: total, columns 1, 2: per target token
    mob = {(0, 1): [3.0, 1.0, 2.0], (2,): [0.5, 0.5, 0.0], (1, 2): [-1.0, 0.0, -1.0]}
    inter = from_mobius(3, mob, n_outputs=3)
    res = to_llm_attribution_result(inter, ["a", "b", "c"], ["x", "y"])
    shap = inter.shapley_values()
    np.testing.assert_allclose(res.seq_attr.numpy(), shap[:, 0])
    assert tuple(res.token_attr.shape) == (2, 3)
    np.testing.assert_allclose(res.token_attr.numpy(), shap[:, 1:].T)
    fig, ax = res.plot_token_attr(show=False)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["x", "y"]
    cell_texts = {t.get_text() for t in ax.texts}
    assert f"{shap[0, 2]:.4f}" in cell_texts


def test_banzhaf_token_attr_and_output_probs():
    inter = from_mobius(2, {(0, 1): [1.0, 2.0], (0,): [1.0, 0.0]}, n_outputs=2)
    res = to_llm_attribution_result(
        inter, ["a", "b"], ["x"], values="banzhaf", output_probs=torch.tensor([0.25])
    )
    np.testing.assert_allclose(res.token_attr.numpy(), inter.banzhaf_values()[:, 1:].T)
    assert res.output_probs.tolist() == [0.25]


def test_adapter_errors(sentence):
    multi = from_mobius(2, {(0, 1): [1.0, 2.0, 3.0]}, n_outputs=3)
    with pytest.raises(
        ValueError, match="'output_tokens' parameter of to_llm_attribution_result must be given"
    ):
        to_llm_attribution_result(multi, ["a", "b"])
    with pytest.raises(ValueError, match="output_tokens.*2"):
        to_llm_attribution_result(multi, ["a", "b"], ["x"])
    with pytest.raises(ValueError, match="input_tokens"):
        to_llm_attribution_result(Interactions(2, [(0,)], [1.0]))
    with pytest.raises(ValueError, match="input_tokens.*n_features=10"):
        to_llm_attribution_result(sentence, ["a"])
    with pytest.raises(ValueError, match="'shapley', 'banzhaf'"):
        to_llm_attribution_result(sentence, values="sii")
    with pytest.raises(TypeError, match="captum_spex.Interactions"):
        to_llm_attribution_result({(0,): 1.0}, ["a"])


def test_records_one_per_top_interaction(sentence):
    recs = to_visualization_records(sentence, k=4, pred_class="pos", true_class="pos")
    assert all(isinstance(r, captum_viz.VisualizationDataRecord) for r in recs)
    assert [r.attr_class for r in recs] == [
        "amazon × river[1]",
        "South × America",
        "longest",
        "amazon × longest × river[2]",
    ]
    assert [r.attr_score for r in recs] == pytest.approx([2.0, 1.5, -1.0, 0.8])
    for rec, term in zip(recs, [(1, 2), (8, 9), (5,), (1, 5, 6)], strict=True):
        w = rec.word_attributions.numpy()
        assert w.shape == (len(TOKENS),)
        others = np.setdiff1d(np.arange(len(TOKENS)), term)
        assert np.all(w[others] == 0)
        assert np.all(np.sign(w[list(term)]) == np.sign(rec.attr_score))
        assert np.all(np.abs(w) <= 1)
        assert rec.raw_input_ids == TOKENS
        assert rec.pred_class == "pos"
    # the share value / |T| is normalised by the largest share: 2 / 2 = 1
    assert recs[0].word_attributions[1].item() == 1.0
    assert recs[1].word_attributions[8].item() == pytest.approx(0.75)
    assert recs[2].word_attributions[5].item() == pytest.approx(-1.0)
    assert recs[3].word_attributions[6].item() == pytest.approx(0.8 / 3)
    # default pred_prob: the surrogate's value with every token kept
    assert recs[0].pred_prob == pytest.approx(sum([2.0, 1.5, -1.0, 0.8, -0.6, 0.3]))


def test_records_min_order_output_and_r2():
    inter = from_mobius(3, {(0, 1): [1.0, -4.0], (2,): [3.0, 1.0]}, n_outputs=2)
    inter = Interactions(
        3,
        inter.terms,
        inter.coefficients,
        feature_names=["a", "b", "c"],
        diagnostics={"r2_estimate": [0.9, 0.5]},
    )
    recs = to_visualization_records(inter, output=1, min_order=2, pred_prob=0.7)
    assert [(r.attr_class, r.attr_score) for r in recs] == [("a × b", -4.0)]
    assert recs[0].word_attributions.tolist() == [-1.0, -1.0, 0.0]
    assert recs[0].convergence_score == 0.5
    assert recs[0].pred_prob == 0.7


def test_records_render_with_captum_visualize_text(sentence):
    pytest.importorskip("IPython", reason="Captum's visualize_text needs IPython")
    recs = to_visualization_records(sentence, k=2)
    html = captum_viz.visualize_text(recs).data
    assert "amazon × river[1]" in html and "South × America" in html
