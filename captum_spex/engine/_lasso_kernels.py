"""numba kernel of the LASSO path by coordinate descent on a Gram (covariance) matrix.

Plain arrays in and out; its NumPy twin is ``lasso_path_gram_ref`` in
``tests/engine/kernels_ref.py`` (test-only). Compiled lazily and cached on disk.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def lasso_path_gram(gram, corr, alphas, max_sweeps, tol, out):  # pragma: no cover - numba
    """Minimise ``0.5 w'Gw - c'w + alpha |w|_1`` for each alpha, warm-started in order.

    ``gram`` is ``(M, M)`` (a covariance of centred features), ``corr`` ``(M,)``, ``alphas``
    decreasing; ``out[a]`` receives the solution for ``alphas[a]``. Returns the total number
    of coordinate sweeps. A sweep stops the path point when no coefficient moves by more
    than ``tol`` (in units of its feature's standard deviation).
    """
    m = gram.shape[0]
    w = np.zeros(m)
    grad = corr.copy()  # c - G w
    sweeps = 0
    for a in range(alphas.shape[0]):
        alpha = alphas[a]
        for _ in range(max_sweeps):
            sweeps += 1
            biggest = 0.0
            for j in range(m):
                gjj = gram[j, j]
                if gjj <= 0.0:
                    continue
                z = grad[j] + gjj * w[j]
                if z > alpha:
                    new = (z - alpha) / gjj
                elif z < -alpha:
                    new = (z + alpha) / gjj
                else:
                    new = 0.0
                d = new - w[j]
                if d != 0.0:
                    w[j] = new
                    for k in range(m):
                        grad[k] -= gram[k, j] * d
                    step = abs(d) * np.sqrt(gjj)
                    if step > biggest:
                        biggest = step
            if biggest < tol:
                break
        out[a, :] = w
    return sweeps
