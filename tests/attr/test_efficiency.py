"""Shapley values sum to f(x) - f(baseline) on real models, and the surrogate is exact at
the full input and at the baseline (issue: "numbers that agree")."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from captum_spex import SpexInteractions
from tests.fixtures.real_models import smollm2


@pytest.fixture(scope="module")
def mlp_and_data():
    """A small MLP trained on scikit-learn's breast-cancer data (shipped with sklearn)."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    x = torch.tensor(data.data, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0)
    y = torch.tensor(data.target, dtype=torch.float32)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(30, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(200):
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x)[:, 0], y)
        loss.backward()
        opt.step()
    return model.eval(), x, list(data.feature_names)


def test_mlp_shapley_values_are_efficient_and_match_captum(mlp_and_data):
    from captum.attr import ShapleyValueSampling

    model, x, names = mlp_and_data
    inputs = x[:2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        attr, delta = SpexInteractions(model).attribute(
            inputs, target=0, n_samples=1500, max_degree=3, return_convergence_delta=True
        )
    with torch.no_grad():
        gap = (model(inputs) - model(torch.zeros_like(inputs)))[:, 0].double()
    assert delta.shape == (2,) and delta.dtype == torch.float64
    assert torch.all(delta.abs() < 1e-6)
    # independently of the delta: the attributions themselves sum to f(x) - f(0)
    assert torch.allclose(attr.double().sum(1), gap, atol=1e-5, rtol=0)
    ref = ShapleyValueSampling(model).attribute(inputs, target=0, n_samples=60)
    for a, r in zip(attr, ref):
        assert np.corrcoef(a.numpy(), r.numpy())[0, 1] > 0.95
    # names reach the result and its top terms
    inter = SpexInteractions(model).attribute_interactions(
        inputs[:1], target=0, n_samples=600, max_degree=2, feature_names=names
    )
    assert inter.feature_names == tuple(names)
    assert all(t.names == tuple(names[i] for i in t.term) for t in inter.top(3))


def test_smollm2_drop_surrogate_is_exact_at_the_ends():
    from captum_spex.apps.prompts import default_example, qa_template_input, split_context
    from captum_spex.attr.llm import LLMSpexAttribution

    model, tok = smollm2()
    ex = default_example()
    inp = qa_template_input(tok, split_context(ex["context"], "word"), ex["question"])
    llm = LLMSpexAttribution(SpexInteractions(model), tok)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = llm.attribute(inp, target=ex["answer"], n_samples=200, max_degree=2)
    inter = res.interactions
    n = inter.n_features
    d = inter.diagnostics
    ends = inter.predict(np.vstack([np.ones(n, bool), np.zeros(n, bool)]))
    assert abs(ends[0] - d["value_full"]) < 1e-6
    assert abs(ends[1] - d["value_baseline"]) < 1e-6
    # the queried full-input value is the answer's log-prob that the result reports
    assert d["value_full"] == pytest.approx(float(res.output_probs.log().sum()), abs=1e-4)
    gap = d["value_full"] - d["value_baseline"]
    assert abs(float(inter.shapley_values().sum()) - gap) < 1e-6
    assert abs(float(res.seq_attr.double().sum()) - gap) < 1e-4  # float32 in seq_attr
    for j, tok_inter in enumerate(res.token_interactions):  # and per answer token
        full = tok_inter.predict(np.ones((1, n), bool))[0]
        assert abs(full - tok_inter.diagnostics["value_full"]) < 1e-6, j
