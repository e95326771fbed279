"""Ridge least squares on parity features: choose the support size and penalty on held-out
masks, refit on every sample, prune to the noise floor.

Column 0 of every design here is the constant: never shrunk, never pruned.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ridge_solve", "refit_and_prune", "select_terms_and_ridge", "term_grid"]

# ridge penalties tried, in units of the number of fitted samples (a parity column has
# squared norm N, so lambda = a * N shrinks an isolated coefficient by 1 / (1 + a))
RIDGE_GRID = (1e-6, 1e-3, 1e-2, 1e-1)
# after the final refit, drop terms whose t-statistic is below this in every output
_PRUNE_T = 3.0
_PRUNE_ROUNDS = 3
# cap on the number of refitted terms chosen automatically (n_terms=None)
_MAX_AUTO_TERMS = 512


def ridge_solve(gram: np.ndarray, rhs: np.ndarray, lam: float) -> np.ndarray:
    """Solve ``(G + lam I') w = h`` with no penalty on column 0 (the constant)."""
    pen = np.full(gram.shape[0], lam)
    pen[0] = 0.0
    return np.linalg.solve(gram + np.diag(pen), rhs)


def refit_and_prune(xs, values, supports, degrees, a):
    """Ridge on every sample, then drop terms with ``|t| < 3`` in every output and refit.

    Returns the kept supports, degrees and their ``(K, O)`` coefficients."""
    n_all = xs.shape[0]
    floor = (1e-12 * (float(np.sqrt(np.mean(values**2))) or 1.0)) ** 2
    keep = np.arange(xs.shape[1])
    for rnd in range(_PRUNE_ROUNDS + 1):
        x = xs[:, keep]
        pen = np.full(keep.size, a * n_all)
        pen[0] = 0.0  # column 0 is the constant: never shrunk, never pruned
        gram_r = x.T @ x + np.diag(pen)
        coefs = np.linalg.solve(gram_r, x.T @ values)
        if rnd == _PRUNE_ROUNDS:
            break
        resid = values - x @ coefs
        noise_var = np.maximum(np.sum(resid**2, axis=0) / max(n_all - keep.size, 1), floor)
        se = np.sqrt(np.outer(np.diag(np.linalg.inv(gram_r)), noise_var))
        ok = (np.abs(coefs) / se).max(axis=1) >= _PRUNE_T
        ok[0] = True
        if ok.all():
            break
        keep = keep[ok]
    return supports[keep], degrees[keep], coefs


def term_grid(n_avail: int, n_terms: int | None, n_train: int) -> list[int]:
    """Support sizes tried: ``n_terms`` when given, else 4, 8, 16, ... up to a cap."""
    if n_terms is not None:
        return [min(n_terms, n_avail)]
    cap = min(n_avail, max(1, n_train // 4), _MAX_AUTO_TERMS)
    ks = [k for k in (2**j for j in range(2, 20)) if k < cap]
    return ks + [cap]


def select_terms_and_ridge(x_par, values, tr, va, ks):
    """Choose (number of leading terms, ridge) by validation error, fitting on ``tr``.

    ``x_par`` holds the parity features of the ranked candidates (constant first) on every
    sample. Returns ``(k, a, r2_val)``: the number of non-constant terms, the penalty per
    sample and the per-output validation R² of that choice."""
    gram = x_par[tr].T @ x_par[tr]
    rhs = x_par[tr].T @ values[tr]
    var_va = np.var(values[va], axis=0)
    var_va = np.where(var_va > 0, var_va, 1.0)
    best = None
    for k in ks:
        for a in RIDGE_GRID:
            w = ridge_solve(gram[: k + 1, : k + 1], rhs[: k + 1], a * tr.size)
            err = np.mean((values[va] - x_par[va, : k + 1] @ w) ** 2, axis=0) / var_va
            score = float(np.mean(err))
            if best is None or score < best[0] - 1e-12:
                best = (score, k, a, 1.0 - err)
    _, k, a, r2_val = best
    return k, a, r2_val
