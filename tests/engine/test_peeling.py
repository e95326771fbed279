"""Peeling stops when a round makes no progress (it never loops on terms it cannot subtract)."""

import warnings

import numpy as np

from captum_spex import spex
from captum_spex.engine import peeling


def test_peeling_never_loops_on_terms_it_cannot_subtract(monkeypatch):
    # A VADER-like saturated sum at a small budget: before the fix the cross-group pass kept
    # re-adding a candidate that the next kernel call peeled back, for all 64 rounds of each
    # of the 4 refine passes (257 kernel calls).
    calls = {"n": 0}
    real = peeling.Decoder._peel_kernel

    def counting(self, *args, **kwargs):
        calls["n"] += 1
        return real(self, *args, **kwargs)

    monkeypatch.setattr(peeling.Decoder, "_peel_kernel", counting)
    rng = np.random.default_rng(1)
    n = 84
    w = rng.normal(size=n) * (rng.random(n) < 0.3)
    pairs = rng.integers(0, n, size=(20, 2))
    pw = rng.normal(size=20)

    def f(m):
        return np.tanh(0.3 * (m @ w + (m[:, pairs[:, 0]] & m[:, pairs[:, 1]]) @ pw))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = spex(f, n, n_samples=1000, max_degree=3, seed=0, method="spex")
    assert calls["n"] <= 10, calls["n"]
    assert res.diagnostics["refine_rounds"] <= 5
