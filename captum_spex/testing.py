"""Planted sparse Fourier functions and brute-force transforms for tests, demos and benchmarks.

numpy only, and nothing else from ``captum_spex``: a benchmark can load this file by path where
the package is not installed (``benchmarks/reference_runner.py``).

A mask is a length-``n`` 0/1 or bool vector, true = the feature is kept. A Fourier expansion is
a dict ``{S: F(S)}`` of ascending index tuples (``()``: the constant), meaning
``f(m) = sum_S F(S) (-1)^{|S ∩ kept(m)|}``; every evaluation goes through
:func:`fourier_values`. :class:`Planted` draws ``F(S)`` directly (tests, ``python -m
captum_spex.demo``); :class:`SparseFourierFunction` and :class:`NoisyOracle` are the engine
benchmark's workloads, value for value those of ``shared/bench/synthetic.py``. Both draw ``k``
distinct supports with ``|S| ~ U{1..max_degree}`` and coefficients ``±U[0.5, 1.5]``.

Examples
--------
>>> import numpy as np
>>> from captum_spex.testing import Planted, brute_force_fourier
>>> f = Planted(3, [(), (0,), (0, 2)], [0.5, 1.0, -2.0])
>>> f(np.array([[1, 1, 1], [0, 0, 0]], dtype=bool)).tolist()
[-2.5, -0.5]
>>> {s: round(c, 12) for s, c in brute_force_fourier(f, 3).items() if abs(c) > 1e-12}
{(): 0.5, (0,): 1.0, (0, 2): -2.0}
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "N_HELDOUT",
    "Planted",
    "SparseFourierFunction",
    "NoisyOracle",
    "fourier_values",
    "brute_force_fourier",
    "all_masks",
    "random_masks",
    "r2_score",
    "r2_on_heldout",
    "r2_index_dict",
    "eval_fourier_dict",
    "indicator_to_indices",
    "count_true_terms",
    "function_seed",
    "noise_seed",
    "heldout_seed",
    "bch_parity_length",
    "reference_sample_count",
]

N_HELDOUT = 10_000
_CHUNK = 256  # terms per block of one degree: bounds the (masks, terms, degree) temporary

_Support = tuple[int, ...]
_Blocks = list[tuple[np.ndarray, np.ndarray]]


# ------------------------------------------------------------------------------ evaluation
def _blocks(terms, coefs: Iterable[float], by_degree: bool, chunk: int | None = _CHUNK) -> _Blocks:
    """``(indices (m, d), coefficients (m,))`` blocks in summation order: by degree, ascending
    (order kept inside a degree; at most ``chunk`` terms a block, ``None``: no limit), or with
    ``by_degree=False`` one block per term."""
    terms = [tuple(int(i) for i in t) for t in terms]
    coefs = np.asarray(list(coefs), dtype=float)
    if not by_degree:
        return [(np.array([t], dtype=np.int64), coefs[j : j + 1]) for j, t in enumerate(terms)]
    groups: dict[int, list[int]] = {}
    for j, t in enumerate(terms):
        groups.setdefault(len(t), []).append(j)
    blocks = []
    for d, idx in sorted(groups.items()):
        step = chunk or len(idx)
        for lo in range(0, len(idx), step):
            part = idx[lo : lo + step]
            rows = np.array([terms[j] for j in part], dtype=np.int64).reshape(len(part), d)
            blocks.append((rows, coefs[part]))
    return blocks


def _evaluate(masks, blocks: _Blocks) -> np.ndarray:
    """``sum_S F(S) (-1)^{|S ∩ kept|}`` over prepared blocks: the one parity evaluation."""
    kept = (np.atleast_2d(np.asarray(masks)) != 0).astype(np.int8)
    out = np.zeros(kept.shape[0], dtype=float)
    for idx, c in blocks:
        par = kept[:, idx].sum(axis=2, dtype=np.int64) & 1
        out += (1 - 2 * par).astype(float) @ c
    return out


def fourier_values(masks, fourier: Mapping[Sequence[int], float], *, by_degree: bool = True):
    """Evaluate a Fourier expansion on masks.

    Parameters
    ----------
    masks : array-like of shape (N, n) or (n,)
        Nonzero / True = the feature is kept.
    fourier : mapping
        ``{support: F(S)}``, supports as index tuples; complex values count by their real part.
    by_degree : bool, default True
        Sum degree by degree (fast); False sums term by term in the mapping's order.

    Returns
    -------
    numpy.ndarray of shape (N,)

    Examples
    --------
    >>> fourier_values([[1, 0], [1, 1]], {(): 1.0, (0, 1): 2.0}).tolist()
    [-1.0, 3.0]
    """
    values = [float(np.real(v)) for v in fourier.values()]
    return _evaluate(masks, _blocks(list(fourier), values, by_degree))


def _random_supports(rng: np.random.Generator, n: int, k: int, max_degree: int) -> list[_Support]:
    """``k`` distinct supports, ``|S| ~ U{1..max_degree}``, uniform features (the draw order
    of ``shared/bench/synthetic.py``)."""
    supports: list[_Support] = []
    seen: set[_Support] = set()
    while len(supports) < k:
        d = int(rng.integers(1, max_degree + 1))
        s = tuple(sorted(int(i) for i in rng.choice(n, size=d, replace=False)))
        if s not in seen:
            seen.add(s)
            supports.append(s)
    return supports


# ------------------------------------------------------------------------------ planted
class Planted:
    """A value function ``f(m) = sum_S F(S) (-1)^{|S ∩ kept(m)|} + noise`` with known ``F``.

    Parameters
    ----------
    n : int
        Number of features.
    terms, coefs : sequences
        The supports ``S`` (``()``: the constant) and their ``F(S)``.
    noise_sd, seed : float, int, default 0.0, 0
        Standard deviation and seed of the Gaussian noise added on every call.

    Attributes ``calls`` and ``n_masks`` count the calls and the masks evaluated in them.

    Examples
    --------
    >>> f = Planted.random(8, 3, max_degree=2, seed=0)
    >>> len(f.terms), f.terms[0]
    (4, ())
    >>> masks = all_masks(8)
    >>> bool(np.array_equal(f(masks), f.exact(masks))), f.calls, f.n_masks
    (True, 1, 256)
    """

    def __init__(self, n, terms, coefs, noise_sd=0.0, seed=0):
        self.n = n
        self.terms = [tuple(sorted(t)) for t in terms]
        self.coefs = np.asarray(coefs, dtype=float)
        self.noise_sd = noise_sd
        self.rng = np.random.default_rng(seed)
        self.calls = self.n_masks = 0
        self._blocks = _blocks(self.terms, self.coefs, by_degree=False)

    @classmethod
    def random(
        cls, n, k, max_degree=5, seed=0, snr_db=None, *, constant=True, noise_seed=None
    ) -> Planted:
        """``k`` random terms of degree ``1..max_degree``, ``F(S) = ±U[0.5, 1.5]``.

        Parameters
        ----------
        n, k, max_degree, seed : int
            Features, non-constant terms, largest degree, seed of the function.
        snr_db : float, optional
            Noise at this SNR (signal: the power of the non-constant terms).
        constant, noise_seed : bool, int, optional
            Also plant a constant (its coefficient drawn first); seed of the noise
            (default ``1000 + seed``).

        Examples
        --------
        >>> f = Planted.random(1000, 150, seed=0, snr_db=10, constant=False)
        >>> len(f.terms), round(f.noise_sd, 3)
        (150, 3.872)
        """
        rng = np.random.default_rng(seed)
        terms = _random_supports(rng, n, k, max_degree)
        m = k + 1 if constant else k
        coefs = rng.choice([-1.0, 1.0], size=m) * rng.uniform(0.5, 1.5, size=m)
        noise_sd = 0.0
        if snr_db is not None:
            signal = coefs[1:] if constant else coefs
            noise_sd = float(np.sqrt(np.sum(signal**2) / 10 ** (snr_db / 10)))
        terms = [()] + terms if constant else terms
        seed_noise = 1000 + seed if noise_seed is None else noise_seed
        return cls(n, terms, coefs, noise_sd=noise_sd, seed=seed_noise)

    def exact(self, masks) -> np.ndarray:
        """The noiseless values on ``masks`` (N, n); counts no call."""
        return _evaluate(masks, self._blocks)

    def __call__(self, masks) -> np.ndarray:
        self.calls += 1
        self.n_masks += len(masks)
        y = self.exact(masks)
        if self.noise_sd:
            y = y + self.rng.normal(0.0, self.noise_sd, size=y.shape)
        return y

    def fourier(self) -> dict[_Support, float]:
        """The planted ``{S: F(S)}``."""
        return dict(zip(self.terms, self.coefs.tolist()))


def all_masks(n: int) -> np.ndarray:
    """All ``2^n`` masks as a bool (2^n, n) array; row ``i`` keeps the set bits of ``i``.

    Examples
    --------
    >>> all_masks(2).astype(int).tolist()
    [[0, 0], [1, 0], [0, 1], [1, 1]]
    """
    idx = np.arange(1 << n)
    return ((idx[:, None] >> np.arange(n)) & 1).astype(bool)


def brute_force_fourier(f: Callable[[np.ndarray], np.ndarray], n: int) -> dict[_Support, float]:
    """The full Walsh-Hadamard transform by enumeration: ``{S: F(S)}`` for all ``2^n`` sets.

    Examples
    --------
    >>> F = brute_force_fourier(lambda m: m[:, 0] * 1.0, 2)  # f = [feature 0 kept]
    >>> F
    {(): 0.5, (0,): -0.5, (1,): 0.0, (0, 1): 0.0}
    """
    masks = all_masks(n)
    y = np.asarray(f(masks), dtype=float)
    signs = 1 - 2 * ((masks.astype(int) @ masks.astype(int).T) % 2)  # chi_S(m) for S, m
    coefs = signs @ y / (1 << n)
    return {tuple(np.flatnonzero(s).tolist()): c for s, c in zip(masks, coefs.tolist())}


def r2_score(y, yhat) -> float:
    """``1 - ||y - yhat||^2 / ||y - mean(y)||^2``.

    Examples
    --------
    >>> r2_score([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
    0.5
    """
    y, yhat = np.asarray(y, dtype=float), np.asarray(yhat, dtype=float)
    return float(1 - np.sum((y - yhat) ** 2) / np.sum((y - y.mean()) ** 2))


def count_true_terms(found_keys: Iterable[Sequence[int]], fn) -> int:
    """How many of ``fn.fourier()``'s supports (constant included) are among ``found_keys``."""
    truth = set(fn.fourier())
    return sum(1 for key in found_keys if tuple(key) in truth)


# ------------------------------------------------------------------------------ benchmark
def function_seed(s: int) -> int:
    """Seed of run ``s``'s benchmark function: ``s``."""
    return int(s)


def noise_seed(s: int) -> int:
    """Seed of run ``s``'s benchmark noise: ``1000 + s``."""
    return 1000 + int(s)


def heldout_seed(s: int) -> int:
    """Seed of run ``s``'s held-out masks: ``2**31 - 1 - s``."""
    return 2**31 - 1 - int(s)


class SparseFourierFunction:
    """The benchmark function ``f(m) = c_0 + sum_S c_S (-1)^{|S ∩ removed(m)|}``.

    Parameters
    ----------
    n : int
        Number of features.
    supports, coefs : sequences
        Distinct non-empty supports ``S`` and their ``c_S``.
    constant : float, default 0.0
        ``c_0``. The Fourier coefficients are ``F(S) = (-1)^{|S|} c_S`` and ``F(()) = c_0``.

    Examples
    --------
    >>> fn = SparseFourierFunction.random(64, 50, seed=function_seed(0))
    >>> len(fn.supports), fn.fourier()[()] == fn.constant
    (50, True)
    >>> X = random_masks(64, 1000, heldout_seed(0))
    >>> bool(np.allclose(fn(X), fourier_values(X, fn.fourier())))
    True
    """

    def __init__(self, n: int, supports, coefs, constant: float = 0.0):
        self.n = int(n)
        self.supports: list[_Support] = [tuple(sorted(int(i) for i in s)) for s in supports]
        self.coefs = np.asarray(coefs, dtype=float)
        self.constant = float(constant)
        if len(self.supports) != len(self.coefs):
            raise ValueError("supports and coefs must have the same length")
        if len(set(self.supports)) != len(self.supports):
            raise ValueError("supports must be distinct")
        if any(len(s) == 0 for s in self.supports):
            raise ValueError("put the empty set into `constant`, not into supports")
        # whole degrees, ascending, constant first: the sums of shared/bench/synthetic.py
        # exactly (the sign flips to the kept convention are exact)
        four = self.fourier()
        self._blocks = _blocks(list(four), four.values(), by_degree=True, chunk=None)

    @classmethod
    def random(cls, n, k, seed, max_degree=5, coef_low=0.5, coef_high=1.5) -> SparseFourierFunction:
        """``k`` supports, ``c_S = ±U[coef_low, coef_high]``, then ``c_0`` drawn the same way."""
        rng = np.random.default_rng(seed)
        supports = _random_supports(rng, n, k, max_degree)
        signs = rng.choice([-1.0, 1.0], size=k)
        mags = rng.uniform(coef_low, coef_high, size=k)
        c0 = float(rng.choice([-1.0, 1.0]) * rng.uniform(coef_low, coef_high))
        return cls(n, supports, signs * mags, constant=c0)

    def __call__(self, masks) -> np.ndarray:
        """Values on ``masks`` (N, n) or (n,), nonzero / True = kept; float64 (N,)."""
        X = np.atleast_2d(np.asarray(masks))
        if X.shape[1] != self.n:
            raise ValueError(f"expected masks with {self.n} columns, got {X.shape}")
        return _evaluate(X, self._blocks)

    def fourier(self) -> dict[_Support, float]:
        """Ground truth ``{S: F(S)}`` with ``F(S) = (-1)^{|S|} c_S`` and ``F(()) = c_0``."""
        d: dict[_Support, float] = {(): self.constant}
        for s, c in zip(self.supports, self.coefs):
            d[s] = float((-1) ** len(s) * c)
        return d

    def reference_fourier_dict(self) -> dict[tuple[int, ...], float]:
        """Ground truth keyed by length-n 0/1 tuples (the reference's keys)."""
        keys = np.zeros((len(self.supports) + 1, self.n), dtype=int)
        for row, s in enumerate(self.fourier()):
            keys[row, list(s)] = 1
        return dict(zip(map(tuple, keys.tolist()), self.fourier().values()))


class NoisyOracle:
    """Wraps a function: Gaussian noise at ``snr_db`` per call; counts and times the calls.

    Each call adds noise of variance ``Var(noiseless values of the call) / 10^(snr_db / 10)``
    (none for ``snr_db=None``).

    Examples
    --------
    >>> fn = SparseFourierFunction.random(16, 5, seed=0)
    >>> oracle = NoisyOracle(fn, 10.0, noise_seed(0))
    >>> y = oracle(random_masks(16, 4000, 1))
    >>> oracle.n_calls, oracle.n_queries, round(oracle.realized_snr_db())
    (1, 4000, 10)
    """

    def __init__(self, fn: SparseFourierFunction, snr_db: float | None, seed: int):
        self.fn = fn
        self.snr_db = snr_db
        self.rng = np.random.default_rng(seed)
        self.n_calls = self.n_queries = 0
        self.time_in_fn = 0.0
        self.mask_dtypes: set[str] = set()
        self._sig_sq = self._sig_sum = self._noise_sq = 0.0

    def __call__(self, masks) -> np.ndarray:
        t0 = time.perf_counter()
        X = np.asarray(masks)
        self.mask_dtypes.add(str(X.dtype))
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
        """The SNR over all queries so far (``inf`` without noise)."""
        if self.n_queries == 0 or self._noise_sq == 0:
            return float("inf")
        mean = self._sig_sum / self.n_queries
        var = self._sig_sq / self.n_queries - mean**2
        return float(10 * np.log10(var / (self._noise_sq / self.n_queries)))


def random_masks(n: int, n_masks: int, seed: int) -> np.ndarray:
    """``n_masks`` uniform random 0/1 masks, int8 (n_masks, n)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, size=(n_masks, n), dtype=np.int8)


def indicator_to_indices(key: Sequence[int]) -> _Support:
    """``(1, 0, 1, 0) -> (0, 2)``: a reference key as an index tuple."""
    return tuple(int(i) for i in np.flatnonzero(np.asarray(key)))


def eval_fourier_dict(fourier_dict, masks) -> np.ndarray:
    """:func:`fourier_values` of a reference-keyed dict, term by term as the reference sums.

    Examples
    --------
    >>> eval_fourier_dict({(0, 0): 1.0, (1, 1): 2.0}, [[1, 0], [1, 1]]).tolist()
    [-1.0, 3.0]
    """
    keyed = {indicator_to_indices(k): v for k, v in fourier_dict.items()}
    return fourier_values(masks, keyed, by_degree=False)


def r2_on_heldout(fourier_dict, fn, n_test: int = N_HELDOUT, seed: int = 12345) -> float:
    """R² of a reference-keyed Fourier dict against the noiseless ``fn`` on uniform masks."""
    X = random_masks(fn.n, n_test, seed)
    return r2_score(fn(X), eval_fourier_dict(fourier_dict, X))


def r2_index_dict(fourier_dict, fn, n_test: int = N_HELDOUT, seed: int = 12345) -> float:
    """R² of an ``{S: F(S)}`` dict against the noiseless ``fn`` on the same held-out masks."""
    X = random_masks(fn.n, n_test, seed)
    return r2_score(fn(X), fourier_values(X, fourier_dict))


def bch_parity_length(n: int, t: int = 5) -> int:
    """Parity length ``P`` of the primitive BCH code the reference SPEX uses for ``(n, t)``.

    The smallest ``m`` with ``dim BCH(2^m - 1, 2t + 1) >= n``; ``P`` is the generator's
    degree, the size of the union of the cyclotomic cosets of ``1..2t`` modulo ``2^m - 1``.

    Examples
    --------
    >>> bch_parity_length(1000), bch_parity_length(64)
    (55, 35)
    """
    m = int(np.ceil(np.log2(2 * t + 2)))
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
    """The reference's query count ``3 (P + 1) 2^b`` for sparsity parameter ``b``.

    Examples
    --------
    >>> reference_sample_count(1000, 8), reference_sample_count(1000, 7)
    (43008, 21504)
    """
    return num_subsample * (bch_parity_length(n, t) + 1) * 2**b
