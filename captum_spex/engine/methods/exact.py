"""The exact transform: all ``2^n`` masks, when the budget affords them."""

from __future__ import annotations

import time

import numpy as np

from .. import _kernels
from ..design import usable_budget
from ._base import Method, MethodResult, Plan, Query

__all__ = ["ExactMethod", "uses_exact"]

# up to this many features every order of the transform is returned
EXACT_FULL_MAX_N = 16
# beyond 2^_CHUNK_LOG masks, the masks are built and queried this many at a time (and the
# plan holds none): at n = 24 the bool masks alone would take 400 MB
_CHUNK_LOG = 20


def uses_exact(n_features: int, n_samples: int) -> bool:
    """Whether ``spex()`` evaluates all ``2^n`` masks (the exact transform) at this budget."""
    return n_features <= 30 and (1 << n_features) <= usable_budget(n_samples, n_features)


def _masks(n: int, start: int, stop: int) -> np.ndarray:
    """Masks ``start .. stop - 1`` in binary counting order (bit ``r`` = feature ``r``),
    ``(stop - start, n)`` bool, without a ``(rows, n)`` int64 temporary."""
    idx = np.arange(start, stop, dtype=np.uint32)
    masks = np.empty((idx.size, n), dtype=bool)
    for r in range(n):
        masks[:, r] = (idx >> np.uint32(r)) & np.uint32(1)
    return masks


def _degrees(n: int) -> np.ndarray:
    """``popcount(k)`` for ``k < 2^n``, uint8."""
    idx = np.arange(1 << n, dtype=np.uint32)
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(idx).astype(np.uint8, copy=False)
    deg = np.zeros(idx.size, dtype=np.uint8)
    for r in range(n):
        deg += ((idx >> np.uint32(r)) & np.uint32(1)).astype(np.uint8)
    return deg


class ExactMethod(Method):
    """All ``2^n`` masks and a fast Walsh-Hadamard transform.

    Chosen automatically, whatever ``method`` was asked for, when ``2^n <= n_samples``. Up
    to ``EXACT_FULL_MAX_N`` features every order is kept, so that Shapley and Banzhaf values
    (and every index) are exact; beyond, the conversions would scatter ``3^n`` subsets and
    the transform is truncated to ``max_degree`` (the best approximation of that degree
    under uniform masks), its lost energy reported in the diagnostics. Beyond ``2^20``
    masks they are built and queried in blocks of ``2^20``, so that the peak memory stays
    near the ``(n_outputs, 2^n)`` float64 coefficients (about 0.5 GB at n = 24).
    """

    name = "exact"
    description = "all 2^n masks and the full transform (automatic when 2^n <= n_samples)"
    selectable = False
    progress_label = "SPEX queries"

    def plan(self, n_features, n_samples, max_degree, seed, options) -> Plan:
        if n_features <= _CHUNK_LOG:
            masks = _masks(n_features, 0, 1 << n_features)
        else:  # built block by block in run()
            masks = np.zeros((0, n_features), dtype=bool)
        return Plan(n_features, n_samples, max_degree, seed, masks, dict(options))

    def planned_queries(self, plan: Plan) -> int:
        return 1 << plan.n_features

    def run(self, plan: Plan, query: Query, show_progress: bool) -> MethodResult:
        n = plan.n_features
        total = 1 << n
        coefs = _query_all(plan, query)
        t0 = time.perf_counter()
        _kernels.fwht(coefs)
        coefs /= total
        degree = _degrees(n)
        max_degree = n if n <= EXACT_FULL_MAX_N else plan.max_degree
        keep = np.zeros(total, dtype=bool)
        truncated = np.zeros(coefs.shape[0])
        energy = np.zeros(coefs.shape[0])
        scale = 0.0
        block = 1 << _CHUNK_LOG
        for start in range(0, total, block):  # no (n_outputs, 2^n) temporaries
            scale = max(scale, float(np.abs(coefs[:, start : start + block]).max()))
        for start in range(0, total, block):
            part = coefs[:, start : start + block]
            deg = degree[start : start + block]
            big = np.abs(part).max(axis=0) > 1e-13 * max(scale, 1e-300)
            keep[start : start + block] = (deg <= max_degree) & big
            truncated += np.einsum("ij,ij->i", part[:, deg > max_degree], part[:, deg > max_degree])
            energy += np.einsum("ij,ij->i", part[:, deg > 0], part[:, deg > 0])
        keep[0] = True
        kept = np.flatnonzero(keep)
        bits = np.zeros((kept.size, n), dtype=bool)
        for r in range(n):
            bits[:, r] = (kept >> r) & 1
        terms = [tuple(np.flatnonzero(row).tolist()) for row in bits]
        # exact: the only loss is a truncation to max_degree (none up to 16 features);
        # undefined (None) for a constant function
        r2 = [1.0 - t / e if e > 0 else None for t, e in zip(truncated.tolist(), energy.tolist())]
        single = len(r2) == 1
        diagnostics = {
            "mode": "exact",
            "truncated_energy": float(truncated[0]) if single else truncated.tolist(),
            "r2_estimate": r2[0] if single else r2,
            "returned_degree": int(max_degree),
            "decode_seconds": time.perf_counter() - t0,
            "n_terms": len(terms),
        }
        return MethodResult(terms, coefs[:, kept].T, total, diagnostics, max_degree)


def _query_all(plan: Plan, query: Query) -> np.ndarray:
    """The values of all ``2^n`` masks as a ``(n_outputs, 2^n)`` float64 array."""
    n = plan.n_features
    total = 1 << n
    if plan.masks.shape[0] == total:
        return np.ascontiguousarray(query(plan.masks).T, dtype=np.float64)
    coefs = None
    block = 1 << _CHUNK_LOG
    for start in range(0, total, block):
        values = query(_masks(n, start, start + block))
        if coefs is None:
            coefs = np.empty((values.shape[1], total), dtype=np.float64)
        coefs[:, start : start + block] = values.T
    return coefs
