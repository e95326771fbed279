"""The surrogate is exact at the full input and at the baseline (engine/anchors.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from captum_spex import Interactions, spex
from captum_spex.engine.anchors import anchor_residuals

N = 14


def _dense(masks: np.ndarray) -> np.ndarray:
    """A dense, saturating function: no sparse fit is exact at the ends by chance."""
    x = masks.astype(np.float64)
    w = np.linspace(-1.0, 1.5, N)
    quad = np.outer(np.sin(np.arange(N)), np.cos(np.arange(N))) / N
    return np.tanh(x @ w / 3 + ((x @ quad) * x).sum(axis=1)) * 2.0 + 0.3


def _ends(f, n=N):
    return f(np.vstack([np.ones(n, bool), np.zeros(n, bool)]))


def _run(f, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return spex(f, N, max_degree=3, seed=0, **kw)


@pytest.mark.parametrize(
    "kw",
    [
        {"n_samples": 600},  # the default, uniform masks below the design
        {"n_samples": 3000},  # the default on the SPEX design
        {"n_samples": 2000, "method": "spex"},
        {"n_samples": 600, "method": "proxy"},
        {"n_samples": 1500, "target_r2": 0.999},  # anytime rounds
    ],
)
def test_the_surrogate_is_exact_at_both_ends_and_shapley_is_efficient(kw):
    inter = _run(_dense, **kw)
    full, base = _ends(_dense)
    ends = inter.predict(np.vstack([np.ones(N, bool), np.zeros(N, bool)]))
    assert abs(ends[0] - full) < 1e-9 and abs(ends[1] - base) < 1e-9
    assert abs(inter.shapley_values().sum() - (full - base)) < 1e-9
    d = inter.diagnostics
    assert d["value_full"] == pytest.approx(full) and d["value_baseline"] == pytest.approx(base)
    # the fit did miss them: the gaps recorded are what was closed
    assert abs(d["anchor_gap_full"]) + abs(d["anchor_gap_baseline"]) > 1e-6
    # the anchors come out of the budget
    assert inter.n_queries <= kw["n_samples"]


def test_each_anchor_is_queried_once_and_counted():
    seen = []

    def f(masks):
        seen.append(masks.copy())
        return _dense(masks)

    inter = _run(f, n_samples=600)
    masks = np.vstack(seen)
    assert masks.shape[0] == inter.n_queries <= 600
    assert int(masks.all(axis=1).sum()) == 1 and int((~masks.any(axis=1)).sum()) == 1
    assert np.unique(masks, axis=0).shape[0] == masks.shape[0]  # never a mask twice


def test_multi_output_every_column_is_anchored():
    def f(masks):
        return np.stack([_dense(masks), -3.0 * _dense(masks[:, ::-1]) + 1.0], axis=1)

    inter = _run(f, n_samples=800)
    ends = inter.predict(np.vstack([np.ones(N, bool), np.zeros(N, bool)]))
    assert np.allclose(ends, _ends(f), atol=1e-9, rtol=0)
    assert np.allclose(inter.shapley_values().sum(axis=0), _ends(f)[0] - _ends(f)[1], atol=1e-9)


def test_exact_transform_is_left_bit_for_bit():
    n = 8
    inter = spex(lambda m: _dense(np.hstack([m, m[:, :6]])), n, n_samples=256)
    assert inter.diagnostics["mode"] == "exact" or inter.n_queries == 256
    assert abs(inter.diagnostics["anchor_gap_full"]) < 1e-12
    assert inter.anchor_residuals is None and inter.n_queries == 256


def test_anchors_leave_every_other_prediction_and_the_design_alone():
    """Same seed with and without the anchors: same design, same terms, and predictions
    that differ only at the two anchor masks."""
    inter = _run(_dense, n_samples=600)
    plain = Interactions(N, inter.terms, inter.coefficients)
    masks = np.random.default_rng(0).random((500, N)) < 0.5
    inner = masks.any(axis=1) & ~masks.all(axis=1)
    assert np.array_equal(inter.predict(masks[inner]), plain.predict(masks[inner]))
    r_full, r_base = inter.anchor_residuals
    assert r_full == pytest.approx(inter.diagnostics["anchor_gap_full"])
    assert r_base == pytest.approx(inter.diagnostics["anchor_gap_baseline"])


def _brute_shapley_banzhaf(inter: Interactions, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Shapley and Banzhaf values of the game ``S -> inter.predict(S)`` by enumeration."""
    from math import comb

    masks = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(bool)
    v = inter.predict(masks)
    sizes = masks.sum(axis=1)
    phi, beta = np.zeros(n), np.zeros(n)
    for i in range(n):
        without = np.flatnonzero(~masks[:, i])
        gain = v[without + (1 << i)] - v[without]
        s = sizes[without]
        phi[i] = np.sum(gain / (n * np.array([comb(n - 1, k) for k in s])))
        beta[i] = gain.mean()
    return phi, beta


def test_shapley_and_banzhaf_with_residuals_match_brute_force():
    n = 7
    rng = np.random.default_rng(5)
    terms = [(), (0,), (1, 3), (2, 4, 6), (5,)]
    inter = Interactions(n, terms, rng.normal(size=5), anchor_residuals=[0.7, -1.3], method="test")
    phi, beta = _brute_shapley_banzhaf(inter, n)
    assert np.allclose(inter.shapley_values(), phi, atol=1e-12)
    assert np.allclose(inter.banzhaf_values(), beta, atol=1e-12)
    full, base = inter.predict(np.vstack([np.ones(n, bool), np.zeros(n, bool)]))
    assert inter.shapley_values().sum() == pytest.approx(full - base, abs=1e-12)


def test_residuals_are_the_gaps_and_rounding_is_zero():
    terms, coefs = [(), (0,), (0, 1)], np.array([[1.0, 2.0], [0.5, 0.0], [0.25, 1.0]])
    # at the full input: 1 - 0.5 + 0.25 = 0.75 and 3; at the baseline: 1.75 and 3
    gap = anchor_residuals(terms, coefs, [1.0, 3.0], [1.75, 2.0])
    assert np.allclose(gap, [[0.25, 0.0], [0.0, -1.0]])
    assert gap[0, 1] == 0.0 and gap[1, 0] == 0.0


def test_residuals_survive_save_load_and_output_slicing(tmp_path):
    from captum_spex.attr.llm_result import _single_output

    inter = Interactions(
        3, [(), (1,)], [[1.0, 2.0], [0.5, -0.5]], anchor_residuals=[[0.1, 0.2], [-0.3, 0.4]]
    )
    for suffix in (".json", ".npz"):
        inter.save(tmp_path / f"a{suffix}")
        back = Interactions.load(tmp_path / f"a{suffix}")
        assert back == inter
        assert np.array_equal(back.anchor_residuals, inter.anchor_residuals)
    one = _single_output(inter, 1, "token 1")
    assert one.anchor_residuals.tolist() == [0.2, 0.4]
    assert inter != Interactions(3, [(), (1,)], [[1.0, 2.0], [0.5, -0.5]])


@pytest.mark.parametrize("bad", [[1.0], [[1.0, 2.0, 3.0]] * 2, [np.nan, 0.0], "x"])
def test_bad_residuals_name_the_argument(bad):
    with pytest.raises(ValueError, match="anchor_residuals"):
        Interactions(2, [()], [[1.0, 2.0]], anchor_residuals=bad)


def test_attribution_errors_count_the_residuals_as_terms_of_their_own_size():
    n = 4
    kw = dict(standard_errors=[0.0, 0.3], method="test")
    with_r = Interactions(n, [(), (1,)], [1.0, 0.5], anchor_residuals=[0.8, -0.6], **kw)
    without = Interactions(n, [(), (1,)], [1.0, 0.5], **kw)
    for kind, weight in (("shapley", 1 / n), ("banzhaf", 0.5 ** (n - 1))):
        base = without.attribution_standard_errors(kind)
        got = with_r.attribution_standard_errors(kind)
        assert np.allclose(got**2, base**2 + (0.8**2 + 0.6**2) * weight**2, rtol=1e-12)
