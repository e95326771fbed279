"""Planted sparse Fourier functions for the tests (mirrors the benchmark's conventions)."""

from __future__ import annotations

import numpy as np


class Planted:
    """``f(m) = sum_S F(S) (-1)^{|S ∩ kept(m)|}`` with a known sparse support."""

    def __init__(self, n, terms, coefs, noise_sd=0.0, seed=0):
        self.n = n
        self.terms = [tuple(sorted(t)) for t in terms]
        self.coefs = np.asarray(coefs, dtype=float)
        self.noise_sd = noise_sd
        self.rng = np.random.default_rng(seed)
        self.calls = 0
        self.n_masks = 0

    @classmethod
    def random(cls, n, k, max_degree=5, seed=0, snr_db=None):
        rng = np.random.default_rng(seed)
        terms, seen = [], set()
        while len(terms) < k:
            d = int(rng.integers(1, max_degree + 1))
            s = tuple(sorted(rng.choice(n, size=d, replace=False).tolist()))
            if s not in seen:
                seen.add(s)
                terms.append(s)
        coefs = rng.choice([-1.0, 1.0], size=k + 1) * rng.uniform(0.5, 1.5, size=k + 1)
        noise_sd = 0.0
        if snr_db is not None:
            noise_sd = float(np.sqrt(np.sum(coefs[1:] ** 2) / 10 ** (snr_db / 10)))
        return cls(n, [()] + terms, coefs, noise_sd=noise_sd, seed=1000 + seed)

    def exact(self, masks):
        m = np.asarray(masks, dtype=bool)
        out = np.zeros(m.shape[0])
        for t, c in zip(self.terms, self.coefs):
            par = m[:, list(t)].sum(axis=1) % 2 if t else 0
            out += c * (1 - 2 * par)
        return out

    def __call__(self, masks):
        self.calls += 1
        self.n_masks += len(masks)
        y = self.exact(masks)
        if self.noise_sd:
            y = y + self.rng.normal(0.0, self.noise_sd, size=y.shape)
        return y

    def fourier(self):
        return dict(zip(self.terms, self.coefs.tolist()))


def all_masks(n):
    idx = np.arange(1 << n)
    return ((idx[:, None] >> np.arange(n)) & 1).astype(bool)


def brute_force_fourier(f, n):
    """Full Walsh-Hadamard transform by enumeration: {support: F(S)} for every S."""
    masks = all_masks(n)
    y = np.asarray(f(masks), dtype=float)
    signs = 1 - 2 * ((masks.astype(int) @ masks.astype(int).T) % 2)  # chi_S(m) for S, m
    coefs = signs @ y / (1 << n)
    return {tuple(np.flatnonzero(s).tolist()): c for s, c in zip(masks, coefs)}


def r2(y, yhat):
    return 1.0 - np.sum((y - yhat) ** 2) / np.sum((y - np.mean(y)) ** 2)
