"""Plain-NumPy twins of the numba kernels in :mod:`captum_spex.engine._kernels`.

They are written independently (vectorised where the algorithm allows it) and serve as
the reference the tests compare the kernels against. They are slow; never call them from
the engine itself.
"""

from __future__ import annotations

import numpy as np

from captum_spex.engine.peeling import chase_patterns


def fwht_ref(a: np.ndarray) -> np.ndarray:
    """Unnormalised Walsh-Hadamard transform of every row, by an explicit Hadamard matrix."""
    length = a.shape[1]
    h = np.ones((1, 1))
    while h.shape[0] < length:
        h = np.kron(h, np.array([[1.0, 1.0], [1.0, -1.0]]))
    return a @ h.T


def _gf_mul(a: int, b: int, exp: np.ndarray, log: np.ndarray) -> int:
    if a == 0 or b == 0:
        return 0
    return int(exp[int(log[a]) + int(log[b])])


def _gf_div(a: int, b: int, exp: np.ndarray, log: np.ndarray, order: int) -> int:
    if a == 0:
        return 0
    return int(exp[(int(log[a]) - int(log[b])) % order])


def syndromes_ref(bits: np.ndarray, exp: np.ndarray, order: int, two_t: int) -> np.ndarray:
    """``S_j = sum_{p: bits[p]} alpha^(j p)`` for j = 1..2t, vectorised."""
    ones = np.flatnonzero(bits)
    j = np.arange(1, two_t + 1)
    if ones.size == 0:
        return np.zeros(two_t, dtype=np.int64)
    elems = exp[(j[:, None] * ones[None, :]) % order]
    return np.bitwise_xor.reduce(elems, axis=1).astype(np.int64)


def berlekamp_massey_ref(s, exp, log, order) -> tuple[list[int], int]:
    """Textbook Berlekamp-Massey over GF(2^m) with Python lists."""
    two_t = len(s)
    lam = [1] + [0] * two_t
    prev = [1] + [0] * two_t
    big_l, shift, b = 0, 1, 1
    for r in range(two_t):
        d = int(s[r])
        for i in range(1, big_l + 1):
            d ^= _gf_mul(lam[i], int(s[r - i]), exp, log)
        if d == 0:
            shift += 1
            continue
        coef = _gf_div(d, b, exp, log, order)
        new = list(lam)
        for i in range(two_t + 1 - shift):
            new[i + shift] ^= _gf_mul(coef, prev[i], exp, log)
        if 2 * big_l <= r:
            prev, big_l, b, shift = lam, r + 1 - big_l, d, 1
        else:
            shift += 1
        lam = new
    return lam, big_l


def chien_search_ref(lam, big_l, n_positions, exp, log, order) -> list[int] | None:
    """Roots ``alpha^-pos`` of ``lam`` over every position at once; None on failure."""
    pos = np.arange(n_positions)
    v = np.full(n_positions, int(lam[0]), dtype=np.int64)
    for i in range(1, big_l + 1):
        if lam[i]:
            v ^= exp[(int(log[lam[i]]) - i * pos) % order]
    roots = np.flatnonzero(v == 0)
    if roots.size != big_l:
        return None
    return [int(r) for r in roots]


def bch_decode_ref(bits, n_message, exp, log, order, t) -> list[int] | None:
    """Hard decoding of ``(0^n | bits)``: error positions, or None on failure."""
    s = syndromes_ref(bits, exp, order, 2 * t)
    if not s.any():
        return []
    lam, big_l = berlekamp_massey_ref(s, exp, log, order)
    if big_l > t:
        return None
    return chien_search_ref(lam, big_l, len(bits) + n_message, exp, log, order)


def decode_bucket_ref(
    u, j, hashcol, parity_matrix, exp, log, order, t, max_degree, n_chase, thr_resid
):
    """Twin of :func:`_kernels.decode_bucket`; returns ``(support, coef, residual,
    accepted)`` with ``support`` None when no candidate survives."""
    u = np.asarray(u, dtype=np.float64)
    n1 = u.shape[0]
    n_parity = n1 - 1
    n_message = parity_matrix.shape[1]
    energy = float(u @ u)
    thr = thr_resid + 1e-9 * energy
    bits = ((u[1:] < 0) != (u[0] < 0)).astype(np.uint8)
    least = np.argsort(np.abs(u), kind="quicksort")[: min(n_chase, n1)]
    best = None
    for pat in chase_patterns(len(least)):
        word = bits.copy()
        for f, idx in enumerate(least):
            if (pat >> f) & 1:
                if idx == 0:
                    word ^= 1
                else:
                    word[idx - 1] ^= 1
        pos = bch_decode_ref(word, n_message, exp, log, order, t)
        if pos is None:
            continue
        k = [p - n_parity for p in pos if p >= n_parity]
        if len(k) > max_degree:
            continue
        h = 0
        for i in k:
            h ^= int(hashcol[i])
        if h != j:
            continue
        sig = parity_matrix[:, k].sum(axis=1) % 2 if k else np.zeros(n_parity, dtype=np.int64)
        corr = float(u[0] + np.sum(u[1:] * (1 - 2 * sig.astype(np.float64))))
        if best is None or corr * corr > best[1] * best[1]:
            best = (tuple(k), corr)
            if energy - corr * corr / n1 <= thr:
                break
    if best is None:
        return None, 0.0, energy, False
    resid = energy - best[1] ** 2 / n1
    return best[0], best[1] / n1, resid, resid <= thr


def peel_ref(
    big_u,
    hashcols,
    parity_matrix,
    exp,
    log,
    order,
    t,
    max_degree,
    n_chase,
    thr_zero,
    thr_resid,
    max_rounds=100,
):
    """Twin of :func:`_kernels.peel` (same visiting order); returns ``({k: coef}, U_residual)``."""
    big_u = np.array(big_u, dtype=np.float64, copy=True)
    n_groups, n1, n_buckets = big_u.shape
    dirty = np.ones((n_groups, n_buckets), dtype=bool)
    terms: dict[tuple[int, ...], float] = {}
    for _ in range(max_rounds):
        progress = False
        for c in range(n_groups):
            for j in range(n_buckets):
                if not dirty[c, j]:
                    continue
                dirty[c, j] = False
                u = big_u[c, :, j].copy()
                if float(u @ u) <= thr_zero:
                    continue
                k, coef, _, ok = decode_bucket_ref(
                    u,
                    j,
                    hashcols[c],
                    parity_matrix,
                    exp,
                    log,
                    order,
                    t,
                    max_degree,
                    n_chase,
                    thr_resid,
                )
                if k is None or not ok:
                    continue
                terms[k] = terms.get(k, 0.0) + coef
                sig = (
                    parity_matrix[:, list(k)].sum(axis=1) % 2
                    if k
                    else np.zeros(n1 - 1, dtype=np.int64)
                )
                signs = np.concatenate([[1.0], 1.0 - 2.0 * sig])
                for c2 in range(n_groups):
                    h = 0
                    for i in k:
                        h ^= int(hashcols[c2, i])
                    big_u[c2, :, h] -= coef * signs
                    dirty[c2, h] = True
                progress = True
        if not progress:
            break
    return terms, big_u


def lasso_path_gram_ref(gram, corr, alphas, max_sweeps, tol):
    """Twin of ``_lasso_kernels.lasso_path_gram``: cyclic coordinate descent, plain NumPy."""
    m = gram.shape[0]
    w = np.zeros(m)
    out = np.zeros((alphas.shape[0], m))
    for a, alpha in enumerate(alphas):
        for _ in range(max_sweeps):
            biggest = 0.0
            for j in range(m):
                gjj = gram[j, j]
                if gjj <= 0.0:
                    continue
                z = corr[j] - gram[j] @ w + gjj * w[j]
                new = np.sign(z) * max(abs(z) - alpha, 0.0) / gjj
                biggest = max(biggest, abs(new - w[j]) * np.sqrt(gjj))
                w[j] = new
            if biggest < tol:
                break
        out[a] = w
    return out
