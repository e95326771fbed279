"""Anytime explanations: target_r2 / max_seconds stop a run in rounds, every round's queries
are kept, and each term says how sure it is."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from captum_spex import Interactions, SpexFitWarning, spex
from captum_spex.indices import (
    SparseTerms,
    array_to_terms,
    banzhaf_values,
    fourier_to_index,
    shapley_values,
    terms_to_array,
)
from captum_spex.testing import Planted
from captum_spex.testing import r2_score as r2


def _saturated(n=40, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=n) * (rng.random(n) < 0.5)
    pairs = rng.integers(0, n, size=(12, 2))
    pw = rng.normal(size=12)

    def f(m):
        return np.tanh(0.2 * (m @ w + (m[:, pairs[:, 0]] & m[:, pairs[:, 1]]) @ pw))

    return f, n


@pytest.fixture(scope="module")
def task():
    f, n = _saturated()
    held = np.random.default_rng(99).random((2000, n)) < 0.5
    return f, n, held, f(held)


@pytest.mark.filterwarnings("ignore::captum_spex.SpexFitWarning")
def test_target_stops_within_twice_the_smallest_sufficient_budget(task):
    f, n, held, y = task
    # the sweep of fixed budgets: a run capped at N returns exactly its round N (tested
    # below), so the rounds of one uncapped run are the sweep
    rounds: list[Interactions] = []
    spex(f, n, n_samples=4096, target_r2=1.0, on_round=rounds.append)
    sweep = {r.n_queries: r2(y, r.predict(held)) for r in rounds}
    smallest = min(b for b, v in sweep.items() if v >= 0.95)
    res = spex(f, n, n_samples=4096, target_r2=0.95)
    assert res.diagnostics["stopped"].startswith("reached target_r2")
    assert smallest / 2 <= res.n_queries <= 2 * smallest, (res.n_queries, sweep)
    assert r2(y, res.predict(held)) >= 0.93
    curve = res.diagnostics["r2_curve"]
    # queries counted as n_queries counts them: the round's masks and the two anchors
    extra = res.diagnostics["n_anchor_queries"]
    assert extra == 2 and [c[0] for c in curve] == [64 * 2**k + 2 for k in range(len(curve))]


@pytest.mark.filterwarnings("ignore::captum_spex.SpexFitWarning")
def test_stopped_result_equals_a_run_capped_at_its_queries(task):
    f, n, _, _ = task
    stopped = spex(f, n, n_samples=2048, target_r2=0.85, seed=3)
    capped = spex(f, n, n_samples=stopped.n_queries, target_r2=1.0, seed=3)
    assert capped.n_queries == stopped.n_queries
    assert stopped.terms == capped.terms
    np.testing.assert_array_equal(stopped.coefficients, capped.coefficients)
    np.testing.assert_array_equal(stopped.standard_errors, capped.standard_errors)


@pytest.mark.filterwarnings("ignore::captum_spex.SpexFitWarning")
def test_stopping_and_resuming_from_the_cache_repeats_no_query(task, tmp_path):
    f, n, _, _ = task
    seen: list[bytes] = []

    def counted(m):
        seen.extend(np.packbits(m, axis=1).tobytes() for m in m[:, None, :])
        return f(m)

    cache = tmp_path / "q.sqlite"
    first = spex(counted, n, n_samples=2048, target_r2=0.8, cache=cache, cache_key="t")
    n_first = len(seen)
    again = spex(counted, n, n_samples=2048, target_r2=0.8, cache=cache, cache_key="t")
    assert len(seen) == n_first and again.diagnostics["n_from_cache"] == first.n_queries
    more = spex(counted, n, n_samples=2048, target_r2=0.99, cache=cache, cache_key="t")
    assert more.n_queries > first.n_queries
    assert len(seen) == len(set(seen)) == more.n_queries  # no mask was ever queried twice


@pytest.mark.filterwarnings("ignore::captum_spex.SpexFitWarning")
def test_on_round_receives_each_round_as_interactions(task):
    f, n, _, _ = task
    rounds: list[Interactions] = []
    res = spex(f, n, n_samples=512, target_r2=1.0, on_round=rounds.append, feature_names=None)
    # each round: its uniform masks and the two anchors, queried first, within the budget
    assert [r.n_queries for r in rounds] == [66, 130, 258, 512]
    assert all(r.diagnostics["n_anchor_queries"] == 2 for r in rounds)
    assert all(isinstance(r, Interactions) for r in rounds)
    assert rounds[-1].terms == res.terms


def test_missed_target_warns_with_budget_advice(task):
    f, n, _, _ = task
    with pytest.warns(SpexFitWarning, match=r"target_r2=0.999 not reached: R² 0\.\d\d after 256"):
        res = spex(f, n, n_samples=256, target_r2=0.999)
    assert "advice" in res.diagnostics and res.diagnostics["stopped"] == "reached n_samples"


def test_target_r2_applies_to_the_default_only():
    with pytest.raises(ValueError, match="'target_r2' parameter of spex applies to method='auto'"):
        spex(lambda m: m[:, 0] * 1.0, 40, n_samples=3000, target_r2=0.9, method="spex")
    with pytest.raises(ValueError, match="'target_r2' parameter of spex must be a finite number"):
        spex(lambda m: m[:, 0] * 1.0, 40, n_samples=3000, target_r2=1.5)


def test_max_seconds_stops_early():
    calls = {"n": 0}

    def slow(m):
        calls["n"] += 1
        import time

        time.sleep(0.05 * m.shape[0] / 64)
        return m[:, :5].sum(axis=1) + 0.5 * (m[:, 0] & m[:, 1])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = spex(slow, 60, n_samples=100_000, max_seconds=3.0)
    assert res.n_queries < 100_000
    assert "max_seconds" in res.diagnostics["stopped"] or "target" in res.diagnostics["stopped"]


@pytest.mark.filterwarnings("ignore::captum_spex.SpexFitWarning")
def test_95_percent_intervals_cover_the_true_coefficients():
    f = Planted.random(60, 200, max_degree=2, seed=11, snr_db=10.0)
    res = spex(f, 60, n_samples=12000, seed=2)
    est, se = res.fourier(), dict(zip(res.terms, np.asarray(res.standard_errors).ravel()))
    truth = {t: c for t, c in f.fourier().items() if t}
    covered = [abs(est.get(t, 0.0) - c) <= 1.96 * se.get(t, 0.0) for t, c in truth.items()]
    assert len(covered) == 200
    assert 0.90 <= np.mean(covered) <= 0.99, np.mean(covered)


@pytest.mark.filterwarnings("ignore::captum_spex.SpexFitWarning")
def test_index_and_shapley_standard_errors_follow_the_coefficients():
    f = Planted.random(30, 60, max_degree=2, seed=5, snr_db=10.0)
    res = spex(f, 30, n_samples=6000, seed=1)
    truth = Interactions(30, list(f.fourier()), list(f.fourier().values()))
    # Shapley values are linear in the coefficients: their 95% intervals cover the truth
    phi, se = res.shapley_values(), res.attribution_standard_errors("shapley")
    covered = np.abs(phi - truth.shapley_values()) <= 1.96 * se
    assert covered.mean() >= 0.85, covered.mean()
    # Möbius values are (-2)^t sums of the coefficients of their supersets: errors follow
    known = Interactions(3, [(), (0,), (1, 2)], [1.0, 0.5, 0.3], standard_errors=[0, 0.1, 0.2])
    mob = known.index_standard_errors("mobius")
    assert mob[(0,)] == pytest.approx(0.2, rel=1e-12)  # -2 F(0)
    assert mob[(1,)] == pytest.approx(0.4, rel=1e-12)  # -2 F(1, 2)
    assert mob[(1, 2)] == pytest.approx(0.8, rel=1e-12)  # 4 F(1, 2)
    with pytest.raises(ValueError, match="carries no standard errors"):
        Interactions(3, [(0,)], [1.0]).index_standard_errors()


@pytest.mark.parametrize("index, order", [("mobius", None), ("fsii", 2), ("sii", None)])
def test_exact_index_errors_match_the_spread_of_perturbed_coefficients(index, order):
    """The closed form (squared weights on the variances) against Monte Carlo through the
    public conversion: perturb every coefficient by its error, convert, take the spread."""
    rng = np.random.default_rng(3)
    terms = [(), (0,), (1,), (0, 1), (1, 2, 3), (0, 2, 4), (0, 1, 2, 3)]
    coefs, errs = rng.standard_normal(len(terms)), rng.uniform(0.05, 0.3, len(terms))
    inter = Interactions(5, terms, coefs, standard_errors=errs, max_degree=4)
    draws = 20000
    noisy = coefs[:, None] + errs[:, None] * rng.standard_normal((len(terms), draws))
    idx, deg = terms_to_array(terms, 5)
    mc = fourier_to_index(SparseTerms(idx, deg, noisy), 5, index, order)
    spread = dict(zip(array_to_terms(mc.indices, mc.degrees), mc.values.std(axis=1)))
    exact = inter.index_standard_errors(index, order)
    assert set(exact) == set(spread)
    for term, se in exact.items():
        assert se == pytest.approx(spread[term], rel=0.04, abs=1e-9), term
    for kind, convert in (("shapley", shapley_values), ("banzhaf", banzhaf_values)):
        mc_attr = convert(SparseTerms(idx, deg, noisy), 5).std(axis=1)
        np.testing.assert_allclose(inter.attribution_standard_errors(kind), mc_attr, rtol=0.04)


def test_top_carries_standard_errors_intervals_and_zero_marks():
    terms = [(), (0,), (1,), (0, 1)]
    inter = Interactions(
        2,
        terms,
        [1.0, -0.5, 0.01, 0.8],
        standard_errors=[0.0, 0.05, 0.05, 0.05],
        feature_names=["a", "b"],
    )
    top = inter.top(3)
    errors = inter.index_standard_errors("mobius")
    for t in top:
        term, value = t  # still unpacks as a pair
        assert t.stderr == pytest.approx(errors[term])
        lo, hi = t.interval
        assert lo == pytest.approx(value - 1.96 * t.stderr) and hi > lo
        assert t.covers_zero == (lo <= 0 <= hi)
    # a coefficient smaller than its error is marked as not told apart from zero
    small = Interactions(2, terms, [1.0, -0.5, 0.01, 0.0], standard_errors=[0, 0.05, 0.05, 0.05])
    by_term = {t.term: t for t in small.top(3, index="fourier")}
    assert by_term[(1,)].covers_zero is True and by_term[(0,)].covers_zero is False
    assert by_term[(1,)].stderr == 0.05  # the Fourier errors are the coefficients' own
    assert Interactions(2, terms, [1.0, -0.5, 0.01, 0.8]).top(1)[0].stderr is None


@pytest.mark.filterwarnings("ignore::captum_spex.SpexFitWarning")
def test_each_round_bar_of_spex_shows_the_last_r2_estimate(capsys):
    f = Planted.random(30, 40, max_degree=2, seed=5, snr_db=20.0)
    res = spex(f, 30, n_samples=8000, target_r2=0.95, show_progress=True, seed=0)
    shown = re.findall(r"R² (\d\.\d{3}) at ([\d,]+) queries", capsys.readouterr().err)
    curve = res.diagnostics["r2_curve"]
    assert len(curve) >= 3
    # round k's bar shows the estimate after round k - 1
    expected = [(f"{r2:.3f}", f"{n:,}") for n, r2, _ in curve[:-1]]
    assert list(dict.fromkeys(shown)) == expected


def test_status_line_names_the_first_output_and_the_lowest():
    from captum_spex.engine.methods import MethodResult
    from captum_spex.engine.spex import _status_line

    def result(r2):
        return MethodResult([()], np.zeros((1, 1)), 1000, {"r2_estimate": r2})

    assert _status_line(result(0.9)) == "R² 0.900 at 1,000 queries"
    line = _status_line(result([0.954, 0.99, 0.924]), ("whole answer", "outputs"))
    # the bar's R² is the first output's (the one printed after the run), the lowest beside
    assert line == "R² 0.954 whole answer (lowest of 3 outputs: 0.924) at 1,000 queries"
    assert _status_line(result([0.5, float("nan")])) == ""
