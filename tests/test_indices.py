"""Every index against an independent brute force over all 2^n masks.

The brute force below never looks at the sparse code or at the section 2 table: it builds
``f`` on all 2^n masks from the Fourier expansion (section 1) and computes each index from its
definition (marginal contributions, discrete derivatives, least-squares fits).
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from typing import get_args

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from captum_spex.indices import (
    INDEX_NAMES,
    INDICES,
    ORDERED_INDICES,
    IndexName,
    IndexSpec,
    SparseTerms,
    _fourier_weights,
    array_to_terms,
    banzhaf_values,
    fourier_from_mobius,
    fourier_to_index,
    mobius_from_fourier,
    shapley_values,
    terms_to_array,
)
from captum_spex.interactions import Interactions

# ---------------------------------------------------------------------- brute force
# Subsets of {0..n-1} are bit masks (int): bit i set = feature i kept / in the set.


def _random_fourier(rng, n, k, max_deg, n_outputs=None):
    terms = {()}
    while len(terms) < k:
        d = int(rng.integers(1, max_deg + 1))
        terms.add(tuple(sorted(rng.choice(n, size=d, replace=False).tolist())))
    terms = sorted(terms)
    shape = (len(terms),) if n_outputs is None else (len(terms), n_outputs)
    return terms, rng.normal(size=shape)


def _bits(term):
    return sum(1 << i for i in term)


def _popcount(x):
    return bin(x).count("1")


def _values_all_masks(terms, coefs, n):
    """f(m) for all 2^n masks from f(m) = sum_S F(S) (-1)^{|S & kept(m)|}."""
    masks = np.arange(2**n)
    f = np.zeros(2**n)
    for term, c in zip(terms, coefs, strict=True):
        par = np.array([_popcount(int(m) & _bits(term)) % 2 for m in masks])
        f += c * (1 - 2 * par)
    return f


def _subsets(x):
    """All subsets of the bit set x."""
    sub = x
    while True:
        yield sub
        if sub == 0:
            return
        sub = (sub - 1) & x


def _derivative(f, t_bits, s_bits):
    """Discrete derivative Delta_T f(S) = sum_{L <= T} (-1)^{|T|-|L|} f(S | L)."""
    t = _popcount(t_bits)
    return sum((-1) ** (t - _popcount(low)) * f[s_bits | low] for low in _subsets(t_bits))


def _all_sets(n, max_size):
    return [x for x in range(2**n) if _popcount(x) <= max_size]


def brute_mobius(f, n):
    return {x: _derivative(f, x, 0) for x in range(2**n)}


def brute_shapley(f, n):
    full = 2**n - 1
    phi = np.zeros(n)
    for i in range(n):
        for s in _subsets(full & ~(1 << i)):
            k = _popcount(s)
            w = math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n)
            phi[i] += w * (f[s | (1 << i)] - f[s])
    return phi


def brute_banzhaf(f, n):
    full = 2**n - 1
    return np.array(
        [np.mean([f[s | (1 << i)] - f[s] for s in _subsets(full & ~(1 << i))]) for i in range(n)]
    )


def brute_sii(f, n, max_size):
    full = 2**n - 1
    out = {}
    for tb in _all_sets(n, max_size):
        t = _popcount(tb)
        total = 0.0
        for s in _subsets(full & ~tb):
            k = _popcount(s)
            w = math.factorial(n - k - t) * math.factorial(k) / math.factorial(n - t + 1)
            total += w * _derivative(f, tb, s)
        out[tb] = total
    return out


def brute_bii(f, n, max_size):
    full = 2**n - 1
    return {
        tb: np.mean([_derivative(f, tb, s) for s in _subsets(full & ~tb)])
        for tb in _all_sets(n, max_size)
    }


def brute_stii(f, n, order):
    """Shapley-Taylor (Sundararajan et al. 2020): derivative at the empty set below order l;
    at order l, (l/n) sum_{S <= N minus T} Delta_T f(S) / C(n-1, |S|)."""
    full = 2**n - 1
    out = {}
    for tb in _all_sets(n, order):
        if _popcount(tb) < order:
            out[tb] = _derivative(f, tb, 0)
        else:
            out[tb] = (order / n) * sum(
                _derivative(f, tb, s) / math.comb(n - 1, _popcount(s)) for s in _subsets(full & ~tb)
            )
    return out


def _bernoulli(m):
    """Bernoulli numbers from the generating-function recursion (B_1 = -1/2)."""
    b = [1.0]
    for j in range(1, m + 1):
        b.append(-sum(math.comb(j + 1, k) * b[k] for k in range(j)) / (j + 1))
    return b[m]


def brute_ksii(f, n, order):
    """k-SII by the recursion of Bordt & von Luxburg (2023) from brute-force SII:
    Phi^1 = Shapley values; Phi^k(S) = SII(S) if |S| = k, else
    Phi^{k-1}(S) + B_{k-|S|} sum_{T >= S, |T| = k} SII(T). The constant is f(empty)."""
    sii = brute_sii(f, n, order)
    phi = {1 << i: v for i, v in enumerate(brute_shapley(f, n))}
    for k in range(2, order + 1):
        new = {}
        for sb in _all_sets(n, k):
            s = _popcount(sb)
            if s == 0:
                continue
            if s == k:
                new[sb] = sii[sb]
            else:
                sup = sum(v for tb, v in sii.items() if _popcount(tb) == k and tb & sb == sb)
                new[sb] = phi[sb] + _bernoulli(k - s) * sup
        phi = new
    phi[0] = f[0]
    return phi


def _design(n, order):
    sets = _all_sets(n, order)
    masks = np.arange(2**n)
    x = np.array([[float(m & tb == tb) for tb in sets] for m in masks])
    return sets, x


def brute_fsii(f, n, order):
    """Faith-Shap: Shapley-kernel weighted least squares of f(m) ~ sum_{T <= kept(m), |T|<=l}
    beta_T, with f(empty) and f(full) as exact constraints (solved through the KKT system)."""
    sets, x = _design(n, order)
    sizes = np.array([_popcount(m) for m in range(2**n)])
    inner = (sizes > 0) & (sizes < n)
    w = np.zeros(2**n)
    w[inner] = (n - 1) / (
        np.array([math.comb(n, int(s)) for s in sizes[inner]]) * sizes[inner] * (n - sizes[inner])
    )
    a_eq = x[[0, 2**n - 1]]
    b_eq = f[[0, 2**n - 1]]
    p = len(sets)
    kkt = np.zeros((p + 2, p + 2))
    kkt[:p, :p] = 2 * x.T @ (w[:, None] * x)
    kkt[:p, p:] = a_eq.T
    kkt[p:, :p] = a_eq
    rhs = np.concatenate([2 * x.T @ (w * f), b_eq])
    beta = np.linalg.solve(kkt, rhs)[:p]
    return dict(zip(sets, beta, strict=True))


def brute_fbii(f, n, order):
    """Faith-Banzhaf: uniformly weighted least squares of the same model."""
    sets, x = _design(n, order)
    beta = np.linalg.lstsq(x, f, rcond=None)[0]
    return dict(zip(sets, beta, strict=True))


def _sparse_as_bits(result: SparseTerms):
    vals = np.asarray(result.values)
    return {
        _bits(t): float(v)
        for t, v in zip(array_to_terms(result.indices, result.degrees), vals, strict=True)
    }


def _assert_same(sparse: dict, brute: dict, atol=1e-9):
    """The sparse index equals the brute force on every set; sets the sparse result omits
    must be zero in the brute force, and it may not report sets the brute force lacks."""
    extra = set(sparse) - set(brute)
    assert not extra, f"sparse result has sets outside the index: {sorted(extra)}"
    for tb, v in brute.items():
        got = sparse.get(tb, 0.0)
        assert got == pytest.approx(v, abs=atol), (bin(tb), got, v)


# ---------------------------------------------------------------------- fixtures
CASES = [(5, 8, 3, 0), (6, 12, 4, 1), (7, 14, 5, 2), (7, 20, 3, 3)]  # n, k, max_deg, seed


def _case(n, k, max_deg, seed):
    rng = np.random.default_rng(seed)
    terms, coefs = _random_fourier(rng, n, k, max_deg)
    idx, deg = terms_to_array(terms, n)
    return terms, coefs, SparseTerms(idx, deg, coefs), _values_all_masks(terms, coefs, n)


# ---------------------------------------------------------------------- tests
def test_brute_force_sanity():
    """The brute force reproduces the section 1 conventions on a hand example."""
    # f = 1 + 0.5 chi_0 ; chi_0(m) = -1 when feature 0 is kept.
    f = _values_all_masks([(), (0,)], [1.0, 0.5], 2)
    np.testing.assert_allclose(f, [1.5, 0.5, 1.5, 0.5])
    assert brute_mobius(f, 2)[0b01] == pytest.approx(-1.0)
    np.testing.assert_allclose(brute_shapley(f, 2), [-1.0, 0.0])


@pytest.mark.parametrize("case", CASES)
def test_mobius(case):
    n = case[0]
    _, _, fourier, f = _case(*case)
    _assert_same(_sparse_as_bits(mobius_from_fourier(fourier, n)), brute_mobius(f, n))


@pytest.mark.parametrize("case", CASES)
def test_fourier_from_mobius_roundtrip(case):
    n = case[0]
    _, _, fourier, _ = _case(*case)
    back = fourier_from_mobius(mobius_from_fourier(fourier, n), n)
    _assert_same(_sparse_as_bits(back), {x: 0.0 for x in range(2**n)} | _sparse_as_bits(fourier))


@pytest.mark.parametrize("case", CASES)
def test_shapley_banzhaf_and_efficiency(case):
    n = case[0]
    _, _, fourier, f = _case(*case)
    phi = shapley_values(fourier, n)
    np.testing.assert_allclose(phi, brute_shapley(f, n), atol=1e-10)
    assert phi.sum() == pytest.approx(f[-1] - f[0], abs=1e-10)
    np.testing.assert_allclose(banzhaf_values(fourier, n), brute_banzhaf(f, n), atol=1e-10)


@pytest.mark.parametrize("case", CASES)
def test_sii_and_bii(case):
    n = case[0]
    _, _, fourier, f = _case(*case)
    _assert_same(_sparse_as_bits(fourier_to_index(fourier, n, "sii")), brute_sii(f, n, n))
    _assert_same(_sparse_as_bits(fourier_to_index(fourier, n, "bii")), brute_bii(f, n, n))
    # an order cap only truncates
    _assert_same(_sparse_as_bits(fourier_to_index(fourier, n, "sii", order=2)), brute_sii(f, n, 2))


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_ordered_indices(case, order):
    n = case[0]
    _, _, fourier, f = _case(*case)
    for name, brute in [
        ("stii", brute_stii),
        ("k-sii", brute_ksii),
        ("fsii", brute_fsii),
        ("fbii", brute_fbii),
    ]:
        got = _sparse_as_bits(fourier_to_index(fourier, n, name, order=order))
        _assert_same(got, brute(f, n, order), atol=1e-8)


@pytest.mark.parametrize("case", CASES[:2])
def test_ordered_index_properties(case):
    """Efficiency of k-SII, STII and FSII; k-SII at l=1 is Shapley, at l=n is Möbius."""
    n = case[0]
    _, _, fourier, f = _case(*case)
    for name in ("k-sii", "stii", "fsii"):
        for order in range(1, n + 1):
            total = fourier_to_index(fourier, n, name, order=order).values.sum()
            assert total == pytest.approx(f[-1], abs=1e-9), (name, order)
    k1 = _sparse_as_bits(fourier_to_index(fourier, n, "k-sii", order=1))
    phi = brute_shapley(f, n)
    _assert_same(k1, {0: f[0]} | {1 << i: phi[i] for i in range(n)})
    _assert_same(
        _sparse_as_bits(fourier_to_index(fourier, n, "k-sii", order=n)), brute_mobius(f, n)
    )


def test_larger_n_shapley_and_fsii():
    """n = 10 with degree-5 terms (1024 masks)."""
    n = 10
    rng = np.random.default_rng(7)
    terms, coefs = _random_fourier(rng, n, 10, 5)
    idx, deg = terms_to_array(terms, n)
    fourier = SparseTerms(idx, deg, coefs)
    f = _values_all_masks(terms, coefs, n)
    phi = shapley_values(fourier, n)
    np.testing.assert_allclose(phi, brute_shapley(f, n), atol=1e-10)
    assert phi.sum() == pytest.approx(f[-1] - f[0], abs=1e-10)
    _assert_same(
        _sparse_as_bits(fourier_to_index(fourier, n, "fsii", order=2)), brute_fsii(f, n, 2)
    )


def test_multi_output_columns_are_independent():
    n = 6
    rng = np.random.default_rng(11)
    terms, coefs = _random_fourier(rng, n, 10, 4, n_outputs=3)
    idx, deg = terms_to_array(terms, n)
    multi = SparseTerms(idx, deg, coefs)
    for name in INDEX_NAMES:
        joint = fourier_to_index(multi, n, name, order=2)
        assert joint.values.shape[1] == 3
        for o in range(3):
            single = fourier_to_index(SparseTerms(idx, deg, coefs[:, o]), n, name, order=2)
            np.testing.assert_array_equal(single.indices, joint.indices)
            np.testing.assert_allclose(single.values, joint.values[:, o], rtol=0, atol=1e-12)
    assert shapley_values(multi, n).shape == (n, 3)
    assert banzhaf_values(multi, n).shape == (n, 3)


def test_interactions_methods_match_brute_force():
    n, k, max_deg, seed = CASES[2]
    terms, coefs, _, f = _case(n, k, max_deg, seed)
    inter = Interactions(n, terms, coefs, max_degree=max_deg)
    np.testing.assert_allclose(inter.shapley_values(), brute_shapley(f, n), atol=1e-10)
    np.testing.assert_allclose(inter.banzhaf_values(), brute_banzhaf(f, n), atol=1e-10)
    _assert_same({_bits(t): v for t, v in inter.mobius().items()}, brute_mobius(f, n))
    for name, brute in [("stii", brute_stii), ("k-sii", brute_ksii), ("fsii", brute_fsii)]:
        # default order is max_degree
        got = {_bits(t): v for t, v in inter.index(name).items()}
        _assert_same(got, brute(f, n, max_deg), atol=1e-8)
    got = {_bits(t): v for t, v in inter.index("fbii", order=2).items()}
    _assert_same(got, brute_fbii(f, n, 2), atol=1e-8)


def test_mobius_predicts_like_fourier():
    """Evaluating the Möbius expansion reproduces f on every mask."""
    n = 6
    _, _, fourier, f = _case(n, 12, 4, 5)
    a = _sparse_as_bits(mobius_from_fourier(fourier, n))
    for m in range(2**n):
        assert sum(v for tb, v in a.items() if tb & m == tb) == pytest.approx(f[m], abs=1e-10)


def test_validation_messages():
    fourier = SparseTerms(np.array([[0]]), np.array([1]), np.array([1.0]))
    with pytest.raises(ValueError, match="'fourier', 'mobius', 'bii'"):
        fourier_to_index(fourier, 3, "shapley")
    with pytest.raises(ValueError, match="order"):
        fourier_to_index(fourier, 3, "fsii", order=0)
    with pytest.raises(ValueError, match="order"):
        fourier_to_index(fourier, 3, "fsii", order=4)
    with pytest.raises(TypeError, match="order"):
        fourier_to_index(fourier, 3, "fsii", order=1.5)


def test_empty_and_constant_only():
    empty = SparseTerms(np.zeros((0, 0), np.int64), np.zeros(0, np.int64), np.zeros(0))
    for name in INDEX_NAMES:
        assert len(fourier_to_index(empty, 3, name, order=2).degrees) == 0
    const = SparseTerms(np.zeros((1, 0), np.int64), np.zeros(1, np.int64), np.array([2.0]))
    for name in INDEX_NAMES:
        res = fourier_to_index(const, 3, name, order=2)
        assert array_to_terms(res.indices, res.degrees) == [()]
        assert res.values.tolist() == [2.0]
    np.testing.assert_array_equal(shapley_values(const, 3), np.zeros(3))


def test_subset_enumeration_is_exhaustive():
    """Guard on the brute-force helper itself."""
    assert sorted(_subsets(0b1011)) == [0, 1, 2, 3, 8, 9, 10, 11]
    assert len(list(itertools.islice(_subsets(0), 5))) == 1


def test_wide_ids_use_the_row_fallback_and_agree():
    """With n = 10^6 and degree 4 the packed int64 key overflows; the np.unique(axis=0)
    fallback must give the same result as the small problem relabelled."""
    n_small, n_big = 7, 10**6
    terms, coefs, fourier, _ = _case(n_small, 14, 4, 12)
    label = np.sort(np.random.default_rng(0).choice(n_big, size=n_small, replace=False))
    big_terms = [tuple(int(label[i]) for i in t) for t in terms]
    idx, deg = terms_to_array(big_terms, n_big)
    big = SparseTerms(idx, deg, coefs)
    for name in INDEX_NAMES:
        small_res = fourier_to_index(fourier, n_small, name, order=3)
        big_res = fourier_to_index(big, n_big, name, order=3)
        relabelled = [
            tuple(int(label[i]) for i in t)
            for t in array_to_terms(small_res.indices, small_res.degrees)
        ]
        assert array_to_terms(big_res.indices, big_res.degrees) == relabelled
        np.testing.assert_allclose(big_res.values, small_res.values, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="repeat"):
        terms_to_array([(1, 2, 3, 999_999), (1, 2, 3, 999_999)], n_big)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 6),
    k=st.integers(1, 10),
    seed=st.integers(0, 2**32 - 1),
    order_frac=st.floats(0, 1),
)
def test_property_all_indices(n, k, seed, order_frac):
    rng = np.random.default_rng(seed)
    k = min(k, 2**n - 1)
    terms, coefs = _random_fourier(rng, n, k, n)
    idx, deg = terms_to_array(terms, n)
    fourier = SparseTerms(idx, deg, coefs)
    f = _values_all_masks(terms, coefs, n)
    order = 1 + int(order_frac * (n - 1))
    _assert_same(_sparse_as_bits(mobius_from_fourier(fourier, n)), brute_mobius(f, n))
    _assert_same(
        _sparse_as_bits(fourier_to_index(fourier, n, "sii", order=order)), brute_sii(f, n, order)
    )
    for name, brute in [
        ("stii", brute_stii),
        ("k-sii", brute_ksii),
        ("fsii", brute_fsii),
        ("fbii", brute_fbii),
    ]:
        got = _sparse_as_bits(fourier_to_index(fourier, n, name, order=order))
        _assert_same(got, brute(f, n, order), atol=1e-8)
    np.testing.assert_allclose(shapley_values(fourier, n), brute_shapley(f, n), atol=1e-10)


# ---------------------------------------------------------------------- the index table
def test_index_table_is_the_single_source():
    """Names, the Literal, the ordered subset and both conversions all read INDICES."""
    assert INDEX_NAMES == tuple(INDICES) == get_args(IndexName)
    assert ORDERED_INDICES == tuple(n for n, s in INDICES.items() if s.ordered)
    assert set(INDICES) == {"fourier", "mobius", "bii", "sii", "k-sii", "stii", "fsii", "fbii"}
    assert set(ORDERED_INDICES) == {"k-sii", "stii", "fsii", "fbii"}
    for name, spec in INDICES.items():
        assert spec.name == name and spec.title and spec.description
    n = 5
    terms, coefs, fourier, _ = _case(n, 10, 3, 7)
    inter = Interactions(n, terms, coefs)
    for name in INDICES:
        for order in (None, 2):
            res = fourier_to_index(fourier, n, name, order)
            resolved = 3 if order is None and INDICES[name].ordered else order
            assert inter.index(name, order) == dict(
                zip(array_to_terms(res.indices, res.degrees), res.values.tolist(), strict=True)
            )
            assert inter.resolve_order(name, order) == resolved


def test_unknown_index_lists_exactly_the_table():
    valid = ", ".join(repr(name) for name in INDICES)
    fourier = SparseTerms(np.array([[0]]), np.array([1]), np.array([1.0]))
    inter = Interactions(3, [(0,)], [1.0])
    for caller, call in [
        ("fourier_to_index", lambda: fourier_to_index(fourier, 3, "shap")),
        ("Interactions.index", lambda: inter.index("shap")),
        ("Interactions.top", lambda: inter.top(3, "shap")),
        ("Interactions.index_arrays", lambda: inter.index_arrays("shap")),
    ]:
        with pytest.raises(ValueError) as info:
            call()
        assert str(info.value) == (
            f"The 'index' parameter of {caller} must be one of {valid}; got 'shap'."
        )


def test_adding_an_index_is_one_table_entry(monkeypatch):
    """A new entry (and its weight) is accepted everywhere: conversions, the object, the
    default order of an ordered index, the error message."""
    half = IndexSpec("half", "Half-Möbius", lambda u, t, ell: Fraction(int(u == t), 2), "a")
    # an ordered copy of STII under a new name
    stii2 = IndexSpec("stii2", "STII-2", INDICES["stii"].mobius_weight, "b", ordered=True)
    monkeypatch.setitem(INDICES, "half", half)
    monkeypatch.setitem(INDICES, "stii2", stii2)
    try:
        n = 6
        terms, coefs, _, _ = _case(n, 12, 4, 9)
        inter = Interactions(n, terms, coefs, max_degree=4)
        mobius = inter.mobius()
        assert inter.index("half") == pytest.approx({t: v / 2 for t, v in mobius.items()})
        assert inter.index("stii2") == inter.index("stii") == inter.index("stii", order=4)
        assert inter.resolve_order("stii2") == 4 and inter.resolve_order("half") is None
        assert inter.top(2, "half")[0].value == pytest.approx(inter.top(2)[0].value / 2)
        with pytest.raises(ValueError, match="'fbii', 'half', 'stii2'; got 'nope'"):
            inter.index("nope")
    finally:
        _fourier_weights.cache_clear()


@pytest.mark.parametrize("order", range(1, 9))
def test_weight_tables_of_the_fourier_side_indices(order):
    """From their Möbius weights, the exact tables of Fourier, BII and FBII are the closed
    forms F(T), (-2)^|T| F(T) and (-2)^|T| sum_{S >= T, |S| <= l} F(S)."""
    max_s = 9
    for s in range(max_s + 1):
        for t in range(min(s, order) + 1):
            assert _fourier_weights("fourier", order, max_s)[s, t] == float(s == t)
            assert _fourier_weights("bii", order, max_s)[s, t] == (-2.0) ** t * (s == t)
            assert _fourier_weights("fbii", order, max_s)[s, t] == (-2.0) ** t * (s <= order)


# ---------------------------------------------------------------------- bounded work (issue 14)
def test_conversions_agree_across_key_packings_and_chunks(monkeypatch):
    import captum_spex._terms as terms_mod

    rng = np.random.default_rng(5)
    supports = sorted(
        {tuple(sorted(rng.choice(9, size=d, replace=False))) for d in (1, 2, 3, 4, 5, 6) * 6}
    )
    coefs = rng.normal(size=(len(supports), 2))
    results = []
    for n in (9, 100, 10**6):  # one bit per feature, base n + 1, np.unique(axis=0)
        idx, deg = terms_to_array(supports, n)
        for chunk in (1 << 18, 7):  # one pass, and partial sums merged every 7 pairs
            monkeypatch.setattr(terms_mod, "_CHUNK_PAIRS", chunk)
            for index, order in (("mobius", None), ("sii", None), ("fsii", 3)):
                res = fourier_to_index(SparseTerms(idx, deg, coefs), n, index, order)
                results.append((index, array_to_terms(res.indices, res.degrees), res.values))
    for index in ("mobius", "sii", "fsii"):
        same = [r for r in results if r[0] == index]
        for _, keys, values in same[1:]:
            assert keys == same[0][1]
            np.testing.assert_allclose(values, same[0][2], rtol=1e-12, atol=1e-12)


def test_an_expansion_past_the_limits_is_refused_before_any_work():
    from captum_spex.indices import ExpansionTooLarge

    idx, deg = terms_to_array([tuple(range(40))], 40)
    big = SparseTerms(idx, deg, np.ones(1))
    with pytest.raises(ExpansionTooLarge, match="degree 40 has 1,099,511,627,776 subsets"):
        mobius_from_fourier(big, 40)
    capped = fourier_to_index(big, 40, "mobius", order=2)  # subsets up to size 2: cheap
    assert len(capped.degrees) == 1 + 40 + 780
    with pytest.raises(ExpansionTooLarge):
        fourier_from_mobius(big, 40)
