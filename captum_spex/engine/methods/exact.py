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


def uses_exact(n_features: int, n_samples: int) -> bool:
    """Whether ``spex()`` evaluates all ``2^n`` masks (the exact transform) at this budget."""
    return n_features <= 30 and (1 << n_features) <= usable_budget(n_samples, n_features)


class ExactMethod(Method):
    """All ``2^n`` masks and a fast Walsh-Hadamard transform.

    Chosen automatically, whatever ``method`` was asked for, when ``2^n <= n_samples``. Up
    to ``EXACT_FULL_MAX_N`` features every order is kept, so that Shapley and Banzhaf values
    (and every index) are exact; beyond, the conversions would scatter ``3^n`` subsets and
    the transform is truncated to ``max_degree`` (the best approximation of that degree
    under uniform masks), its lost energy reported in the diagnostics.
    """

    name = "exact"
    description = "all 2^n masks and the full transform (automatic when 2^n <= n_samples)"
    selectable = False
    progress_label = "SPEX queries"

    def plan(self, n_features, n_samples, max_degree, seed, options) -> Plan:
        idx = np.arange(1 << n_features, dtype=np.int64)
        masks = ((idx[:, None] >> np.arange(n_features)) & 1).astype(bool)
        return Plan(n_features, n_samples, max_degree, seed, masks, dict(options))

    def run(self, plan: Plan, query: Query, show_progress: bool) -> MethodResult:
        n = plan.n_features
        values = query(plan.masks)
        t0 = time.perf_counter()
        coefs = np.ascontiguousarray(values.T)
        _kernels.fwht(coefs)
        coefs /= 1 << n
        idx = np.arange(1 << n, dtype=np.int64)
        degree = sum((idx >> r) & 1 for r in range(n))
        max_degree = n if n <= EXACT_FULL_MAX_N else plan.max_degree
        scale = float(np.abs(coefs).max()) if coefs.size else 0.0
        keep = (degree <= max_degree) & (np.abs(coefs).max(axis=0) > 1e-13 * max(scale, 1e-300))
        keep[0] = True
        kept = np.flatnonzero(keep)
        terms = [tuple(int(i) for i in np.flatnonzero((k >> np.arange(n)) & 1)) for k in kept]
        truncated = float(np.sum(coefs[:, degree > max_degree] ** 2))
        total = float(np.sum(coefs[:, 1:] ** 2))
        diagnostics = {
            "mode": "exact",
            "truncated_energy": truncated,
            # exact: the only loss is a truncation to max_degree (none up to 16 features)
            "r2_estimate": 1.0 - truncated / total if total > 0 else 1.0,
            "returned_degree": int(max_degree),
            "decode_seconds": time.perf_counter() - t0,
            "n_terms": len(terms),
        }
        return MethodResult(terms, coefs[:, kept].T, plan.masks.shape[0], diagnostics, max_degree)
