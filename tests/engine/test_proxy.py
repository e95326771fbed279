"""ProxySPEX: exact tree -> Fourier read-off, hierarchical recovery below the SPEX minimum,
multi-output, determinism, budgets, errors."""

import sys
import warnings
from itertools import combinations

import numpy as np
import pytest

lgb = pytest.importorskip("lightgbm")

from captum_spex import Interactions, spex  # noqa: E402
from captum_spex.engine.design import minimum_budget  # noqa: E402
from captum_spex.engine.proxy import booster_fourier, proxy_spex  # noqa: E402
from captum_spex.engine.refine import parity_features  # noqa: E402
from captum_spex.engine.spex import SpexFitWarning  # noqa: E402
from captum_spex.testing import all_masks, brute_force_fourier  # noqa: E402
from captum_spex.testing import r2_score as r2  # noqa: E402


# ---------------------------------------------------------------------- helpers
def _expansion_dict(sup, deg, coef):
    return {tuple(int(i) for i in s[:d]): float(c) for s, d, c in zip(sup, deg, coef)}


def _evaluate(sup, deg, coef, masks):
    return parity_features(masks, sup, deg) @ coef


def _check_exact(model, n, predict):
    """The read-off expansion reproduces predict on all 2^n masks and equals the brute WHT."""
    sup, deg, coef = booster_fourier(model, n)
    masks = all_masks(n)
    assert np.abs(_evaluate(sup, deg, coef, masks) - predict(masks)).max() < 1e-9
    truth = brute_force_fourier(predict, n)
    got = _expansion_dict(sup, deg, coef)
    assert set(got) <= set(truth)
    assert max(abs(truth[k] - got.get(k, 0.0)) for k in truth) < 1e-9
    assert () in got  # the constant (LightGBM's init score lives in the first tree)
    return got, truth


class AndFunction:
    """``f(m) = sum_A c_A prod_{i in A} m_i``: hierarchical AND terms; counts its queries."""

    def __init__(self, terms):
        self.terms = [(tuple(a), float(c)) for a, c in terms]
        self.n_masks = 0
        self.seen = []

    def exact(self, masks):
        m = np.asarray(masks, dtype=bool)
        out = np.zeros(m.shape[0])
        for a, c in self.terms:
            out += c * m[:, list(a)].all(axis=1)
        return out

    def __call__(self, masks):
        self.n_masks += len(masks)
        self.seen.append(np.array(masks, copy=True))
        return self.exact(masks)

    def fourier(self):
        """Exact expansion: ``prod_{i in A} (1 - chi_i) / 2`` per AND term."""
        out = {}
        for a, c in self.terms:
            for d in range(len(a) + 1):
                for sub in combinations(sorted(a), d):
                    out[sub] = out.get(sub, 0.0) + c * 0.5 ** len(a) * (-1) ** d
        return out


HIER = [
    ((1, 2), 3.0),
    ((1, 2, 5), 2.0),
    ((7, 9), -2.0),
    ((3,), 1.5),
    ((20, 21, 22), 1.0),
    ((40, 41), -1.5),
    ((40, 41, 80), 2.0),
    ((60,), 0.5),
]


def _heldout(n, size=4000, seed=123):
    return np.random.default_rng(seed).random((size, n)) < 0.5


# ---------------------------------------------------------------------- tree -> Fourier
@pytest.mark.parametrize(
    "n,params,rounds",
    [
        (4, {"num_leaves": 4, "max_depth": 2}, 5),
        (7, {"num_leaves": 16, "max_depth": -1}, 15),
        (10, {"num_leaves": 31, "max_depth": -1}, 25),
        (10, {"num_leaves": 8, "max_depth": 3, "learning_rate": 0.3}, 40),
    ],
)
def test_booster_expansion_is_exact_on_random_lightgbm(n, params, rounds):
    rng = np.random.default_rng(n + rounds)
    x = (rng.random((600, n)) < 0.5).astype(np.float64)
    y = rng.normal(size=600) + 3.0 * x[:, 0] * x[:, 1] - 2.0 * x[:, 2] + 7.0  # offset: init
    booster = lgb.train(
        {"objective": "regression", "verbose": -1, "num_threads": 1, "min_data_in_leaf": 2}
        | params,
        lgb.Dataset(x, y),
        num_boost_round=rounds,
    )

    def predict(masks):
        return booster.predict(masks.astype(np.float64))

    got, _ = _check_exact(booster, n, predict)
    depth = max(len(k) for k in got)
    assert depth >= 2  # a real interaction was read off
    # truncation keeps exactly the low-degree coefficients of the full expansion
    sup, deg, coef = booster_fourier(booster, n, max_degree=1)
    low = _expansion_dict(sup, deg, coef)
    assert set(low) == {k for k in got if len(k) <= 1}
    assert all(low[k] == pytest.approx(got[k], abs=1e-12) for k in low)
    # a dump of the first trees only is the expansion of the truncated model
    first = booster.dump_model(num_iteration=2)
    _check_exact(first, n, lambda m: booster.predict(m.astype(np.float64), num_iteration=2))


def _leaf(v):
    return {"leaf_value": v}


def _split(f, thr, left, right, **kw):
    return {"split_feature": f, "threshold": thr, "decision_type": "<=", **kw} | {
        "left_child": left,
        "right_child": right,
    }


def _route(node, mask):
    while "leaf_value" not in node:
        v = float(mask[node["split_feature"]])
        if node.get("missing_type") == "Zero" and v == 0:
            left = node.get("default_left", True)
        else:
            left = v <= node["threshold"]
        node = node["left_child"] if left else node["right_child"]
    return node["leaf_value"]


HAND_TREES = [
    # feature 0 split twice on one path, both directions (one leaf unreachable)
    _split(0, 0.5, _split(1, 0.5, _leaf(1.0), _split(0, 0.5, _leaf(2.0), _leaf(99.0))), _leaf(-3)),
    # the same feature twice in the same direction, then a deep path over 4 features
    _split(
        2,
        1e-35,
        _split(
            2,
            0.7,
            _split(
                3, 0.5, _leaf(5.0), _split(0, 0.5, _leaf(-1.0), _split(1, 0.5, _leaf(4), _leaf(6)))
            ),
            _leaf(123.0),
        ),
        _leaf(0.25),
    ),
    # thresholds outside [0, 1): everything goes one way
    _split(1, -1.0, _leaf(8.0), _split(3, 1.5, _split(0, 0.5, _leaf(1), _leaf(2)), _leaf(50))),
    # zero treated as missing and sent right by default, one sent left: an inverted split
    _split(0, 1.5, _leaf(-2.0), _leaf(3.0), missing_type="Zero", default_left=False),
    # a single leaf: the init score of a constant model
    _leaf(4.5),
]


@pytest.mark.parametrize("k", range(len(HAND_TREES) + 1))
def test_booster_expansion_is_exact_on_hand_built_trees(k):
    trees = HAND_TREES[k : k + 1] if k < len(HAND_TREES) else HAND_TREES  # last: all summed
    dump = {"tree_info": [{"tree_structure": t} for t in trees]}
    n = 5

    def predict(masks):
        return np.array([sum(_route(t, m) for t in trees) for m in masks])

    got, truth = _check_exact(dump, n, predict)
    if k == 0:  # leaves: (m0=0,m1=0) -> 1, (m0=0,m1=1) -> 2, m0=1 -> -3
        assert got[()] == pytest.approx(truth[()])
        assert 99.0 not in got.values()


def test_booster_expansion_rejects_categorical_splits():
    dump = {"tree_info": [{"tree_structure": {**_split(0, 0.5, _leaf(1), _leaf(2))}}]}
    dump["tree_info"][0]["tree_structure"]["decision_type"] = "=="
    with pytest.raises(ValueError, match="decision_type"):
        booster_fourier(dump, 2)


def test_constant_target_keeps_the_constant():
    x = (np.random.default_rng(0).random((100, 6)) < 0.5).astype(float)
    booster = lgb.train(
        {"objective": "regression", "verbose": -1}, lgb.Dataset(x, np.full(100, 2.5)), 3
    )
    sup, deg, coef = booster_fourier(booster, 6)
    assert _expansion_dict(sup, deg, coef) == {(): pytest.approx(2.5)}


# ---------------------------------------------------------------------- recovery
def test_hierarchical_function_below_the_spex_minimum():
    n, budget = 100, 600
    minimum = minimum_budget(n, 5)
    assert budget < minimum
    with pytest.raises(ValueError, match="n_samples"):
        spex(AndFunction(HIER), n, n_samples=budget, max_degree=5, method="spex")

    f = AndFunction(HIER)
    res = proxy_spex(f, n, n_samples=budget, max_degree=5, seed=0)
    assert res.method == "proxy" and res.n_queries == f.n_masks <= budget
    held = _heldout(n)
    r2_proxy = r2(f.exact(held), res.predict(held))
    assert r2_proxy >= 0.95
    assert res.diagnostics["r2_estimate"] >= 0.95
    # the exact AND expansion comes back
    got = res.fourier()
    for term, coef in f.fourier().items():
        assert got.get(term, 0.0) == pytest.approx(coef, abs=2e-2)

    # SPEX at its own (larger) minimum budget does no better
    g = AndFunction(HIER)
    res_spex = spex(g, n, n_samples=minimum, max_degree=5, seed=0, method="spex")
    assert res_spex.n_queries > res.n_queries
    assert r2_proxy >= r2(g.exact(held), res_spex.predict(held)) - 1e-9


def test_multi_output_gets_one_booster_per_output():
    n = 40
    f1 = AndFunction([((1, 2), 3.0), ((5,), -1.0)])
    f2 = AndFunction([((7, 8, 9), 2.0), ((1,), 0.5)])

    def f(masks):
        return np.stack([f1.exact(masks), f2.exact(masks)], axis=1)

    res = proxy_spex(f, n, n_samples=400, max_degree=3, seed=1)
    assert res.n_outputs == 2 and res.coefficients.shape == (len(res), 2)
    held = _heldout(n, 2000)
    pred = res.predict(held)
    assert r2(f1.exact(held), pred[:, 0]) >= 0.99
    assert r2(f2.exact(held), pred[:, 1]) >= 0.99
    diag = res.diagnostics
    assert len(diag["n_trees"]) == 2 and len(diag["r2_estimate"]) == 2


def test_same_seed_same_result_and_budget_respected(tmp_path):
    n = 30
    f = AndFunction(HIER[:4])
    a = proxy_spex(f, n, n_samples=300, max_degree=3, seed=7)
    b = proxy_spex(f, n, n_samples=300, max_degree=3, seed=7)
    assert a.terms == b.terms
    np.testing.assert_array_equal(a.coefficients, b.coefficients)
    assert a.diagnostics["lgb_params"] == b.diagnostics["lgb_params"]
    assert f.n_masks == 600 and a.n_queries == 300
    # the result round-trips through save/load (diagnostics are plain JSON)
    path = tmp_path / "proxy.npz"
    a.save(path)
    assert Interactions.load(path) == a
    assert set(a.diagnostics) >= {
        "fit_seconds",
        "n_trees",
        "lgb_params",
        "tree_r2",
        "r2_estimate",
        "n_terms",
        "n_train",
        "n_validation",
    }


def test_cache_rerun_makes_no_queries(tmp_path):
    cache = tmp_path / "queries.sqlite"
    f = AndFunction(HIER[:3])
    a = proxy_spex(f, 30, n_samples=200, max_degree=3, cache=cache, cache_key="and")
    done = f.n_masks
    b = proxy_spex(f, 30, n_samples=200, max_degree=3, cache=cache, cache_key="and")
    assert done == 200 and f.n_masks == done  # the rerun read every value back
    assert b.diagnostics["n_from_cache"] == 200
    np.testing.assert_array_equal(a.coefficients, b.coefficients)


def test_queries_are_distinct_and_never_exceed_the_budget():
    # n = 12: 4096 masks; a budget of 3000 uniform draws would repeat many of them
    f = AndFunction([((0, 1), 1.0), ((2, 3, 4), 2.0)])
    res = proxy_spex(f, 12, n_samples=3000, max_degree=3, batch_size=1024, seed=0)
    seen = np.concatenate(f.seen)
    assert res.n_queries == seen.shape[0] == 3000
    assert np.unique(seen, axis=0).shape[0] == seen.shape[0]
    assert all(len(s) <= 1024 for s in f.seen)


def test_small_n_uses_the_exact_transform(monkeypatch):
    monkeypatch.setitem(sys.modules, "lightgbm", None)  # not needed on this path
    rng = np.random.default_rng(3)
    table = rng.normal(size=64)

    def f(masks):
        return table[masks.astype(np.int64) @ (1 << np.arange(6))]

    res = proxy_spex(f, 6, n_samples=100, max_degree=6)
    assert res.method == "proxy" and res.n_queries == 64
    truth = brute_force_fourier(f, 6)
    got = res.fourier()
    assert max(abs(truth[k] - got.get(k, 0.0)) for k in truth) < 1e-9


def test_n_terms_caps_the_support():
    f = AndFunction(HIER)
    res = proxy_spex(f, 100, n_samples=400, max_degree=5, n_terms=5)
    assert len(res) <= 6 and () in res.fourier()  # constant + 5
    assert res.diagnostics["n_terms"] == len(res)


def test_poor_fit_warns_and_progress_bars_run(capsys):
    n = 30
    rng = np.random.default_rng(0)
    table = rng.normal(size=(1 << 5,))

    def f(masks):  # a random function of 5 features plus a 5-way parity: no sparse trees
        idx = masks[:, :5].astype(np.int64) @ (1 << np.arange(5))
        return table[idx] + 3 * (-1.0) ** masks[:, 10:15].sum(axis=1)

    with pytest.warns(SpexFitWarning, match="ProxySPEX"):
        proxy_spex(f, n, n_samples=200, max_degree=2, show_progress=True)
    assert "ProxySPEX" in capsys.readouterr().err


# ---------------------------------------------------------------------- errors
def _zero(masks):
    return np.zeros(len(masks))


@pytest.mark.parametrize(
    "kwargs,exc,name",
    [
        ({"n_features": 0}, ValueError, "n_features"),
        ({"n_features": 2.5}, TypeError, "n_features"),
        ({"n_samples": 10}, ValueError, "n_samples"),
        ({"n_samples": "100"}, TypeError, "n_samples"),
        ({"max_degree": 0}, ValueError, "max_degree"),
        ({"seed": -1}, ValueError, "seed"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"n_terms": 0}, ValueError, "n_terms"),
        ({"n_terms": 2.0}, TypeError, "n_terms"),
        ({"show_progress": 1}, TypeError, "show_progress"),
        ({"feature_names": ["a", "b"]}, ValueError, "feature_names"),
        ({"cache": 3}, TypeError, "cache"),
        ({"value_function": 3}, TypeError, "value_function"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, exc, name):
    calls = []

    def f(masks):
        calls.append(len(masks))
        return _zero(masks)

    args = {"value_function": f, "n_features": 50, "n_samples": 200} | kwargs
    vf = args.pop("value_function")
    n = args.pop("n_features")
    with pytest.raises(exc, match=name):
        proxy_spex(vf, n, **args)
    assert not calls


def test_missing_lightgbm_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "lightgbm", None)
    calls = []

    def f(masks):
        calls.append(len(masks))
        return _zero(masks)

    with pytest.raises(ImportError, match=r"captum-spex\[proxy\]"):
        proxy_spex(f, 50, n_samples=200)
    assert not calls  # raised before any query


def test_value_function_errors_surface():
    with pytest.raises(ValueError, match="shape"):
        proxy_spex(lambda m: np.zeros((len(m), 2, 2)), 50, n_samples=100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = proxy_spex(_zero, 50, n_samples=100)  # constant: no warning, constant kept
    assert res.fourier() == {(): 0.0}
