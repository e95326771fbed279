"""The method interface and its registry: a new method is one class and one registry line,
and every front end runs it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from captum_spex import Interactions, SpexInteractions, spex
from captum_spex.engine.methods import (
    Method,
    MethodResult,
    Plan,
    available_methods,
    get_method,
    register_method,
    unregister_method,
)
from captum_spex.engine.refine import parity_features


class FirstOrderOLS(Method):
    """A toy method: least squares on the constant and every single feature."""

    name = "toy-ols"
    description = "toy: first-order least squares on uniform masks"
    progress_label = "toy queries"

    def check_budget(self, n_features, n_samples, max_degree, caller="spex"):
        if n_samples < n_features + 1:
            raise ValueError(f"The 'n_samples' parameter of {caller} must be at least n + 1.")

    def plan(self, n_features, n_samples, max_degree, seed, options):
        rng = np.random.default_rng(seed)
        masks = rng.random((n_samples, n_features)) < 0.5
        return Plan(n_features, n_samples, max_degree, seed, masks, dict(options))

    def run(self, plan, query, show_progress):
        values = query(plan.masks)
        n = plan.n_features
        sup = np.array([[-1]] + [[i] for i in range(n)], dtype=np.int64)
        deg = np.array([0] + [1] * n, dtype=np.int64)
        x = parity_features(plan.masks, sup, deg)
        coefs, *_ = np.linalg.lstsq(x, values, rcond=None)
        terms = [()] + [(i,) for i in range(n)]
        return MethodResult(terms, coefs, plan.masks.shape[0], {"mode": "toy-ols"})


@pytest.fixture
def toy():
    method = register_method(FirstOrderOLS())
    yield method
    unregister_method(method.name)


def _linear(masks):
    return 1.0 + 2.0 * masks[:, 0] - 0.5 * masks[:, 3]


def test_builtin_registry():
    assert available_methods()[:2] == ("spex", "proxy")
    assert get_method("exact").selectable is False
    for name in ("exact", "spex", "proxy"):
        assert isinstance(get_method(name), Method) and get_method(name).description


def test_toy_method_runs_through_spex(toy):
    assert "toy-ols" in available_methods()
    res = spex(_linear, 12, n_samples=200, method="toy-ols", seed=1)
    assert isinstance(res, Interactions) and res.method == "toy-ols"
    assert res.n_queries == 200 and res.diagnostics["mode"] == "toy-ols"
    expected = np.zeros(12)
    expected[[0, 3]] = [2.0, -0.5]
    np.testing.assert_allclose(res.banzhaf_values(), expected, atol=1e-9)
    # whatever the method, all 2^n masks within the budget give the exact transform
    assert spex(_linear, 6, n_samples=200, method="toy-ols").diagnostics["mode"] == "exact"
    with pytest.raises(ValueError, match="'n_samples' parameter of spex"):
        spex(_linear, 60, n_samples=50, method="toy-ols")


def test_toy_method_runs_through_spex_interactions(toy):
    def model(x):
        return 1.0 + 2.0 * x[:, 0] - 0.5 * x[:, 3]

    explainer = SpexInteractions(model)
    attr = explainer.attribute(torch.ones(1, 40), n_samples=300, method="toy-ols")
    # a linear model's Shapley values are its coefficients
    assert attr[0, 0].item() == pytest.approx(2.0, abs=1e-5)
    assert attr[0, 3].item() == pytest.approx(-0.5, abs=1e-5)
    inter = explainer.attribute_interactions(torch.ones(1, 40), n_samples=300, method="toy-ols")
    assert inter.method == "toy-ols" and inter.diagnostics["feature_ids"] == list(range(40))


def test_unknown_method_lists_the_registry(toy):
    with pytest.raises(ValueError, match="'toy-ols'") as info:
        spex(_linear, 6, n_samples=200, method="nope")
    assert "'spex', 'proxy'" in str(info.value)


def test_an_option_of_another_method_is_refused():
    with pytest.raises(ValueError, match="'n_terms' parameter of spex applies to method='proxy'"):
        spex(_linear, 40, n_samples=3000, n_terms=5)
    with pytest.raises(ValueError, match="'decoder' parameter of spex applies to method='spex'"):
        spex(_linear, 40, n_samples=3000, method="proxy", decoder="hard")


def test_registry_guards():
    with pytest.raises(TypeError, match="Method instance"):
        register_method("spex")
    with pytest.raises(ValueError, match="already registered"):
        register_method(get_method("spex"))
    with pytest.raises(ValueError, match="built-in"):
        unregister_method("spex")


def test_one_attribute_interactions_call_plans_once_and_builds_one_result(monkeypatch):
    from captum_spex.engine.methods import auto, sparse

    counts = {"design": 0, "interactions": 0}
    real_design = sparse.plan_design
    real_init = Interactions.__init__

    def counting_design(*args, **kwargs):
        counts["design"] += 1
        return real_design(*args, **kwargs)

    def counting_init(self, *args, **kwargs):
        counts["interactions"] += 1
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(sparse, "plan_design", counting_design)
    monkeypatch.setattr(auto, "plan_design", counting_design)
    monkeypatch.setattr(Interactions, "__init__", counting_init)

    def model(x):
        return x[:, 0] * x[:, 1] + x[:, 2]

    inter = SpexInteractions(model).attribute_interactions(
        torch.ones(1, 40), n_samples=5000, max_degree=2, show_progress=True
    )
    assert inter.diagnostics["mode"] == "auto"  # the default plans the SPEX design once
    assert counts == {"design": 1, "interactions": 1}
    assert inter.feature_names[0] == "feature 0" and "n_forward_calls" in inter.diagnostics
