"""Sparse conversions from Fourier coefficients to interaction indices.

A sparse set function is stored as three arrays (see :class:`SparseTerms`):

* ``indices``: int64 ``(K, D)``, one row per term, the feature ids in ascending order and
  padded on the right with ``-1``;
* ``degrees``: int64 ``(K,)``, the number of valid entries of each row;
* ``values``: float64 ``(K, n_outputs)``.

Conventions (spex-algorithm.md section 1): a mask ``m`` keeps feature ``i`` when
``m[i]`` is True, and the Fourier expansion is ``f(m) = sum_S F(S) (-1)^{|S & kept(m)|}``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from functools import cache, lru_cache
from math import comb
from typing import Literal, NamedTuple, get_args

import numpy as np

__all__ = [
    "INDEX_NAMES",
    "IndexName",
    "SparseTerms",
    "array_to_terms",
    "banzhaf_values",
    "fourier_from_mobius",
    "fourier_to_index",
    "mobius_from_fourier",
    "shapley_values",
    "terms_to_array",
]

IndexName = Literal["fourier", "mobius", "bii", "sii", "k-sii", "stii", "fsii", "fbii"]
"""Names accepted by :func:`fourier_to_index` and ``Interactions.index``."""

INDEX_NAMES: tuple[str, ...] = get_args(IndexName)

#: Indices defined relative to an explicit order (their values change with it).
ORDERED_INDICES: tuple[str, ...] = ("k-sii", "stii", "fsii", "fbii")


class SparseTerms(NamedTuple):
    """Padded-array form of a sparse set function.

    Attributes
    ----------
    indices : numpy.ndarray
        int64 ``(K, D)``; row ``k`` holds the ascending feature ids of term ``k`` padded
        with ``-1``.
    degrees : numpy.ndarray
        int64 ``(K,)``; the size of each term.
    values : numpy.ndarray
        float64 ``(K, n_outputs)``; one value per term and output.
    """

    indices: np.ndarray
    degrees: np.ndarray
    values: np.ndarray


def terms_to_array(
    terms: Iterable[Sequence[int]], n_features: int, *, name: str = "terms"
) -> tuple[np.ndarray, np.ndarray]:
    """Pack index tuples into a padded int64 array, validating them.

    Parameters
    ----------
    terms : iterable of sequences of int
        Each term lists distinct feature ids in ascending order; ``()`` is the constant.
    n_features : int
        Number of features; ids must lie in ``0 .. n_features - 1``.
    name : str, default "terms"
        Argument name used in error messages.

    Returns
    -------
    indices : numpy.ndarray
        int64 ``(K, D)`` padded with ``-1`` where ``D`` is the largest degree.
    degrees : numpy.ndarray
        int64 ``(K,)``.

    Raises
    ------
    TypeError
        If a term is not a sequence of integers.
    ValueError
        If an id is out of range, a term is not strictly ascending, or a term repeats.

    Examples
    --------
    >>> idx, deg = terms_to_array([(), (0, 2), (1,)], 3)
    >>> idx.tolist(), deg.tolist()
    ([[-1, -1], [0, 2], [1, -1]], [0, 2, 1])
    """
    rows: list[tuple[int, ...]] = []
    for k, term in enumerate(terms):
        if isinstance(term, (str, bytes)) or not isinstance(term, (Sequence, np.ndarray)):
            raise TypeError(
                f"The '{name}' parameter must be a sequence of tuples of int; item {k} is {term!r}."
            )
        row = []
        for i in term:
            if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
                raise TypeError(
                    f"The '{name}' parameter must contain tuples of int; item {k} is {term!r}."
                )
            row.append(int(i))
        rows.append(tuple(row))
    n_terms = len(rows)
    degrees = np.fromiter((len(r) for r in rows), dtype=np.int64, count=n_terms)
    width = int(degrees.max()) if n_terms else 0
    indices = np.full((n_terms, width), -1, dtype=np.int64)
    if n_terms and width:
        flat = np.fromiter((i for r in rows for i in r), dtype=np.int64)
        rr = np.repeat(np.arange(n_terms), degrees)
        cc = np.arange(flat.size) - np.repeat(np.cumsum(degrees) - degrees, degrees)
        indices[rr, cc] = flat
    _check_array_terms(indices, degrees, n_features, name=name)
    return indices, degrees


def _check_array_terms(
    indices: np.ndarray, degrees: np.ndarray, n_features: int, *, name: str = "terms"
) -> None:
    """Validate padded terms: ids in range, rows strictly ascending, rows unique."""
    n_terms, width = indices.shape
    valid = np.arange(width)[None, :] < degrees[:, None]
    if np.any(indices[~valid] != -1):
        raise ValueError(f"The '{name}' parameter has malformed padding.")
    bad = valid & ((indices < 0) | (indices >= n_features))
    if bad.any():
        k = int(np.flatnonzero(bad.any(axis=1))[0])
        raise ValueError(
            f"The '{name}' parameter must contain feature ids in 0..{n_features - 1}; "
            f"term {k} is {_row_to_tuple(indices[k], degrees[k])}."
        )
    if width > 1:
        both = valid[:, 1:]
        not_ascending = both & (np.diff(indices, axis=1) <= 0)
        if not_ascending.any():
            k = int(np.flatnonzero(not_ascending.any(axis=1))[0])
            raise ValueError(
                f"The '{name}' parameter must contain strictly ascending tuples (distinct "
                f"ids, sorted); term {k} is {_row_to_tuple(indices[k], degrees[k])}."
            )
    if n_terms > 1:
        _, inverse, counts = _unique_rows(indices, n_features)
        if np.any(counts > 1):
            dup = int(np.flatnonzero(counts[inverse] > 1)[0])
            raise ValueError(
                f"The '{name}' parameter must not repeat a term; "
                f"{_row_to_tuple(indices[dup], degrees[dup])} appears more than once."
            )


def _row_to_tuple(row: np.ndarray, degree: int | np.integer) -> tuple[int, ...]:
    return tuple(int(i) for i in row[: int(degree)])


def array_to_terms(indices: np.ndarray, degrees: np.ndarray) -> list[tuple[int, ...]]:
    """Unpack a padded array into a list of ascending int tuples.

    Examples
    --------
    >>> import numpy as np
    >>> array_to_terms(np.array([[-1, -1], [0, 2]]), np.array([0, 2]))
    [(), (0, 2)]
    """
    return [tuple(r[:d]) for r, d in zip(indices.tolist(), degrees.tolist(), strict=True)]


def _unique_rows(rows: np.ndarray, n_features: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group identical padded rows.

    Returns the first occurrence of each distinct row (``(U,)`` positions into ``rows``),
    the inverse map ``(R,) -> 0..U-1`` and the counts. Rows are packed into a single int64
    key in base ``n_features + 1`` when that fits, else compared with ``np.unique(axis=0)``.
    """
    n_rows, width = rows.shape
    base = n_features + 1
    if width == 0:
        inverse = np.zeros(n_rows, dtype=np.int64)
        first = np.zeros(min(n_rows, 1), dtype=np.int64)
        return first, inverse, np.array([n_rows] if n_rows else [], dtype=np.int64)
    if base**width < 2**63:
        key = np.zeros(n_rows, dtype=np.int64)
        for j in range(width):
            key *= base
            key += rows[:, j] + 1
        _, first, inverse, counts = np.unique(
            key, return_index=True, return_inverse=True, return_counts=True
        )
    else:
        _, first, inverse, counts = np.unique(
            rows, axis=0, return_index=True, return_inverse=True, return_counts=True
        )
    return first.astype(np.int64), inverse.reshape(-1).astype(np.int64), counts


def _canonical_order(indices: np.ndarray, degrees: np.ndarray) -> np.ndarray:
    """Permutation sorting terms by degree, then lexicographically."""
    keys = [indices[:, j] for j in range(indices.shape[1] - 1, -1, -1)]
    keys.append(degrees)
    return np.lexsort(keys)


# ---------------------------------------------------------------------- validation
def _check_index_name(index: str) -> str:
    if not isinstance(index, str) or index not in INDEX_NAMES:
        valid = ", ".join(repr(n) for n in INDEX_NAMES)
        raise ValueError(f"The 'index' parameter must be one of {valid}. Got {index!r} instead.")
    return index


def _check_order(order: int | None, n_features: int) -> int | None:
    if order is None:
        return None
    if isinstance(order, (bool, np.bool_)) or not isinstance(order, (int, np.integer)):
        raise TypeError(f"The 'order' parameter must be an int or None. Got {order!r} instead.")
    if not 1 <= int(order) <= n_features:
        raise ValueError(
            f"The 'order' parameter must be an int in [1, {n_features}] "
            f"(n_features={n_features}). Got {order} instead."
        )
    return int(order)


def _as_sparse(terms: SparseTerms) -> tuple[SparseTerms, bool]:
    """Return ``terms`` with 2-D float64 values, and whether the input values were 1-D."""
    indices = np.asarray(terms.indices, dtype=np.int64)
    degrees = np.asarray(terms.degrees, dtype=np.int64)
    values = np.asarray(terms.values, dtype=np.float64)
    if indices.ndim != 2 or degrees.shape != (indices.shape[0],):
        raise ValueError("SparseTerms must hold indices (K, D) and degrees (K,).")
    if values.ndim not in (1, 2) or values.shape[0] != indices.shape[0]:
        raise ValueError("SparseTerms values must have shape (K,) or (K, n_outputs).")
    squeeze = values.ndim == 1
    return SparseTerms(indices, degrees, values[:, None] if squeeze else values), squeeze


def _finish(terms: SparseTerms, squeeze: bool) -> SparseTerms:
    return SparseTerms(
        terms.indices, terms.degrees, terms.values[:, 0] if squeeze else terms.values
    )


# ---------------------------------------------------------------------- weight tables
# Every conversion below has the form  out(T) = sum_{S in support, S >= T} w(|S|, |T|) * in(S):
# the value at T depends on S only through the two sizes. The tables are computed exactly
# with fractions (they are tiny) and converted to float64 once.


@cache
def _bernoulli(m: int) -> Fraction:
    """Bernoulli number B_m with the convention B_1 = -1/2."""
    if m == 0:
        return Fraction(1)
    return -sum((comb(m + 1, k) * _bernoulli(k) for k in range(m)), Fraction(0)) / (m + 1)


def _moebius_weight(index: str, order: int) -> Callable[[int, int], Fraction]:
    """Coefficient c(u, t) of ``index(T) = sum_{U >= T} c(|U|, |T|) a(U)`` (a = Möbius)."""
    ell = order

    def mobius(u: int, t: int) -> Fraction:
        return Fraction(int(u == t))

    def sii(u: int, t: int) -> Fraction:
        return Fraction(1, u - t + 1)

    def k_sii(u: int, t: int) -> Fraction:
        if t == 0:
            return Fraction(int(u == 0))
        return sum(
            (
                comb(u - t, m - t) * _bernoulli(m - t) / (u - m + 1)
                for m in range(t, min(u, ell) + 1)
            ),
            Fraction(0),
        )

    def stii(u: int, t: int) -> Fraction:
        if t < ell:
            return Fraction(int(u == t))
        return Fraction(1, comb(u, ell))

    def fsii(u: int, t: int) -> Fraction:
        if u == t:
            return Fraction(1)
        if u <= ell:
            return Fraction(0)
        return (
            (-1) ** (ell - t)
            * Fraction(t, ell + t)
            * comb(ell, t)
            * Fraction(comb(u - 1, ell), comb(u + ell - 1, ell + t))
        )

    return {"mobius": mobius, "sii": sii, "k-sii": k_sii, "stii": stii, "fsii": fsii}[index]


@lru_cache(maxsize=256)
def _fourier_weights(index: str, order: int, max_s: int) -> np.ndarray:
    """Table ``w[s, t]`` of ``index(T) = sum_{S >= T} w(|S|, |T|) F(S)`` for ``t <= order``.

    Entries with ``t > min(s, order)`` are 0.
    """
    max_t = min(order, max_s)
    table = np.zeros((max_s + 1, max_t + 1), dtype=np.float64)
    if index == "fbii":
        for s in range(min(max_s, order) + 1):
            for t in range(min(s, max_t) + 1):
                table[s, t] = float((-2) ** t)
        return table
    if index == "bii":
        for t in range(max_t + 1):
            table[t, t] = float((-2) ** t)
        return table
    c = _moebius_weight(index, order)
    for s in range(max_s + 1):
        for t in range(min(s, max_t) + 1):
            # a(U) = (-2)^|U| sum_{S >= U} F(S); count the U with T <= U <= S by size.
            w = sum(
                (
                    comb(s - t, j) * Fraction((-2) ** (t + j)) * c(t + j, t)
                    for j in range(s - t + 1)
                ),
                Fraction(0),
            )
            table[s, t] = float(w)
    return table


@lru_cache(maxsize=64)
def _patterns(d: int, max_t: int) -> tuple[np.ndarray, np.ndarray]:
    """Subsets of ``range(d)`` with at most ``max_t`` elements.

    Returns ``cols`` int64 ``(P, min(d, max_t))``, the ascending positions of each subset
    padded with ``d`` (which points at a ``-1`` sentinel column), and their sizes ``(P,)``.
    """
    width = min(d, max_t)
    subsets = [c for t in range(width + 1) for c in _combinations(d, t)]
    cols = np.full((len(subsets), width), d, dtype=np.int64)
    for p, c in enumerate(subsets):
        cols[p, : len(c)] = c
    sizes = np.array([len(c) for c in subsets], dtype=np.int64)
    cols.setflags(write=False)
    sizes.setflags(write=False)
    return cols, sizes


def _combinations(d: int, t: int) -> list[tuple[int, ...]]:
    from itertools import combinations

    return list(combinations(range(d), t))


# ---------------------------------------------------------------------- the scatter
def _scatter(terms: SparseTerms, weights: np.ndarray, max_t: int, n_features: int) -> SparseTerms:
    """Compute ``out(T) = sum_{S >= T} weights[|S|, |T|] * terms(S)`` for ``|T| <= max_t``.

    Each term of degree ``d`` is expanded onto its subsets of size ``<= max_t`` whose weight
    is non-zero (one gather per degree through a precomputed pattern table), the subsets are
    grouped by a packed int64 key, and the contributions summed with ``bincount``. Nothing is
    enumerated beyond the subsets of the support. The result is in canonical order.
    """
    indices, degrees, values = terms
    n_outputs = values.shape[1]
    rows_parts: list[np.ndarray] = []
    src_parts: list[np.ndarray] = []
    wt_parts: list[np.ndarray] = []
    deg_parts: list[np.ndarray] = []
    out_width = 0
    for d in np.unique(degrees).tolist():
        if d >= weights.shape[0]:
            raise ValueError("weight table too small for the support degree")
        cols, sizes = _patterns(d, max_t)
        wt = weights[d, sizes] if weights.shape[1] > 0 else np.zeros(0)
        keep = wt != 0
        if not keep.any():
            continue
        cols, sizes, wt = cols[keep], sizes[keep], wt[keep]
        width = int(sizes.max())
        cols = cols[:, :width]
        sel = np.flatnonzero(degrees == d)
        ext = np.empty((sel.size, d + 1), dtype=np.int64)
        ext[:, :d] = indices[sel, :d]
        ext[:, d] = -1
        rows_parts.append(ext[:, cols].reshape(sel.size * len(wt), width))  # (k * P, width)
        src_parts.append(np.repeat(sel, len(wt)))
        wt_parts.append(np.tile(wt, sel.size))
        deg_parts.append(np.tile(sizes, sel.size))
        out_width = max(out_width, width)
    if not rows_parts:
        return SparseTerms(
            np.zeros((0, 0), dtype=np.int64),
            np.zeros(0, dtype=np.int64),
            np.zeros((0, n_outputs), dtype=np.float64),
        )
    rows = np.full((sum(len(r) for r in rows_parts), out_width), -1, dtype=np.int64)
    start = 0
    for part in rows_parts:
        rows[start : start + len(part), : part.shape[1]] = part
        start += len(part)
    src = np.concatenate(src_parts)
    wts = np.concatenate(wt_parts)
    degs = np.concatenate(deg_parts)
    first, inverse, _ = _unique_rows(rows, n_features)
    n_unique = len(first)
    out = np.empty((n_unique, n_outputs), dtype=np.float64)
    for o in range(n_outputs):
        out[:, o] = np.bincount(inverse, weights=values[src, o] * wts, minlength=n_unique)
    out_idx = rows[first]
    out_deg = degs[first]
    order = _canonical_order(out_idx, out_deg)
    return SparseTerms(out_idx[order], out_deg[order], out[order])


def _select(terms: SparseTerms, keep: np.ndarray, scale: np.ndarray | None = None) -> SparseTerms:
    """Keep some rows (canonical order, trailing all-padding columns dropped)."""
    indices, degrees, values = terms.indices[keep], terms.degrees[keep], terms.values[keep]
    if scale is not None:
        values = values * scale[keep][:, None]
    width = int(degrees.max()) if len(degrees) else 0
    indices = indices[:, :width]
    order = _canonical_order(indices, degrees)
    return SparseTerms(indices[order], degrees[order], values[order])


# ---------------------------------------------------------------------- public conversions
def mobius_from_fourier(fourier: SparseTerms, n_features: int) -> SparseTerms:
    """Möbius (Harsanyi) coefficients ``a(T) = (-2)^|T| sum_{S >= T} F(S)``.

    Parameters
    ----------
    fourier : SparseTerms
        Fourier coefficients (values ``(K,)`` or ``(K, n_outputs)``).
    n_features : int
        Number of features.

    Returns
    -------
    SparseTerms
        Every subset of a support term (that receives a non-zero weight), in canonical
        order; values have the dimensionality of the input values.

    Examples
    --------
    >>> import numpy as np
    >>> F = SparseTerms(np.array([[-1, -1], [0, 1]]), np.array([0, 2]), np.array([1.0, 0.5]))
    >>> a = mobius_from_fourier(F, 2)
    >>> array_to_terms(a.indices, a.degrees), a.values.tolist()
    ([(), (0,), (1,), (0, 1)], [1.5, -1.0, -1.0, 2.0])
    """
    return fourier_to_index(fourier, n_features, "mobius")


def fourier_from_mobius(mobius: SparseTerms, n_features: int) -> SparseTerms:
    """Fourier coefficients ``F(S) = (-1)^|S| sum_{T >= S} 2^-|T| a(T)`` from Möbius ones.

    The inverse of :func:`mobius_from_fourier`.

    Examples
    --------
    >>> import numpy as np
    >>> a = SparseTerms(np.array([[-1], [0]]), np.array([0, 1]), np.array([1.0, 2.0]))
    >>> F = fourier_from_mobius(a, 1)
    >>> array_to_terms(F.indices, F.degrees), F.values.tolist()
    ([(), (0,)], [2.0, -1.0])
    """
    terms, squeeze = _as_sparse(mobius)
    max_u = int(terms.degrees.max()) if len(terms.degrees) else 0
    weights = np.array(
        [
            [(-1.0) ** s * 2.0**-u if s <= u else 0.0 for s in range(max_u + 1)]
            for u in range(max_u + 1)
        ]
    )
    return _finish(_scatter(terms, weights, max_u, n_features), squeeze)


def fourier_to_index(
    fourier: SparseTerms, n_features: int, index: IndexName, order: int | None = None
) -> SparseTerms:
    """Convert sparse Fourier coefficients to an interaction index, staying sparse.

    Parameters
    ----------
    fourier : SparseTerms
        Fourier coefficients in the convention ``f(m) = sum_S F(S) (-1)^{|S & kept(m)|}``.
    n_features : int
        Number of features ``n``.
    index : {"fourier", "mobius", "bii", "sii", "k-sii", "stii", "fsii", "fbii"}
        The index (spex-algorithm.md section 2).
    order : int, optional
        For "k-sii", "stii", "fsii" and "fbii" the order ``l`` of the index (default: the
        largest degree in the support, at least 1). For the other indices, an optional
        cap: only terms with ``|T| <= order`` are returned (their values do not depend on
        it). Must satisfy ``1 <= order <= n_features``.

    Returns
    -------
    SparseTerms
        The index on every subset it can be non-zero on, in canonical order (by degree,
        then lexicographically); the constant ``()`` is included where the index defines it.

    Examples
    --------
    >>> import numpy as np
    >>> F = SparseTerms(np.array([[0, 1]]), np.array([2]), np.array([1.0]))
    >>> sii = fourier_to_index(F, 2, "sii")
    >>> array_to_terms(sii.indices, sii.degrees), sii.values.tolist()
    ([(), (0, 1)], [0.3333333333333333, 4.0])
    """
    index = _check_index_name(index)
    order = _check_order(order, n_features)
    terms, squeeze = _as_sparse(fourier)
    max_s = int(terms.degrees.max()) if len(terms.degrees) else 0
    if index in ("fourier", "bii"):
        keep = terms.degrees <= (order if order is not None else max_s)
        scale = (-2.0) ** terms.degrees if index == "bii" else None
        return _finish(_select(terms, keep, scale), squeeze)
    if order is None:
        order = max(max_s, 1) if index in ORDERED_INDICES else max_s
    weights = _fourier_weights(index, order, max_s)
    return _finish(_scatter(terms, weights, min(order, max_s), n_features), squeeze)


def shapley_values(fourier: SparseTerms, n_features: int) -> np.ndarray:
    """Shapley values ``phi_i = sum_{S ∋ i} a(S) / |S|`` from Fourier coefficients.

    From the Fourier side, ``phi_i = sum_{S ∋ i, |S| odd} -2 F(S) / |S|``.

    Returns
    -------
    numpy.ndarray
        ``(n_features,)``, or ``(n_features, n_outputs)`` for 2-D values.

    Examples
    --------
    >>> import numpy as np
    >>> F = SparseTerms(np.array([[0, -1], [0, 1]]), np.array([1, 2]), np.array([1.0, 3.0]))
    >>> shapley_values(F, 3).tolist()
    [-2.0, 0.0, 0.0]
    """
    terms, squeeze = _as_sparse(fourier)
    max_s = int(terms.degrees.max()) if len(terms.degrees) else 0
    per_degree = _fourier_weights("sii", 1, max(max_s, 1))[:, 1]
    return _dense_from_members(terms, per_degree[terms.degrees], n_features, squeeze)


def banzhaf_values(fourier: SparseTerms, n_features: int) -> np.ndarray:
    """Banzhaf values ``beta_i = -2 F({i})``.

    Returns
    -------
    numpy.ndarray
        ``(n_features,)``, or ``(n_features, n_outputs)`` for 2-D values.

    Examples
    --------
    >>> import numpy as np
    >>> F = SparseTerms(np.array([[1, -1], [0, 1]]), np.array([1, 2]), np.array([1.0, 3.0]))
    >>> banzhaf_values(F, 2).tolist()
    [0.0, -2.0]
    """
    terms, squeeze = _as_sparse(fourier)
    weight = np.where(terms.degrees == 1, -2.0, 0.0)
    return _dense_from_members(terms, weight, n_features, squeeze)


def _dense_from_members(
    terms: SparseTerms, weight: np.ndarray, n_features: int, squeeze: bool
) -> np.ndarray:
    """``out[i] = sum_{k : i in S_k} weight[k] * values[k]`` as a dense ``(n, n_outputs)``."""
    indices, degrees, values = terms
    valid = np.arange(indices.shape[1])[None, :] < degrees[:, None]
    rows, cols = np.nonzero(valid)
    feats = indices[rows, cols]
    out = np.empty((n_features, values.shape[1]), dtype=np.float64)
    for o in range(values.shape[1]):
        out[:, o] = np.bincount(feats, weights=weight[rows] * values[rows, o], minlength=n_features)
    return out[:, 0] if squeeze else out
