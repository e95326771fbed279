"""Every numba kernel against its plain-NumPy twin."""

import numpy as np
import pytest

from captum_spex.engine import _kernels
from captum_spex.engine.bch import bch_code
from captum_spex.engine.design import plan_design
from captum_spex.engine.peeling import Decoder, bucket_transform
from captum_spex.testing import Planted
from tests.engine import kernels_ref as ref


@pytest.mark.parametrize("length", [1, 2, 8, 256])
def test_fwht_matches_hadamard_matrix(length):
    a = np.random.default_rng(length).normal(size=(5, length))
    expected = ref.fwht_ref(a)
    got = a.copy()
    _kernels.fwht(got)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n,t", [(40, 2), (300, 5), (1000, 5)])
def test_syndromes_bm_chien_match_twins(n, t):
    code = bch_code(n, t)
    rng = np.random.default_rng(n)
    order = code.field_order
    for _ in range(30):
        bits = rng.integers(0, 2, size=code.n_parity).astype(np.uint8)
        s = np.empty(2 * t, dtype=np.int64)
        _kernels.syndromes(bits, code.exp, order, 2 * t, s)
        s_ref = ref.syndromes_ref(bits, code.exp, order, 2 * t)
        assert np.array_equal(s, s_ref)
        lam = np.empty(2 * t + 1, dtype=np.int64)
        wb, wt = lam.copy(), lam.copy()
        big_l = _kernels.berlekamp_massey(s, code.exp, code.log, order, lam, wb, wt)
        lam_ref, l_ref = ref.berlekamp_massey_ref(s, code.exp, code.log, order)
        assert big_l == l_ref
        assert lam.tolist() == lam_ref
        if big_l <= t:
            cur = np.empty(2 * t + 1, dtype=np.int64)
            pos = np.empty(2 * t + 1, dtype=np.int64)
            n_pos = code.n_parity + n
            cnt = _kernels.chien_search(lam, big_l, n_pos, code.log, code.exp, order, cur, pos)
            roots = ref.chien_search_ref(lam_ref, l_ref, n_pos, code.exp, code.log, order)
            assert (cnt < 0) == (roots is None)
            if roots is not None:
                assert pos[:cnt].tolist() == roots


def _noisy_bucket(code, hashcol, rng, noise):
    deg = int(rng.integers(0, code.t + 1))
    support = np.sort(rng.choice(code.n, size=deg, replace=False))
    signs = np.concatenate([[1.0], 1.0 - 2.0 * code.parity_bits(support)])
    coef = rng.choice([-1, 1]) * rng.uniform(0.5, 1.5)
    u = coef * signs + rng.normal(0, noise, size=signs.shape)
    j = int(np.bitwise_xor.reduce(hashcol[support])) if deg else 0
    return u, j, tuple(support.tolist()), coef


@pytest.mark.parametrize("noise", [0.0, 0.3, 0.6])
def test_decode_bucket_matches_twin(noise):
    n, t = 200, 4
    rng = np.random.default_rng(7)
    design = plan_design(n, 20000, t, rng)
    code = design.code
    dec = Decoder(code, design.hashcols, t, n_chase=5)
    hashcol = design.hashcols[0]
    n1 = code.n_parity + 1
    thr = (noise**2 + 1e-20) * (n1 + 3 * np.sqrt(2 * n1))
    hits = 0
    for _ in range(40):
        u, j, support, coef = _noisy_bucket(code, hashcol, rng, noise)
        out = np.empty(t, dtype=np.int64)
        deg, c, resid, ok = _kernels.decode_bucket(
            u,
            j,
            hashcol,
            dec.dpacked,
            n,
            code.exp,
            code.log,
            code.field_order,
            t,
            t,
            dec.patterns,
            5,
            dec.syn_unit,
            dec.syn_ones,
            thr,
            out,
        )
        k_ref, c_ref, resid_ref, ok_ref = ref.decode_bucket_ref(
            u, j, hashcol, code.parity_matrix, code.exp, code.log, code.field_order, t, t, 5, thr
        )
        assert (deg < 0) == (k_ref is None)
        assert ok == ok_ref
        if k_ref is not None:
            assert tuple(out[:deg].tolist()) == k_ref
            assert c == pytest.approx(c_ref, rel=1e-9, abs=1e-12)
            assert resid == pytest.approx(resid_ref, rel=1e-6, abs=1e-9)
            hits += k_ref == support
    assert hits >= (40 if noise == 0 else 25)


def test_peel_matches_twin_and_recovers_planted_terms():
    n, t = 60, 3
    f = Planted.random(n, 25, max_degree=t, seed=3)
    rng = np.random.default_rng(1)
    design = plan_design(n, 6000, t, rng)
    big_u = bucket_transform(f.exact(design.masks), design.inverse)
    dec = Decoder(design.code, design.hashcols, t, n_chase=4)
    res = dec.peel(big_u, 1e-20)
    code = design.code
    thr_zero, thr_resid = dec.thresholds(1e-20, big_u.shape[1])
    terms_ref, resid_ref = ref.peel_ref(
        big_u,
        design.hashcols,
        code.parity_matrix,
        code.exp,
        code.log,
        code.field_order,
        t,
        t,
        4,
        thr_zero,
        thr_resid,
    )
    got = dict(zip(res.terms(), res.coefs))
    assert set(got) == set(terms_ref) == set(f.fourier())
    for k, v in f.fourier().items():
        assert got[k] == pytest.approx(v, abs=1e-9)
        assert terms_ref[k] == pytest.approx(v, abs=1e-9)
    np.testing.assert_allclose(res.residual, 0.0, atol=1e-9)
    np.testing.assert_allclose(resid_ref, 0.0, atol=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lasso_path_kernel_matches_its_twin(seed):
    from captum_spex.engine._lasso_kernels import lasso_path_gram

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(200, 15))
    y = x[:, 0] * 2.0 - x[:, 3] + 0.1 * rng.normal(size=200)
    gram = x.T @ x / 200
    corr = x.T @ y / 200
    alphas = np.abs(corr).max() * np.geomspace(1.0, 1e-3, 12)
    out = np.zeros((12, 15))
    lasso_path_gram(gram, corr, alphas, 500, 1e-10, out)
    np.testing.assert_allclose(
        out, ref.lasso_path_gram_ref(gram, corr, alphas, 500, 1e-10), atol=1e-8
    )
    assert np.all(out[0] == 0.0)  # the largest penalty keeps every slope at zero
    # the smallest penalty is close to least squares
    ols = np.linalg.solve(gram, corr)
    np.testing.assert_allclose(out[-1], ols, atol=5e-3 * np.abs(ols).max())
