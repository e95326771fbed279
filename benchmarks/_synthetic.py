"""Synthetic sparse Fourier set functions for the engine benchmark (numpy only).

This is the benchmark's own generator. It follows the conventions, seeds and noise model of
``shared/bench/synthetic.py`` exactly (``engine_benchmark.py --selfcheck`` proves it value for
value against that file, which is never imported by the project).

Masks: a length-n 0/1 or bool vector, ``mask[i]`` true = feature i is **kept**.

Function::

    f(mask) = c_0 + sum_S c_S * (-1) ** |S ∩ removed(mask)|

k distinct supports, each of size d ~ Uniform{1..max_degree} over uniformly random features;
``c_S`` = random sign * Uniform[0.5, 1.5]; the constant is drawn the same way.

In the Fourier convention of the design (``f(m) = sum_S F(S) (-1)^{|S ∩ kept(m)|}``, which is
also the reference's ``F[k] (-1)^<k, m>``), ``F(S) = (-1)^|S| c_S`` and ``F(()) = c_0``.

Noise (:class:`NoisyOracle`): on every call, Gaussian noise with variance
``Var_empirical(noiseless values of that call) / 10 ** (snr_db / 10)``; ``snr_db=None`` is
noiseless.

Seeds of the benchmark, for s = 0, 1, 2: function ``s``, noise ``1000 + s``, held-out masks
``2**31 - 1 - s`` (10,000 uniform masks), scored by R² against the **noiseless** f.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

N_HELDOUT = 10_000


def function_seed(s: int) -> int:
    return int(s)


def noise_seed(s: int) -> int:
    return 1000 + int(s)


def heldout_seed(s: int) -> int:
    return 2**31 - 1 - int(s)


class SparseFourierFunction:
    """``f(mask) = c0 + sum_S c_S (-1)^|S ∩ removed(mask)|`` (mask true = kept)."""

    def __init__(
        self,
        n: int,
        supports: Sequence[Sequence[int]],
        coefs: Sequence[float],
        constant: float = 0.0,
    ):
        self.n = int(n)
        self.supports: list[tuple[int, ...]] = [tuple(sorted(int(i) for i in s)) for s in supports]
        self.coefs = np.asarray(coefs, dtype=float)
        self.constant = float(constant)
        if len(self.supports) != len(self.coefs):
            raise ValueError("supports and coefs must have the same length")
        if len(set(self.supports)) != len(self.supports):
            raise ValueError("supports must be distinct")
        groups: dict[int, list[int]] = {}
        for j, s in enumerate(self.supports):
            if len(s) == 0:
                raise ValueError("put the empty set into `constant`, not into supports")
            groups.setdefault(len(s), []).append(j)
        # grouped by degree, ascending, for vectorised evaluation (same order as shared/bench)
        self._group_arrays = [
            (np.array([self.supports[j] for j in idx], dtype=np.int64), self.coefs[idx])
            for _, idx in sorted(groups.items())
        ]

    @classmethod
    def random(
        cls,
        n: int,
        k: int,
        seed: int,
        max_degree: int = 5,
        coef_low: float = 0.5,
        coef_high: float = 1.5,
    ) -> SparseFourierFunction:
        """k distinct supports, |S| ~ U{1..max_degree}, c_S = sign * U[low, high], and c_0."""
        rng = np.random.default_rng(seed)
        supports: list[tuple[int, ...]] = []
        seen: set[tuple[int, ...]] = set()
        while len(supports) < k:
            d = int(rng.integers(1, max_degree + 1))
            s = tuple(sorted(int(i) for i in rng.choice(n, size=d, replace=False)))
            if s in seen:
                continue
            seen.add(s)
            supports.append(s)
        signs = rng.choice([-1.0, 1.0], size=k)
        mags = rng.uniform(coef_low, coef_high, size=k)
        c0 = float(rng.choice([-1.0, 1.0]) * rng.uniform(coef_low, coef_high))
        return cls(n, supports, signs * mags, constant=c0)

    def __call__(self, masks) -> np.ndarray:
        """masks: (N, n) array-like, nonzero / True = kept. Returns float64 (N,)."""
        X = np.asarray(masks)
        if X.ndim == 1:
            X = X[None, :]
        if X.shape[1] != self.n:
            raise ValueError(f"expected masks with {self.n} columns, got {X.shape}")
        Z = (X == 0).astype(np.int8)  # 1 where the feature is removed
        out = np.full(X.shape[0], self.constant, dtype=float)
        for idx, c in self._group_arrays:
            par = Z[:, idx].sum(axis=2, dtype=np.int64) & 1
            out += (1 - 2 * par).astype(float) @ c
        return out

    def fourier(self) -> dict[tuple[int, ...], float]:
        """Ground truth as ascending index tuples, convention ``(-1)^|S ∩ kept|``."""
        d: dict[tuple[int, ...], float] = {(): self.constant}
        for s, c in zip(self.supports, self.coefs):
            d[s] = float((-1) ** len(s) * c)
        return d

    def reference_fourier_dict(self) -> dict[tuple[int, ...], float]:
        """Ground truth keyed by length-n 0/1 tuples (the reference's keys)."""
        return {indices_to_indicator(k, self.n): v for k, v in self.fourier().items()}

    def signal_variance(self) -> float:
        return float(np.sum(self.coefs**2))


class NoisyOracle:
    """Value function wrapper: Gaussian noise at a target SNR per call; counts and times calls."""

    def __init__(self, fn: SparseFourierFunction, snr_db: float | None, seed: int):
        self.fn = fn
        self.snr_db = snr_db
        self.rng = np.random.default_rng(seed)
        self.n_calls = 0
        self.n_queries = 0
        self.time_in_fn = 0.0
        self.mask_dtypes: set[str] = set()
        self.mask_shapes: list[tuple[int, ...]] = []
        self._sig_sq = 0.0
        self._sig_sum = 0.0
        self._noise_sq = 0.0

    def __call__(self, masks) -> np.ndarray:
        t0 = time.perf_counter()
        X = np.asarray(masks)
        self.mask_dtypes.add(str(X.dtype))
        self.mask_shapes.append(tuple(X.shape))
        y = self.fn(X)
        if self.snr_db is not None and len(y) > 1:
            sigma = np.sqrt(np.var(y) / 10 ** (self.snr_db / 10))
            noise = self.rng.normal(0.0, sigma, size=y.shape)
        else:
            noise = np.zeros_like(y)
        self.n_calls += 1
        self.n_queries += len(y)
        self._sig_sum += float(np.sum(y))
        self._sig_sq += float(np.sum(y**2))
        self._noise_sq += float(np.sum(noise**2))
        out = y + noise
        self.time_in_fn += time.perf_counter() - t0
        return out

    def realized_snr_db(self) -> float:
        if self.n_queries == 0 or self._noise_sq == 0:
            return float("inf")
        mean = self._sig_sum / self.n_queries
        var = self._sig_sq / self.n_queries - mean**2
        return float(10 * np.log10(var / (self._noise_sq / self.n_queries)))


def random_masks(n: int, n_masks: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, size=(n_masks, n), dtype=np.int8)


def indices_to_indicator(key: Sequence[int], n: int) -> tuple[int, ...]:
    v = [0] * n
    for i in key:
        v[int(i)] = 1
    return tuple(v)


def indicator_to_indices(key: Sequence[int]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.flatnonzero(np.asarray(key)))


def eval_fourier_dict(fourier_dict, masks: np.ndarray) -> np.ndarray:
    """Evaluate ``sum_k F[k] (-1)^<k, x>`` with keys as length-n 0/1 tuples (reference keys)."""
    X = np.asarray(masks)
    out = np.zeros(X.shape[0], dtype=float)
    for key, val in fourier_dict.items():
        idx = np.flatnonzero(np.asarray(key))
        if idx.size == 0:
            out += float(np.real(val))
        else:
            par = X[:, idx].astype(np.int64).sum(axis=1) & 1
            out += float(np.real(val)) * (1 - 2 * par)
    return out


def eval_index_dict(fourier_dict, masks: np.ndarray) -> np.ndarray:
    """Evaluate ``sum_S F(S) (-1)^|S ∩ kept|`` with keys as ascending index tuples."""
    X = (np.asarray(masks) != 0).astype(np.int8)
    out = np.zeros(X.shape[0], dtype=float)
    by_degree: dict[int, list[tuple[tuple[int, ...], float]]] = {}
    for key, val in fourier_dict.items():
        by_degree.setdefault(len(key), []).append((tuple(key), float(np.real(val))))
    for d, items in by_degree.items():
        coef = np.array([v for _, v in items])
        if d == 0:
            out += coef.sum()
            continue
        idx = np.array([k for k, _ in items], dtype=np.int64)
        for lo in range(0, len(items), 256):
            par = X[:, idx[lo : lo + 256]].sum(axis=2, dtype=np.int64) & 1
            out += (1 - 2 * par).astype(float) @ coef[lo : lo + 256]
    return out


def r2_score(y: np.ndarray, yhat: np.ndarray) -> float:
    return float(1 - np.sum((y - yhat) ** 2) / np.sum((y - y.mean()) ** 2))


def r2_on_heldout(
    fourier_dict, fn: SparseFourierFunction, n_test: int = N_HELDOUT, seed: int = 12345
) -> float:
    """R² of a reference-keyed Fourier dict against the noiseless fn (as shared/bench)."""
    X = random_masks(fn.n, n_test, seed)
    return r2_score(fn(X), eval_fourier_dict(fourier_dict, X))


def r2_index_dict(
    fourier_dict, fn: SparseFourierFunction, n_test: int = N_HELDOUT, seed: int = 12345
) -> float:
    """R² of an index-tuple Fourier dict against the noiseless fn on the same held-out masks."""
    X = random_masks(fn.n, n_test, seed)
    return r2_score(fn(X), eval_index_dict(fourier_dict, X))


def count_true_terms(found_keys, fn: SparseFourierFunction) -> int:
    """How many of the k + 1 true terms (constant included) are among the found index tuples."""
    truth = set(fn.fourier())
    return sum(1 for key in found_keys if tuple(key) in truth)


def bch_parity_length(n: int, t: int = 5) -> int:
    """Parity length P of the narrow-sense primitive BCH code the reference uses for (n, t).

    The reference takes the smallest m with ``dim BCH(2^m - 1, 2t + 1) >= n``; ``P = 2^m - 1 -
    dim``. Computed here from cyclotomic cosets (no galois needed): P is the degree of the
    generator polynomial, the size of the union of the cyclotomic cosets of 1..2t mod 2^m - 1.
    """
    d = 2 * t + 1
    m = int(np.ceil(np.log2(d + 1)))
    while m < 20:
        nc = 2**m - 1
        roots: set[int] = set()
        for i in range(1, 2 * t + 1):
            x = i % nc
            while x not in roots:
                roots.add(x)
                x = (2 * x) % nc
        if nc - len(roots) >= n:
            return len(roots)
        m += 1
    raise ValueError("n too large")


def reference_sample_count(n: int, b: int, t: int = 5, num_subsample: int = 3) -> int:
    """The reference's query count for b: ``3 (P + 1) 2^b`` (its ``get_num_samples``)."""
    return num_subsample * (bch_parity_length(n, t) + 1) * 2**b
