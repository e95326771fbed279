"""Bucket transforms, noise-aware thresholds and the peeling loop over groups."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _kernels
from .bch import BCHCode

__all__ = ["Decoder", "bucket_transform", "chase_patterns", "PeelResult"]

# z-score of the chi-square thresholds (zero-ton energy and singleton residual)
_Z_THRESHOLD = 3.0
# smallest normalised correlation between two buckets tried as holding the same term
_RHO_MIN = 0.3


def chase_patterns(n_chase: int) -> np.ndarray:
    """Flip patterns over the ``n_chase`` least reliable bits, fewest flips first."""
    pats = np.arange(1 << n_chase, dtype=np.int64)
    weight = np.array([bin(int(p)).count("1") for p in pats])
    return pats[np.argsort(weight, kind="stable")]


def bucket_transform(values: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """``U[c, p, j] = 2^-b sum_l f(M_c l XOR d_p) (-1)^<l, j>`` for one output.

    ``values`` holds one value per distinct mask; ``inverse`` maps the design to them.
    """
    big_u = np.ascontiguousarray(values[inverse], dtype=np.float64)
    n_groups, n1, n_buckets = big_u.shape
    flat = big_u.reshape(n_groups * n1, n_buckets)
    _kernels.fwht(flat)
    flat /= n_buckets
    return big_u


@dataclass
class PeelResult:
    """Terms found by one peeling run (supports padded with -1)."""

    supports: np.ndarray
    degrees: np.ndarray
    coefs: np.ndarray
    n_multitons: int
    residual: np.ndarray

    def terms(self) -> list[tuple[int, ...]]:
        return [tuple(int(i) for i in s[:d]) for s, d in zip(self.supports, self.degrees)]


class Decoder:
    """Everything the kernels need about a code and a design, precomputed once."""

    def __init__(self, code: BCHCode, hashcols: np.ndarray, max_degree: int, n_chase: int):
        self.code = code
        self.hashcols = np.ascontiguousarray(hashcols, dtype=np.int64)
        self.max_degree = int(max_degree)
        self.n_chase = int(n_chase)
        n_parity = code.n_parity
        words = max(1, (n_parity + 63) // 64)
        dp = np.zeros((code.n, words), dtype=np.uint64)
        for p in range(n_parity):
            dp[:, p >> 6] |= code.parity_matrix[p].astype(np.uint64) << np.uint64(p & 63)
        self.dpacked = dp
        two_t = 2 * code.t
        j = np.arange(1, two_t + 1)
        self.syn_unit = code.exp[(np.arange(n_parity)[:, None] * j[None, :]) % code.field_order]
        self.syn_unit = np.ascontiguousarray(self.syn_unit, dtype=np.int64)
        self.syn_ones = np.bitwise_xor.reduce(self.syn_unit, axis=0).astype(np.int64)
        self.patterns = chase_patterns(self.n_chase)

    def noise_floor(self, big_u: np.ndarray, scale: float) -> float:
        """Per-bucket-value noise variance from the lower quantile of bucket energies.

        Zero-ton buckets hold pure noise, so the energies ``sum_p U_p^2 / (P + 1)`` of the
        quietest buckets estimate ``sigma^2 / 2^b``. ``scale`` sets a floor relative to the
        signal so that noiseless runs tolerate round-off."""
        n1 = big_u.shape[1]
        e = np.einsum("cpj,cpj->cj", big_u, big_u).ravel() / n1
        q = float(np.quantile(e, 0.1))
        # 10% quantile of chi2_{n1} / n1 (Wilson-Hilferty)
        k = float(n1)
        ratio = (1 - 2 / (9 * k) - 1.2816 * np.sqrt(2 / (9 * k))) ** 3
        return max(q / max(ratio, 0.05), (1e-12 * scale) ** 2)

    def thresholds(self, var_bucket: float, n1: int) -> tuple[float, float]:
        zero = var_bucket * (n1 + _Z_THRESHOLD * np.sqrt(2.0 * n1))
        resid = var_bucket * ((n1 - 1) + _Z_THRESHOLD * np.sqrt(2.0 * (n1 - 1)))
        return float(zero), float(resid)

    def peel(
        self,
        big_u: np.ndarray,
        var_bucket: float,
        max_terms: int | None = None,
        max_rounds: int = 64,
    ) -> PeelResult:
        """Run the peeling decoder on a copy of ``big_u`` with noise variance ``var_bucket``.

        Peeling alternates with a cross-group pass: when it stalls, the unexplained buckets
        of two groups that hold the same weak term are strongly correlated; their aligned
        sum has twice the signal-to-noise ratio per delay sign, and decodes where each alone
        does not. A candidate must hash to both buckets."""
        work = np.array(big_u, dtype=np.float64, copy=True, order="C")
        n_groups, n1, n_buckets = work.shape
        if max_terms is None:
            max_terms = 2 * n_groups * n_buckets
        thr_zero, thr_resid = self.thresholds(var_bucket, n1)
        t = self.code.t
        terms: dict[tuple[int, ...], float] = {}
        n_multi = 0
        # a round must remove more than one bucket's noise energy, or peeling stops: terms
        # it cannot subtract (zero coefficients, a cross-group candidate peeled back) would
        # otherwise loop until max_rounds
        progress_floor = var_bucket * n1
        energy = float(np.einsum("cpj,cpj->", work, work))
        for _ in range(max_rounds):
            sup, deg, coef, n_multi = self._peel_kernel(
                work, thr_zero, thr_resid, max_terms, max_rounds
            )
            for q in range(len(deg)):
                k = tuple(int(i) for i in sup[q, : deg[q]])
                terms[k] = terms.get(k, 0.0) + float(coef[q])
            if n_groups < 2 or len(terms) >= max_terms:
                break
            added = self._cross_group(work, var_bucket, thr_zero, terms)
            left = float(np.einsum("cpj,cpj->", work, work))
            if not added or energy - left <= progress_floor:
                break
            energy = left
        supports = np.full((len(terms), max(t, 1)), -1, dtype=np.int64)
        degrees = np.zeros(len(terms), dtype=np.int64)
        for q, k in enumerate(terms):
            supports[q, : len(k)] = k
            degrees[q] = len(k)
        coefs = np.fromiter(terms.values(), dtype=np.float64, count=len(terms))
        return PeelResult(supports, degrees, coefs, max(n_multi, 0), work)

    def _peel_kernel(self, work, thr_zero, thr_resid, max_terms, max_rounds):
        t = self.code.t
        supports = np.full((max_terms, max(t, 1)), -1, dtype=np.int64)
        degrees = np.zeros(max_terms, dtype=np.int64)
        coefs = np.zeros(max_terms, dtype=np.float64)
        code = self.code
        n_terms, n_multi = _kernels.peel(
            work,
            self.hashcols,
            self.dpacked,
            code.n,
            code.exp,
            code.log,
            code.field_order,
            t,
            self.max_degree,
            self.patterns,
            self.n_chase,
            self.syn_unit,
            self.syn_ones,
            thr_zero,
            thr_resid,
            max_terms,
            max_rounds,
            supports,
            degrees,
            coefs,
        )
        return supports[:n_terms], degrees[:n_terms], coefs[:n_terms], n_multi

    def _cross_group(self, work, var_bucket, thr_zero, terms) -> int:
        """Decode aligned sums of correlated unexplained buckets from pairs of groups."""
        n_groups, n1, n_buckets = work.shape
        energy = np.einsum("cpj,cpj->cj", work, work)
        active = [np.flatnonzero(energy[c] > thr_zero) for c in range(n_groups)]
        # the sum of two buckets carries twice the noise variance
        _, thr_pair = self.thresholds(2.0 * var_bucket, n1)
        code = self.code
        supp = np.empty(max(code.t, 1), dtype=np.int64)
        dirty = np.zeros((n_groups, n_buckets), dtype=np.bool_)
        added = 0
        for c1 in range(n_groups):
            for c2 in range(c1 + 1, n_groups):
                a_idx, b_idx = active[c1], active[c2]
                if a_idx.size == 0 or b_idx.size == 0:
                    continue
                ua = work[c1][:, a_idx]
                ub = work[c2][:, b_idx]
                rho = (ua.T @ ub) / np.sqrt(np.outer(energy[c1, a_idx], energy[c2, b_idx]))
                for ia, ib in zip(*np.nonzero(rho > _RHO_MIN)):
                    ja, jb = int(a_idx[ia]), int(b_idx[ib])
                    u = work[c1, :, ja] + work[c2, :, jb]
                    deg, coef, _, ok = _kernels.decode_bucket(
                        u,
                        ja,
                        self.hashcols[c1],
                        self.dpacked,
                        code.n,
                        code.exp,
                        code.log,
                        code.field_order,
                        code.t,
                        self.max_degree,
                        self.patterns,
                        self.n_chase,
                        self.syn_unit,
                        self.syn_ones,
                        thr_pair,
                        supp,
                    )
                    if deg < 0 or not ok:
                        continue
                    h = 0
                    for i in supp[:deg]:
                        h ^= int(self.hashcols[c2, i])
                    if h != jb:
                        continue
                    k = tuple(int(i) for i in supp[:deg])
                    coef = coef / 2.0
                    terms[k] = terms.get(k, 0.0) + coef
                    _kernels.subtract_term(
                        work, supp, deg, coef, self.hashcols, self.dpacked, dirty
                    )
                    added += 1
                energy = np.einsum("cpj,cpj->cj", work, work)
                active = [np.flatnonzero(energy[c] > thr_zero) for c in range(n_groups)]
        return added

    def signatures(self, supports: np.ndarray, degrees: np.ndarray) -> np.ndarray:
        """``(K, P + 1)`` signs ``(-1)^<d_p, k>`` of every term (p = 0 is the plain bucket)."""
        code = self.code
        padded = np.concatenate(
            [code.parity_matrix, np.zeros((code.n_parity, 1), np.uint8)], axis=1
        )
        sup = np.where(np.arange(supports.shape[1])[None, :] < degrees[:, None], supports, code.n)
        bits = np.bitwise_xor.reduce(padded[:, sup], axis=2).T  # (K, P)
        signs = np.ones((supports.shape[0], code.n_parity + 1))
        signs[:, 1:] = 1.0 - 2.0 * bits
        return signs

    def bucket_of(self, supports: np.ndarray, degrees: np.ndarray) -> np.ndarray:
        """``(C, K)`` bucket index of every term in every group."""
        hc = np.concatenate(
            [self.hashcols, np.zeros((self.hashcols.shape[0], 1), np.int64)], axis=1
        )
        sup = np.where(
            np.arange(supports.shape[1])[None, :] < degrees[:, None], supports, self.code.n
        )
        return np.bitwise_xor.reduce(hc[:, sup], axis=2)
