"""spex(method="spex"), the SPEX design and decoder alone: exact recovery, noise, brute
force, budgets, determinism, errors. (The default method is tested in test_auto.py.)"""

import functools
import io
import warnings
from unittest import mock

import numpy as np
import pytest

from captum_spex import spex as _spex
from captum_spex.engine.design import design_cost, minimum_budget, plan_design
from captum_spex.engine.spex import SpexFitWarning
from captum_spex.testing import Planted, all_masks, brute_force_fourier
from captum_spex.testing import r2_score as r2

spex = functools.partial(_spex, method="spex")


def _support(result, tol=1e-6):
    return {k for k, v in result.fourier().items() if abs(v) > tol}


@pytest.mark.parametrize("k,seed", [(100, 0), (200, 1)])
def test_exact_support_recovery_n1000_noiseless(k, seed):
    f = Planted.random(1000, k, max_degree=5, seed=seed)
    res = spex(f, 1000, n_samples=43008, max_degree=5, seed=seed)
    assert res.n_queries <= 43008
    assert f.n_masks == res.n_queries
    assert _support(res) == set(f.terms)
    got = res.fourier()
    for term, coef in f.fourier().items():
        assert got[term] == pytest.approx(coef, abs=1e-8)


@pytest.mark.parametrize("budget", [21504, 43008])
def test_r2_at_10db_on_heldout_masks(budget):
    f = Planted.random(1000, 200, max_degree=5, seed=2, snr_db=10.0)
    res = spex(f, 1000, n_samples=budget, max_degree=5, seed=0)
    held = np.random.default_rng(2**31 - 3).integers(0, 2, size=(5000, 1000)).astype(bool)
    assert r2(f.exact(held), res.predict(held)) >= 0.99
    # the noise estimate is the per-query noise level
    assert res.diagnostics["noise_sd"] == pytest.approx(f.noise_sd, rel=0.1)


def test_r2_at_10db_small_problem():
    f = Planted.random(256, 50, max_degree=5, seed=4, snr_db=10.0)
    res = spex(f, 256, n_samples=17664, seed=4)
    held = np.random.default_rng(5).integers(0, 2, size=(4000, 256)).astype(bool)
    assert r2(f.exact(held), res.predict(held)) >= 0.99


@pytest.mark.parametrize("n", [6, 9, 12])
def test_exact_mode_equals_full_walsh_hadamard(n):
    rng = np.random.default_rng(n)
    table = rng.normal(size=1 << n)
    idx_of = 1 << np.arange(n)

    def f(masks):
        return table[masks.astype(np.int64) @ idx_of]

    res = spex(f, n, n_samples=1 << n, max_degree=n)
    assert res.n_queries == 1 << n
    truth = brute_force_fourier(f, n)
    got = res.fourier()
    assert set(got) == set(truth)
    for k, v in truth.items():
        assert got[k] == pytest.approx(v, abs=1e-10)


@pytest.mark.parametrize("n,seed", [(10, 0), (12, 1)])
def test_sparse_path_agrees_with_brute_force_transform(n, seed):
    f = Planted.random(n, 8, max_degree=3, seed=seed)
    budget = minimum_budget(n, 3) * 2
    assert budget < 1 << n  # the sparse design runs, not the exact one
    res = spex(f, n, n_samples=budget, max_degree=3, seed=seed)
    assert res.diagnostics["mode"] == "sparse"
    truth = {k: v for k, v in brute_force_fourier(f, n).items() if abs(v) > 1e-12}
    assert _support(res) == set(truth)
    for k, v in truth.items():
        assert res.fourier()[k] == pytest.approx(v, abs=1e-9)
    masks = all_masks(n)
    np.testing.assert_allclose(res.predict(masks), f.exact(masks), atol=1e-8)


@pytest.mark.parametrize("budget", [700, 1000, 5000, 9999, 30000])
def test_never_more_queries_than_budget_and_no_duplicate_masks(budget):
    n = 100
    seen = []

    def f(masks):
        seen.append(masks.copy())
        return masks[:, 0].astype(float) - 2.0 * (masks[:, 1] ^ masks[:, 2])

    minimum = minimum_budget(n, 5)
    if budget < minimum:
        with pytest.raises(ValueError, match=str(minimum)):
            spex(f, n, n_samples=budget)
        return
    res = spex(f, n, n_samples=budget)
    allm = np.concatenate(seen)
    assert res.n_queries == allm.shape[0] <= budget
    assert np.unique(np.packbits(allm, axis=1), axis=0).shape[0] == allm.shape[0]
    # the whole budget is used (design + extra groups + uniform masks)
    assert res.n_queries >= budget - 5


def test_budget_plan_uses_closed_form():
    rng = np.random.default_rng(0)
    design = plan_design(1000, 43008, 5, rng)
    assert design.b == 8 and design.n_groups == 3
    assert design.n_design == design_cost(55, 8, 3) == 43008 - 112
    assert design.masks.dtype == np.bool_


def test_same_seed_same_result_different_seed_different_masks():
    f = Planted.random(300, 40, seed=5, snr_db=20.0)
    a = spex(Planted.random(300, 40, seed=5, snr_db=20.0), 300, n_samples=9000, seed=3)
    b = spex(Planted.random(300, 40, seed=5, snr_db=20.0), 300, n_samples=9000, seed=3)
    assert a.terms == b.terms
    assert np.array_equal(a.coefficients, b.coefficients)
    seen = []
    spex(lambda m: (seen.append(m.copy()), f.exact(m))[1], 300, n_samples=9000, seed=4)
    seen3 = []
    spex(lambda m: (seen3.append(m.copy()), f.exact(m))[1], 300, n_samples=9000, seed=3)
    assert not np.array_equal(np.concatenate(seen), np.concatenate(seen3))


def test_multi_output_shares_queries():
    f1 = Planted.random(120, 20, seed=6)
    f2 = Planted.random(120, 15, seed=7)
    calls = []

    def f(masks):
        calls.append(len(masks))
        return np.stack([f1.exact(masks), f2.exact(masks)], axis=1)

    res = spex(f, 120, n_samples=12000, seed=0)
    assert res.n_outputs == 2
    assert sum(calls) == res.n_queries
    for o, g in enumerate((f1, f2)):
        got = res.fourier(output=o)
        for k, v in g.fourier().items():
            assert got[k] == pytest.approx(v, abs=1e-8)
        assert {k for k, v in got.items() if abs(v) > 1e-8} == set(g.terms)


def test_hard_decoder_also_recovers_noiseless():
    f = Planted.random(500, 60, seed=8)
    res = spex(f, 500, n_samples=20000, decoder="hard", seed=1)
    assert _support(res) == set(f.terms)
    assert res.diagnostics["decoder"] == "hard"


def test_progress_bars_cover_querying_and_decoding():
    f = Planted.random(50, 5, seed=9)
    with mock.patch("sys.stderr", new_callable=io.StringIO) as err:
        spex(f, 50, n_samples=3000, show_progress=True)
    text = err.getvalue()
    assert "SPEX queries" in text and "100%" in text
    assert "SPEX decoding" in text


def test_torch_and_list_outputs_are_accepted():
    torch = pytest.importorskip("torch")
    f = Planted.random(30, 4, max_degree=3, seed=10)
    res = spex(lambda m: torch.tensor(f.exact(m)), 30, n_samples=2000, max_degree=3)
    assert _support(res) == set(f.terms)
    res = spex(lambda m: f.exact(m).tolist(), 30, n_samples=2000, max_degree=3)
    assert _support(res) == set(f.terms)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"n_features": 0}, ValueError, "n_features"),
        ({"n_features": 2.5}, TypeError, "n_features"),
        ({"n_samples": -1}, ValueError, "n_samples"),
        ({"n_samples": True}, TypeError, "n_samples"),
        ({"max_degree": 0}, ValueError, "max_degree"),
        ({"seed": -3}, ValueError, "seed"),
        ({"decoder": "fuzzy"}, ValueError, "decoder"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"n_samples": 100}, ValueError, "at least"),
        ({"feature_names": ["a"]}, ValueError, "feature_names"),
    ],
)
def test_bad_arguments_raise_named_errors(kwargs, exc, match):
    args = {"n_features": 40, "n_samples": 5000}
    args.update(kwargs)
    n = args.pop("n_features")
    with pytest.raises(exc, match=match):
        spex(lambda m: np.zeros(len(m)), n, **args)


def test_bad_value_functions():
    with pytest.raises(TypeError, match="callable"):
        spex(3, 10, n_samples=100)
    with pytest.raises(ValueError, match="shape"):
        spex(lambda m: np.zeros(len(m) + 1), 40, n_samples=5000)
    with pytest.raises(ValueError, match="NaN or Inf for 1 of"):
        spex(lambda m: np.where(m.sum(1) == 0, np.nan, 1.0), 40, n_samples=5000)
    with pytest.raises(TypeError, match="numbers"):
        spex(lambda m: ["x"] * len(m), 40, n_samples=5000)


def test_dense_function_warns_and_r2_estimate_is_honest():
    n = 60
    rng = np.random.default_rng(0)
    w1, w2 = rng.normal(size=(n, 64)), rng.normal(size=64)

    def f(masks):  # a random dense network: not sparse at this budget
        return np.tanh(masks @ w1 * 0.7) @ w2

    with pytest.warns(SpexFitWarning, match="larger n_samples"):
        res = spex(f, n, n_samples=20000)
    held = np.random.default_rng(9).integers(0, 2, (5000, n)).astype(bool)
    true_r2 = res.r2(held, f(held))
    assert true_r2 < 0.75
    assert abs(res.diagnostics["r2_estimate"] - true_r2) <= 0.1


def test_sparse_function_does_not_warn_and_estimates_r2():
    f = Planted.random(200, 30, seed=11, snr_db=20.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SpexFitWarning)
        res = spex(f, 200, n_samples=12000)
    held = np.random.default_rng(3).integers(0, 2, (3000, 200)).astype(bool)
    assert res.diagnostics["n_holdout"] > 0
    assert abs(res.diagnostics["r2_estimate"] - r2(f(held), res.predict(held))) <= 0.05


_DETERMINISM_SCRIPT = """
import hashlib, sys
sys.path.insert(0, {root!r})
import numpy as np
from captum_spex import spex
from captum_spex.testing import Planted
res = spex(Planted.random(300, 40, seed=5, snr_db=10.0), 300, n_samples=9000, seed=3,
           method="spex")
h = hashlib.sha256(repr(res.terms).encode() + res.coefficients.tobytes()).hexdigest()
print(h)
"""


def test_bit_identical_across_processes():
    import hashlib
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[2])
    res = spex(Planted.random(300, 40, seed=5, snr_db=10.0), 300, n_samples=9000, seed=3)
    here = hashlib.sha256(repr(res.terms).encode() + res.coefficients.tobytes()).hexdigest()
    script = _DETERMINISM_SCRIPT.format(root=root)
    outs = {
        subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    }
    assert outs == {here}
