"""Binary BCH codes built in-house: GF(2^m) tables and shortened narrow-sense codes.

SPEX uses the parity part of a systematic BCH generator as its *delay matrix*: for a
frequency ``k`` (a set of at most ``t`` features) the sign pattern of the delayed bucket
values reveals the parity bits ``D k``, and ``(0^n | D k)`` is at Hamming distance ``|k|``
from the codeword ``(k | D k)``, so a bounded-distance decoder returns ``k``.

Positions follow the polynomial convention of a systematic cyclic code: a codeword is
``c(x) = x^P msg(x) + (x^P msg(x) mod g(x))``; positions ``0..P-1`` hold the parity bits and
positions ``P..P+n-1`` the (shortened) message, i.e. the features.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np

__all__ = ["BCHCode", "bch_code", "parity_length", "SUPPORTED_M"]

# Primitive polynomials over GF(2) for m = 3..16 (bit i = coefficient of x^i).
_PRIMITIVE = {
    3: 0b1011,
    4: 0b10011,
    5: 0b100101,
    6: 0b1000011,
    7: 0b10001001,
    8: 0b100011101,
    9: 0b1000010001,
    10: 0b10000001001,
    11: 0b100000000101,
    12: 0b1000001010011,
    13: 0b10000000011011,
    14: 0b100010001000011,
    15: 0b1000000000000011,
    16: 0b10001000000001011,
}
SUPPORTED_M = tuple(sorted(_PRIMITIVE))


@cache
def _gf_tables(m: int) -> tuple[np.ndarray, np.ndarray]:
    """``exp`` (length 2*(2^m - 1), doubled to skip a modulo) and ``log`` tables of GF(2^m)."""
    order = (1 << m) - 1
    poly = _PRIMITIVE[m]
    exp = np.zeros(2 * order, dtype=np.int64)
    log = np.full(1 << m, -1, dtype=np.int64)
    x = 1
    for i in range(order):
        exp[i] = x
        log[x] = i
        x <<= 1
        if x >> m:
            x ^= poly
    if x != 1 or np.any(log[1:] < 0):  # pragma: no cover - guards the table above
        raise RuntimeError(f"polynomial for m={m} is not primitive")
    exp[order:] = exp[:order]
    exp.setflags(write=False)
    log.setflags(write=False)
    return exp, log


def _poly_mul_gf2(a: int, b: int) -> int:
    out = 0
    while b:
        if b & 1:
            out ^= a
        a <<= 1
        b >>= 1
    return out


@cache
def _generator(m: int, t: int) -> int:
    """Generator polynomial (as an int over GF(2)) of the narrow-sense primitive BCH code
    of length 2^m - 1 and designed distance 2t + 1: the product of the distinct minimal
    polynomials of alpha^1 .. alpha^(2t)."""
    order = (1 << m) - 1
    exp, log = _gf_tables(m)
    seen: set[int] = set()
    g = 1
    for i in range(1, 2 * t + 1):
        if i % order in seen:
            continue
        coset = []
        e = i % order
        while e not in coset:
            coset.append(e)
            e = (2 * e) % order
        seen.update(coset)
        # minimal polynomial prod (x + alpha^e) over the coset, coefficients in GF(2^m)
        coeffs = [1]  # low -> high
        for e in coset:
            root = int(exp[e])
            new = [0] * (len(coeffs) + 1)
            for d, c in enumerate(coeffs):
                new[d + 1] ^= c  # x * c
                if c:
                    new[d] ^= int(exp[(int(log[c]) + int(log[root])) % order])
            coeffs = new
        if any(c not in (0, 1) for c in coeffs):  # pragma: no cover - math guarantee
            raise RuntimeError("minimal polynomial is not binary")
        g = _poly_mul_gf2(g, sum(c << d for d, c in enumerate(coeffs)))
    return g


def parity_length(m: int, t: int) -> int:
    """Number of parity bits ``P = deg g`` of the BCH code with parameters ``(m, t)``."""
    return _generator(m, t).bit_length() - 1


@dataclass(frozen=True, eq=False)
class BCHCode:
    """A binary BCH code of designed distance ``2t+1`` shortened to ``n`` message bits.

    Attributes
    ----------
    m, t, n : int
        Field degree, correction capability and message length (number of features).
    n_parity : int
        ``P``, the number of parity bits (the number of non-zero delays).
    exp, log : numpy.ndarray
        GF(2^m) antilog (doubled) and log tables.
    parity_matrix : numpy.ndarray
        ``D``, a ``(P, n)`` uint8 matrix; the parity bits of message ``k`` are ``D k mod 2``.
    """

    m: int
    t: int
    n: int
    n_parity: int
    exp: np.ndarray
    log: np.ndarray
    parity_matrix: np.ndarray

    @property
    def field_order(self) -> int:
        return (1 << self.m) - 1

    def parity_bits(self, support) -> np.ndarray:
        """Parity bits ``D k`` of the message with ones at ``support``."""
        idx = np.asarray(support, dtype=np.int64)
        return (
            np.bitwise_xor.reduce(self.parity_matrix[:, idx], axis=1)
            if idx.size
            else (np.zeros(self.n_parity, dtype=np.uint8))
        )


def _choose_m(n: int, t: int) -> int:
    for m in SUPPORTED_M:
        if 2 * t + 1 > (1 << m) - 1:
            continue
        if (1 << m) - 1 - parity_length(m, t) >= n:
            return m
    raise ValueError(
        f"no supported BCH code (m <= {SUPPORTED_M[-1]}) has {n} message bits with t={t}; "
        "use fewer features (group them) or a smaller max_degree"
    )


@lru_cache(maxsize=32)
def bch_code(n: int, t: int, m: int | None = None) -> BCHCode:
    """Build (and cache) the shortened BCH code for ``n`` features correcting ``t`` errors.

    ``m`` defaults to the smallest field that fits ``n`` message bits.

    Examples
    --------
    >>> code = bch_code(1000, 5)
    >>> code.m, code.n_parity
    (11, 55)
    """
    if n < 1 or t < 1:
        raise ValueError(f"bch_code needs n >= 1 and t >= 1, got n={n}, t={t}")
    if m is None:
        m = _choose_m(n, t)
    elif m not in _PRIMITIVE:
        raise ValueError(f"m must be one of {SUPPORTED_M}, got {m}")
    g = _generator(m, t)
    P = g.bit_length() - 1
    if (1 << m) - 1 - P < n:
        raise ValueError(f"the BCH code (m={m}, t={t}) has fewer than n={n} message bits")
    exp, log = _gf_tables(m)
    # column i of D = coefficients of x^(P+i) mod g(x), computed by repeated shifting
    rem = 1
    for _ in range(P):  # rem = x^P mod g
        rem <<= 1
        if rem >> P:
            rem ^= g
    top = 1 << P
    nbytes = (P + 7) // 8
    buf = bytearray(nbytes * n)
    for i in range(n):
        buf[i * nbytes : (i + 1) * nbytes] = rem.to_bytes(nbytes, "little")
        rem <<= 1
        if rem & top:
            rem ^= g
    bits = np.unpackbits(
        np.frombuffer(bytes(buf), dtype=np.uint8).reshape(n, nbytes), axis=1, bitorder="little"
    )
    D = np.ascontiguousarray(bits[:, :P].T)
    D.setflags(write=False)
    return BCHCode(m=m, t=t, n=n, n_parity=P, exp=exp, log=log, parity_matrix=D)
