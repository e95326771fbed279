"""Tests for the Interactions result object."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from captum_spex.interactions import Interactions


def _random_sparse(rng, n, k, max_deg, n_outputs=None):
    terms = {()}
    while len(terms) < k:
        d = int(rng.integers(1, max_deg + 1))
        terms.add(tuple(sorted(rng.choice(n, size=d, replace=False).tolist())))
    terms = sorted(terms)
    shape = (len(terms),) if n_outputs is None else (len(terms), n_outputs)
    return terms, rng.normal(size=shape)


def _brute_predict(terms, coefs, masks):
    out = []
    for m in masks:
        kept = set(np.flatnonzero(m).tolist())
        out.append(
            sum(c * (-1) ** len(kept.intersection(t)) for t, c in zip(terms, coefs, strict=True))
        )
    return np.array(out)


def test_predict_matches_definition():
    rng = np.random.default_rng(0)
    terms, coefs = _random_sparse(rng, 7, 15, 4)
    inter = Interactions(7, terms, coefs)
    masks = np.array(list(itertools.product([False, True], repeat=7)))
    np.testing.assert_allclose(inter.predict(masks), _brute_predict(terms, coefs, masks))
    # 0/1 ints and a single mask
    np.testing.assert_allclose(inter.predict(masks.astype(int)[5]), inter.predict(masks[5:6]))
    assert inter.predict(masks[5]).shape == (1,)


def test_predict_multi_output_and_chunking(monkeypatch):
    import captum_spex.interactions as mod

    rng = np.random.default_rng(1)
    terms, coefs = _random_sparse(rng, 9, 20, 3, n_outputs=3)
    inter = Interactions(9, terms, coefs)
    masks = rng.random((257, 9)) < 0.5
    full = inter.predict(masks)
    assert full.shape == (257, 3)
    for o in range(3):
        np.testing.assert_allclose(full[:, o], _brute_predict(terms, coefs[:, o], masks))
    monkeypatch.setattr(mod, "_PREDICT_BLOCK", 50)  # blocks of 2 masks
    np.testing.assert_allclose(inter.predict(masks), full, rtol=1e-12, atol=1e-12)


def test_basic_attributes():
    inter = Interactions(4, [(2, 3), (), (1,)], np.array([3.0, 1.0, 2.0]), n_queries=12)
    assert inter.terms == [(), (1,), (2, 3)]
    assert inter.fourier() == {(): 1.0, (1,): 2.0, (2, 3): 3.0}
    assert inter.n_outputs == 1
    assert inter.max_degree == 2
    assert inter.n_queries == 12
    assert inter.diagnostics == {}
    multi = Interactions(4, [(1,), ()], [[1.0, 2.0], [3.0, 4.0]])
    assert multi.n_outputs == 2
    d = multi.fourier()
    np.testing.assert_array_equal(d[(1,)], [1.0, 2.0])
    assert multi.fourier(output=1) == {(): 4.0, (1,): 2.0}


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (dict(n_features=3, terms=[(0, 3)], coefficients=[1.0]), ValueError, "terms"),
        (dict(n_features=3, terms=[(1, 0)], coefficients=[1.0]), ValueError, "ascending"),
        (dict(n_features=3, terms=[(1, 1)], coefficients=[1.0]), ValueError, "ascending"),
        (dict(n_features=3, terms=[(1,), (1,)], coefficients=[1.0, 2.0]), ValueError, "repeat"),
        (dict(n_features=3, terms=[(0.5,)], coefficients=[1.0]), TypeError, "terms"),
        (dict(n_features=3, terms=[(0,)], coefficients=[1.0, 2.0]), ValueError, "coefficients"),
        (dict(n_features=3, terms=[(0,)], coefficients=[np.nan]), ValueError, "coefficients"),
        (dict(n_features=0, terms=[], coefficients=[]), ValueError, "n_features"),
        (
            dict(n_features=3, terms=[(0, 1)], coefficients=[1.0], max_degree=1),
            ValueError,
            "max_degree",
        ),
        (
            dict(n_features=2, terms=[], coefficients=[], feature_names=["a"]),
            ValueError,
            "feature_names",
        ),
        (dict(n_features=2, terms=[], coefficients=[], n_queries=-1), ValueError, "n_queries"),
    ],
)
def test_validation(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Interactions(**kwargs)


def test_predict_validation():
    inter = Interactions(3, [(0,)], [1.0])
    with pytest.raises(ValueError, match="masks"):
        inter.predict(np.zeros((2, 4), dtype=bool))
    with pytest.raises(ValueError, match="masks"):
        inter.predict(np.full((2, 3), 2))
