"""Anytime explanations: target_r2 / max_seconds stop a run in rounds, every round's queries
are kept, and each term says how sure it is."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from captum_spex import Interactions, SpexFitWarning, spex
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
    assert [c[0] for c in curve] == [64 * 2**k for k in range(len(curve))]


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
    assert [r.n_queries for r in rounds] == [64, 128, 256, 512]
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
    phi, se = res.shapley_values(), res.attribution_standard_errors("shapley", draws=2000)
    covered = np.abs(phi - truth.shapley_values()) <= 1.96 * se
    assert covered.mean() >= 0.85, covered.mean()
    # Möbius values are (-2)^t sums of the coefficients of their supersets: errors follow
    known = Interactions(3, [(), (0,), (1, 2)], [1.0, 0.5, 0.3], standard_errors=[0, 0.1, 0.2])
    mob = known.index_standard_errors("mobius", draws=20000)
    assert mob[(0,)] == pytest.approx(0.2, rel=0.05)  # -2 F(0)
    assert mob[(1,)] == pytest.approx(0.4, rel=0.05)  # -2 F(1, 2)
    assert mob[(1, 2)] == pytest.approx(0.8, rel=0.05)  # 4 F(1, 2)
    with pytest.raises(ValueError, match="carries no standard errors"):
        Interactions(3, [(0,)], [1.0]).index_standard_errors()
