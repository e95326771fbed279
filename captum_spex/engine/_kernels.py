"""numba kernels of the sparse Fourier decoder: plain arrays in, plain arrays out.

Every kernel has a plain-NumPy twin in ``tests/engine/kernels_ref.py`` (test-only), and the tests
compare the two. Nothing here validates its input: the public entry points do that before
any kernel runs. All kernels are compiled lazily and cached on disk (``cache=True``).

Conventions shared with the twins
---------------------------------
- GF(2^m) elements are ints; ``exp`` has length ``2 * order`` so that a sum of two logs
  needs no modulo; ``log[0] = -1``.
- A bucket vector ``u`` has length ``P + 1``: ``u[0]`` is the undelayed bucket value and
  ``u[p]`` (p >= 1) the value under delay row ``p - 1`` of the parity matrix ``D``.
- ``dpacked[i, w]`` packs column ``i`` of ``D`` (the parity signature of feature ``i``)
  into uint64 words, bit ``p`` of the signature at word ``p // 64``, bit ``p % 64``.
- ``hashcols[c, i]`` is row ``i`` of the subsampling matrix ``M_c`` as a b-bit int, so the
  bucket of frequency ``k`` in group ``c`` is the XOR of ``hashcols[c, i]`` over ``i`` in ``k``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_JIT = {"cache": True, "nogil": True}
# relative round-off allowance on residual energies (energy - corr^2 / n1 cancels)
_REL_TOL = 1e-9


@njit(**_JIT)
def fwht(a):  # pragma: no cover - compiled
    """In-place unnormalised Walsh-Hadamard transform of every row of a 2-D float array."""
    rows, length = a.shape
    h = 1
    while h < length:
        for r in range(rows):
            for i in range(0, length, 2 * h):
                for j in range(i, i + h):
                    x = a[r, j]
                    y = a[r, j + h]
                    a[r, j] = x + y
                    a[r, j + h] = x - y
        h *= 2


@njit(**_JIT)
def syndromes(bits, exp, order, two_t, out):  # pragma: no cover - compiled
    """Syndromes ``S_j = r(alpha^j)``, j = 1..2t, of a word whose only non-zero positions
    are the parity positions ``p`` with ``bits[p] == 1``."""
    for j in range(two_t):
        out[j] = 0
    for p in range(bits.shape[0]):
        if bits[p]:
            for j in range(two_t):
                out[j] ^= exp[((j + 1) * p) % order]


@njit(**_JIT)
def berlekamp_massey(s, exp, log, order, lam, work_b, work_t):  # pragma: no cover
    """Error-locator polynomial from the syndromes ``s`` (length 2t) into ``lam``
    (length 2t+1, low degree first). Returns its degree ``L``."""
    two_t = s.shape[0]
    for i in range(two_t + 1):
        lam[i] = 0
        work_b[i] = 0
    lam[0] = 1
    work_b[0] = 1
    big_l = 0
    shift = 1
    b = 1
    for r in range(two_t):
        d = s[r]
        for i in range(1, big_l + 1):
            if lam[i] != 0 and s[r - i] != 0:
                d ^= exp[log[lam[i]] + log[s[r - i]]]
        if d == 0:
            shift += 1
            continue
        coef = log[d] - log[b]
        if coef < 0:
            coef += order
        if 2 * big_l <= r:
            for i in range(two_t + 1):
                work_t[i] = lam[i]
            for i in range(two_t + 1 - shift):
                if work_b[i] != 0:
                    lam[i + shift] ^= exp[log[work_b[i]] + coef]
            big_l = r + 1 - big_l
            for i in range(two_t + 1):
                work_b[i] = work_t[i]
            b = d
            shift = 1
        else:
            for i in range(two_t + 1 - shift):
                if work_b[i] != 0:
                    lam[i + shift] ^= exp[log[work_b[i]] + coef]
            shift += 1
    return big_l


@njit(**_JIT)
def chien_search(lam, big_l, n_positions, log, exp, order, cur, out_pos):  # pragma: no cover
    """Positions ``pos < n_positions`` with ``lam(alpha^-pos) == 0``.

    Returns the number of roots found, or -1 when it differs from ``big_l`` (a decoding
    failure: the error pattern is not within reach of the code)."""
    for i in range(1, big_l + 1):
        cur[i] = log[lam[i]] if lam[i] != 0 else -1
    count = 0
    for pos in range(n_positions):
        v = lam[0]
        for i in range(1, big_l + 1):
            if cur[i] >= 0:
                v ^= exp[cur[i]]
                # advance to alpha^(-(pos+1) i): subtract i from the exponent
                c = cur[i] - i
                while c < 0:
                    c += order
                cur[i] = c
        if v == 0:
            if count < big_l:
                out_pos[count] = pos
            count += 1
            if count == big_l:
                break
    if count != big_l:
        return -1
    return count


@njit(**_JIT)
def _hard_decode_syn(s, n_positions, exp, log, order, t, lam, wb, wt, cur, pos):  # pragma: no cover
    big_l = berlekamp_massey(s, exp, log, order, lam, wb, wt)
    if big_l > t:
        return -1
    if big_l == 0:
        return 0
    return chien_search(lam, big_l, n_positions, log, exp, order, cur, pos)


@njit(**_JIT)
def bch_decode(bits, n_message, exp, log, order, t, out_pos):  # pragma: no cover
    """Hard BCH decoding of the word ``(0^n | bits)``.

    Returns the number of error positions written to ``out_pos`` (positions ``< P`` are
    flipped parity bits, ``P + i`` is message bit ``i``), or -1 on decoding failure."""
    two_t = 2 * t
    s = np.empty(two_t, dtype=np.int64)
    syndromes(bits, exp, order, two_t, s)
    lam = np.empty(two_t + 1, dtype=np.int64)
    wb = np.empty(two_t + 1, dtype=np.int64)
    wt = np.empty(two_t + 1, dtype=np.int64)
    cur = np.empty(two_t + 1, dtype=np.int64)
    return _hard_decode_syn(
        s, bits.shape[0] + n_message, exp, log, order, t, lam, wb, wt, cur, out_pos
    )


@njit(**_JIT)
def _signature_corr(u, support, deg, dpacked, sig):  # pragma: no cover
    """``sum_p u[p] * (-1)^<d_p, k>`` for k = support[:deg]; fills ``sig`` with D k (packed)."""
    for w in range(sig.shape[0]):
        sig[w] = 0
    for a in range(deg):
        i = support[a]
        for w in range(sig.shape[0]):
            sig[w] ^= dpacked[i, w]
    corr = u[0]
    for p in range(u.shape[0] - 1):
        if (sig[p >> 6] >> np.uint64(p & 63)) & np.uint64(1):
            corr -= u[p + 1]
        else:
            corr += u[p + 1]
    return corr


@njit(**_JIT)
def decode_bucket(
    u,
    j,
    hashcol,
    dpacked,
    n_message,
    exp,
    log,
    order,
    t,
    max_degree,
    patterns,
    n_chase,
    syn_unit,
    syn_ones,
    thr_resid,
    out_support,
):  # pragma: no cover - compiled
    """Soft (Chase) decoding of one bucket.

    Hard decisions are taken relative to ``u[0]``; the ``n_chase`` least reliable of the
    ``P + 1`` signs (by ``|u[p]|``) are flipped in the order of ``patterns`` (fewest flips
    first). Flipping the reference sign ``u[0]`` complements every parity bit. A candidate
    ``k`` must decode, have ``|k| <= max_degree`` and hash to bucket ``j``; candidates are
    ranked by their correlation with the bucket (the residual energy of the best one-term
    fit), and the search stops early at the first candidate whose residual is at or below
    ``thr_resid`` (plus a round-off allowance relative to the bucket energy).

    Returns ``(degree, coefficient, residual_energy, accepted)``; degree -1 means no
    candidate, ``accepted`` that the residual is within the threshold.
    """
    n1 = u.shape[0]
    n_parity = n1 - 1
    two_t = 2 * t
    energy = 0.0
    for p in range(n1):
        energy += u[p] * u[p]
    # round-off in energy - corr^2 / n1 is relative to the bucket energy
    thr = thr_resid + _REL_TOL * energy
    # hard decisions relative to the reference sign
    ref = u[0] < 0.0
    bits = np.empty(n_parity, dtype=np.uint8)
    for p in range(n_parity):
        bits[p] = (u[p + 1] < 0.0) != ref
    s0 = np.empty(two_t, dtype=np.int64)
    syndromes(bits, exp, order, two_t, s0)
    # least reliable positions
    order_idx = np.argsort(np.abs(u))
    n_flip = min(n_chase, n1)
    s = np.empty(two_t, dtype=np.int64)
    lam = np.empty(two_t + 1, dtype=np.int64)
    wb = np.empty(two_t + 1, dtype=np.int64)
    wt = np.empty(two_t + 1, dtype=np.int64)
    cur = np.empty(two_t + 1, dtype=np.int64)
    pos = np.empty(two_t + 1, dtype=np.int64)
    cand = np.empty(max(t, 1), dtype=np.int64)
    sig = np.empty(dpacked.shape[1], dtype=np.uint64)
    best_deg = -1
    best_corr = 0.0
    n_positions = n_parity + n_message
    for pi in range(patterns.shape[0]):
        pat = patterns[pi]
        if pat >> n_flip:
            continue
        for q in range(two_t):
            s[q] = s0[q]
        for f in range(n_flip):
            if (pat >> f) & 1:
                idx = order_idx[f]
                if idx == 0:
                    for q in range(two_t):
                        s[q] ^= syn_ones[q]
                else:
                    for q in range(two_t):
                        s[q] ^= syn_unit[idx - 1, q]
        n_err = _hard_decode_syn(s, n_positions, exp, log, order, t, lam, wb, wt, cur, pos)
        if n_err < 0:
            continue
        deg = 0
        h = 0
        for e in range(n_err):
            if pos[e] >= n_parity:
                cand[deg] = pos[e] - n_parity
                h ^= hashcol[cand[deg]]
                deg += 1
        if deg > max_degree or h != j:
            continue
        corr = _signature_corr(u, cand, deg, dpacked, sig)
        if best_deg < 0 or corr * corr > best_corr * best_corr:
            best_deg = deg
            best_corr = corr
            for a in range(deg):
                out_support[a] = cand[a]
            if energy - corr * corr / n1 <= thr:
                break
    if best_deg < 0:
        return -1, 0.0, energy, False
    # Chien search returns positions in increasing order: out_support is ascending
    resid = energy - best_corr * best_corr / n1
    return best_deg, best_corr / n1, resid, resid <= thr


@njit(**_JIT)
def subtract_term(big_u, support, deg, coef, hashcols, dpacked, dirty):  # pragma: no cover
    """Remove ``coef * chi_k`` from the bucket of ``k`` in every group; mark it dirty."""
    n_groups = big_u.shape[0]
    n1 = big_u.shape[1]
    sig = np.zeros(dpacked.shape[1], dtype=np.uint64)
    for a in range(deg):
        for w in range(sig.shape[0]):
            sig[w] ^= dpacked[support[a], w]
    for c in range(n_groups):
        h = 0
        for a in range(deg):
            h ^= hashcols[c, support[a]]
        big_u[c, 0, h] -= coef
        for p in range(n1 - 1):
            if (sig[p >> 6] >> np.uint64(p & 63)) & np.uint64(1):
                big_u[c, p + 1, h] += coef
            else:
                big_u[c, p + 1, h] -= coef
        dirty[c, h] = True


@njit(**_JIT)
def peel(
    big_u,
    hashcols,
    dpacked,
    n_message,
    exp,
    log,
    order,
    t,
    max_degree,
    patterns,
    n_chase,
    syn_unit,
    syn_ones,
    thr_zero,
    thr_resid,
    max_terms,
    max_rounds,
    out_support,
    out_deg,
    out_coef,
):  # pragma: no cover - compiled
    """Peeling decoder over ``C`` groups of ``B`` buckets (``big_u`` has shape (C, P+1, B)
    and is modified in place: it ends as the residual).

    A bucket whose energy is at most ``thr_zero`` is a zero-ton; one that
    :func:`decode_bucket` explains with residual at most ``thr_resid`` is a singleton, whose
    term is recorded (added to an existing identical term) and subtracted from every group;
    anything else is a multiton and is retried only once another term has changed it.

    Returns ``(n_terms, n_multitons)`` where ``n_multitons`` counts the buckets left
    unexplained when peeling stopped.
    """
    n_groups = big_u.shape[0]
    n1 = big_u.shape[1]
    n_buckets = big_u.shape[2]
    dirty = np.ones((n_groups, n_buckets), dtype=np.bool_)
    multi = np.zeros((n_groups, n_buckets), dtype=np.bool_)
    u = np.empty(n1, dtype=np.float64)
    supp = np.empty(max(t, 1), dtype=np.int64)
    n_terms = 0
    for _ in range(max_rounds):
        progress = False
        for c in range(n_groups):
            for j in range(n_buckets):
                if not dirty[c, j]:
                    continue
                dirty[c, j] = False
                energy = 0.0
                for p in range(n1):
                    u[p] = big_u[c, p, j]
                    energy += u[p] * u[p]
                if energy <= thr_zero:
                    multi[c, j] = False
                    continue
                deg, coef, resid, ok = decode_bucket(
                    u,
                    j,
                    hashcols[c],
                    dpacked,
                    n_message,
                    exp,
                    log,
                    order,
                    t,
                    max_degree,
                    patterns,
                    n_chase,
                    syn_unit,
                    syn_ones,
                    thr_resid,
                    supp,
                )
                if deg < 0 or not ok:
                    multi[c, j] = True
                    continue
                multi[c, j] = False
                # record: merge with an identical earlier term
                slot = -1
                for q in range(n_terms):
                    if out_deg[q] == deg:
                        same = True
                        for a in range(deg):
                            if out_support[q, a] != supp[a]:
                                same = False
                                break
                        if same:
                            slot = q
                            break
                if slot < 0:
                    if n_terms >= max_terms:
                        return n_terms, -1
                    slot = n_terms
                    n_terms += 1
                    out_deg[slot] = deg
                    out_coef[slot] = 0.0
                    for a in range(deg):
                        out_support[slot, a] = supp[a]
                out_coef[slot] += coef
                subtract_term(big_u, supp, deg, coef, hashcols, dpacked, dirty)
                progress = True
        if not progress:
            break
    n_multi = 0
    for c in range(n_groups):
        for j in range(n_buckets):
            if multi[c, j]:
                n_multi += 1
    return n_terms, n_multi
