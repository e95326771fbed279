"""Sparse set functions as padded arrays, and the one superset-sum operator on them.

A sparse set function is stored as three arrays (see :class:`SparseTerms`):

* ``indices``: int64 ``(K, D)``, one row per term, the feature ids in ascending order and
  padded on the right with ``-1``;
* ``degrees``: int64 ``(K,)``, the number of valid entries of each row;
* ``values``: float64 ``(K, n_outputs)``.

:func:`_scatter` computes ``out(T) = sum_{S >= T} w(|S|, |T|) in(S)`` on these arrays:
every conversion of :mod:`captum_spex.indices` is one call of it with its weight table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import combinations
from math import comb
from typing import NamedTuple

import numpy as np

from captum_spex._validation import param_error

__all__ = ["SparseTerms", "array_to_terms", "terms_to_array"]


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
    terms: Iterable[Sequence[int]],
    n_features: int,
    *,
    name: str = "terms",
    caller: str = "terms_to_array",
) -> tuple[np.ndarray, np.ndarray]:
    """Pack index tuples into a padded int64 array, validating them.

    Parameters
    ----------
    terms : iterable of sequences of int
        Each term lists distinct feature ids in ascending order; ``()`` is the constant.
    n_features : int
        Number of features; ids must lie in ``0 .. n_features - 1``.
    name : str, default "terms"
        Parameter name used in error messages.
    caller : str, default "terms_to_array"
        Public function named in error messages.

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
            must = f"a sequence of tuples of int (item {k} is not a tuple)"
            raise param_error(caller, name, must, term, TypeError)
        row = []
        for i in term:
            if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
                must = f"a sequence of tuples of int (item {k} holds a non-int)"
                raise param_error(caller, name, must, term, TypeError)
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
    _check_array_terms(indices, degrees, n_features, name=name, caller=caller)
    return indices, degrees


def pad_terms(terms: Sequence[tuple[int, ...]], width: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Trusted index tuples as int64 ``(K, max(width, 1))`` padded with -1, and degrees
    (no validation: for the engine's own terms; users' terms go through ``terms_to_array``)."""
    sup = np.full((len(terms), max(width, 1)), -1, dtype=np.int64)
    deg = np.zeros(len(terms), dtype=np.int64)
    for q, k in enumerate(terms):
        sup[q, : len(k)] = k
        deg[q] = len(k)
    return sup, deg


def _check_array_terms(
    indices: np.ndarray,
    degrees: np.ndarray,
    n_features: int,
    *,
    name: str = "terms",
    caller: str = "terms_to_array",
) -> None:
    """Validate padded terms: degrees within the width, ids in range, rows strictly
    ascending, rows unique."""
    n_terms, width = indices.shape
    if degrees.shape != (n_terms,) or (n_terms and (degrees.min() < 0 or degrees.max() > width)):
        must = f"degrees (one per term) in 0..{width}, the width of its index array"
        raise param_error(caller, name, must, degrees)
    valid = np.arange(width)[None, :] < degrees[:, None]
    if np.any(indices[~valid] != -1):
        raise param_error(caller, name, "padded with -1 after each term", indices)
    bad = valid & ((indices < 0) | (indices >= n_features))
    if bad.any():
        k = int(np.flatnonzero(bad.any(axis=1))[0])
        must = f"tuples of feature ids in 0..{n_features - 1} (term {k} is not)"
        raise param_error(caller, name, must, _row_to_tuple(indices[k], degrees[k]))
    if width > 1:
        not_ascending = valid[:, 1:] & (np.diff(indices, axis=1) <= 0)
        if not_ascending.any():
            k = int(np.flatnonzero(not_ascending.any(axis=1))[0])
            must = f"strictly ascending tuples of distinct ids (term {k} is not)"
            raise param_error(caller, name, must, _row_to_tuple(indices[k], degrees[k]))
    if n_terms > 1:
        _, inverse, counts = _unique_rows(indices, n_features)
        if np.any(counts > 1):
            dup = int(np.flatnonzero(counts[inverse] > 1)[0])
            must = f"tuples that do not repeat (term {dup} repeats)"
            raise param_error(caller, name, must, _row_to_tuple(indices[dup], degrees[dup]))


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
    the inverse map ``(R,) -> 0..U-1`` and the counts. Rows (distinct ascending ids, padded
    with -1) are packed into a single int64 key, one bit per feature up to 62 features,
    else in base ``n_features + 1`` when that fits, else compared with ``np.unique(axis=0)``.
    """
    n_rows, width = rows.shape
    base = n_features + 1
    if width == 0:
        inverse = np.zeros(n_rows, dtype=np.int64)
        first = np.zeros(min(n_rows, 1), dtype=np.int64)
        return first, inverse, np.array([n_rows] if n_rows else [], dtype=np.int64)
    if n_features <= 62:  # rows of distinct ascending ids: one bit per feature
        key = np.zeros(n_rows, dtype=np.int64)
        for j in range(width):  # bit 0 marks padding (-1), bit i + 1 feature i
            key |= np.left_shift(np.int64(1), rows[:, j] + 1)
        _, first, inverse, counts = np.unique(
            key, return_index=True, return_inverse=True, return_counts=True
        )
    elif base**width < 2**63:
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


def _readonly(a: np.ndarray) -> np.ndarray:
    """``a`` itself, made read-only."""
    a.setflags(write=False)
    return a


def _as_sparse(terms: SparseTerms, name: str, caller: str) -> tuple[SparseTerms, bool]:
    """Return ``terms`` with 2-D float64 values, and whether the input values were 1-D."""
    indices = np.asarray(terms.indices, dtype=np.int64)
    degrees = np.asarray(terms.degrees, dtype=np.int64)
    values = np.asarray(terms.values, dtype=np.float64)
    if (
        indices.ndim != 2
        or degrees.shape != (indices.shape[0],)
        or values.ndim not in (1, 2)
        or values.shape[0] != indices.shape[0]
    ):
        must = "SparseTerms of indices (K, D), degrees (K,) and values (K,) or (K, n_outputs)"
        raise param_error(caller, name, must, terms)
    squeeze = values.ndim == 1
    return SparseTerms(indices, degrees, values[:, None] if squeeze else values), squeeze


def _finish(terms: SparseTerms, squeeze: bool) -> SparseTerms:
    return SparseTerms(
        terms.indices, terms.degrees, terms.values[:, 0] if squeeze else terms.values
    )


#: The most (term, subset) pairs one conversion may expand: its work.
MAX_EXPANSION = 1 << 26
#: The largest estimated size in bytes of one conversion's result.
MAX_RESULT_BYTES = 1 << 26
# pairs expanded at once; partial sums are merged between chunks, bounding the memory
_CHUNK_PAIRS = 1 << 18
# pattern tables up to this many subsets are cached
_CACHED_PATTERNS = 1 << 12


class ExpansionTooLarge(ValueError):
    """A conversion would expand more subsets, or return more terms, than its limits allow.

    Attributes
    ----------
    n_pairs : int
        The (term, subset) pairs the conversion would expand.
    n_result : int
        An upper bound on the number of terms it would return.
    max_degree : int
        The largest degree among the terms.
    """

    def __init__(self, message: str, n_pairs: int, n_result: int, max_degree: int) -> None:
        super().__init__(message)
        self.n_pairs, self.n_result, self.max_degree = n_pairs, n_result, max_degree


def _check_expansion(
    terms: SparseTerms,
    max_t: int,
    limits: tuple[int, int] | None = None,
) -> None:
    """Raise :class:`ExpansionTooLarge` when expanding every term onto its subsets of size
    ``<= max_t`` could exceed ``limits`` (pairs, result bytes); counted, not enumerated."""
    max_pairs, max_bytes = limits or (MAX_EXPANSION, MAX_RESULT_BYTES)
    degs, counts = np.unique(terms.degrees, return_counts=True)
    pairs = sum(
        int(c) * sum(comb(int(d), t) for t in range(min(int(d), max_t) + 1))
        for d, c in zip(_int_list(degs), counts.tolist(), strict=True)
    )
    valid = np.arange(terms.indices.shape[1])[None, :] < terms.degrees[:, None]
    union = int(np.unique(terms.indices[valid]).size)
    width = min(max_t, int(degs.max()) if degs.size else 0)
    n_result = min(pairs, sum(comb(union, t) for t in range(width + 1)))
    n_bytes = n_result * (8 * width + 16 + 8 * terms.values.shape[1])
    if pairs > max_pairs or n_bytes > max_bytes:
        top = int(degs.max())
        raise ExpansionTooLarge(
            f"the conversion would expand {_count(pairs)} (term, subset) pairs into up to "
            f"{_count(n_result)} terms (about {_count(n_bytes >> 20)} MiB; the limits are "
            f"{max_pairs:,} pairs and {max_bytes >> 20:,} MiB): a term of degree {top} "
            f"has {_count(1 << top)} subsets",
            pairs,
            n_result,
            top,
        )


def _count(x: int) -> str:
    """``1,048,576``, or ``2^1100`` for counts past 15 digits."""
    return f"{x:,}" if x < 10**15 else f"2^{x.bit_length() - 1}"


def _int_list(degrees: np.ndarray) -> list[int]:
    """``degrees`` as a list of Python ints."""
    return [int(d) for d in degrees.tolist()]


def _patterns(d: int, max_t: int) -> tuple[np.ndarray, np.ndarray]:
    """Subsets of ``range(d)`` with at most ``max_t`` elements.

    Returns ``cols`` int64 ``(P, min(d, max_t))``, the ascending positions of each subset
    padded with ``d`` (which points at a ``-1`` sentinel column), and their sizes ``(P,)``;
    by size, then lexicographically. Small tables are cached (read-only).
    """
    if sum(comb(d, t) for t in range(min(d, max_t) + 1)) <= _CACHED_PATTERNS:
        return _cached_patterns(d, max_t)
    return _build_patterns(d, max_t)


@lru_cache(maxsize=64)
def _cached_patterns(d: int, max_t: int) -> tuple[np.ndarray, np.ndarray]:
    cols, sizes = _build_patterns(d, max_t)
    cols.setflags(write=False)
    sizes.setflags(write=False)
    return cols, sizes


def _build_patterns(d: int, max_t: int) -> tuple[np.ndarray, np.ndarray]:
    width = min(d, max_t)
    count = sum(comb(d, t) for t in range(width + 1))
    cols = np.full((count, width), d, dtype=np.int64)
    sizes = np.empty(count, dtype=np.int64)
    p = 0
    for t in range(width + 1):
        block = comb(d, t)
        if t:
            cols[p : p + block, :t] = np.fromiter(
                (i for c in combinations(range(d), t) for i in c), np.int64, block * t
            ).reshape(block, t)
        sizes[p : p + block] = t
        p += block
    return cols, sizes


def _scatter(
    terms: SparseTerms,
    weights: np.ndarray,
    max_t: int,
    n_features: int,
    limits: tuple[int, int] | None = None,
) -> SparseTerms:
    """Compute ``out(T) = sum_{S >= T} weights[|S|, |T|] * terms(S)`` for ``|T| <= max_t``.

    Each term of degree ``d`` is expanded onto its subsets of size ``<= max_t`` whose weight
    is non-zero (one gather per degree through a pattern table), the subsets are grouped by
    a packed int64 key, and the contributions summed with ``bincount``, ``_CHUNK_PAIRS``
    pairs at a time (partial sums merged), so that memory follows the result, not the
    work. Nothing is enumerated beyond the subsets of the support. Raises
    :class:`ExpansionTooLarge` (before any work) past ``limits`` (pairs, result bytes;
    default :data:`MAX_EXPANSION`, :data:`MAX_RESULT_BYTES`). The result is in canonical
    order.
    """
    _check_expansion(terms, max_t, limits)
    indices, degrees, values = terms
    n_outputs = values.shape[1]
    jobs = []
    for d in _int_list(np.unique(degrees)):
        if d >= weights.shape[0]:
            raise ValueError("weight table too small for the support degree")
        cols, sizes = _patterns(d, max_t)
        wt = weights[d, sizes] if weights.shape[1] > 0 else np.zeros(0)
        keep = wt != 0
        if keep.any():
            cols, sizes, wt = cols[keep], sizes[keep], wt[keep]
            jobs.append((d, cols[:, : int(sizes.max())], sizes, wt, np.flatnonzero(degrees == d)))
    if not jobs:
        return SparseTerms(
            np.zeros((0, 0), dtype=np.int64),
            np.zeros(0, dtype=np.int64),
            np.zeros((0, n_outputs), dtype=np.float64),
        )
    out_width = max(cols.shape[1] for _, cols, *_ in jobs)
    acc: SparseTerms | None = None
    buffer: list[SparseTerms] = []
    buffered = 0
    for d, cols, sizes, wt, sel in jobs:
        step = max(1, _CHUNK_PAIRS // len(wt))
        for start in range(0, sel.size, step):
            rows_of = sel[start : start + step]
            ext = np.full((rows_of.size, d + 1), -1, dtype=np.int64)
            ext[:, :d] = indices[rows_of, :d]
            rows = np.full((rows_of.size * len(wt), out_width), -1, dtype=np.int64)
            rows[:, : cols.shape[1]] = ext[:, cols].reshape(rows.shape[0], cols.shape[1])
            contrib = (values[rows_of][:, None, :] * wt[None, :, None]).reshape(-1, n_outputs)
            buffer.append(SparseTerms(rows, np.tile(sizes, rows_of.size), contrib))
            buffered += rows.shape[0]
            if buffered >= _CHUNK_PAIRS:
                acc, buffer, buffered = _merge(acc, buffer, n_features), [], 0
    acc = _merge(acc, buffer, n_features)
    order = _canonical_order(acc.indices, acc.degrees)
    return SparseTerms(acc.indices[order], acc.degrees[order], acc.values[order])


def _merge(acc: SparseTerms | None, parts: list[SparseTerms], n_features: int) -> SparseTerms:
    """Sum the values of identical rows of ``acc`` and ``parts`` (one row per subset)."""
    parts = ([acc] if acc is not None else []) + parts
    rows = np.concatenate([p.indices for p in parts])
    degs = np.concatenate([p.degrees for p in parts])
    contrib = np.concatenate([p.values for p in parts])
    first, inverse, _ = _unique_rows(rows, n_features)
    out = np.empty((len(first), contrib.shape[1]), dtype=np.float64)
    for o in range(contrib.shape[1]):
        out[:, o] = np.bincount(inverse, weights=contrib[:, o], minlength=len(first))
    return SparseTerms(rows[first], degs[first], out)


def _select(terms: SparseTerms, keep: np.ndarray, scale: np.ndarray | None = None) -> SparseTerms:
    """Keep some rows (canonical order, trailing all-padding columns dropped)."""
    indices, degrees, values = terms.indices[keep], terms.degrees[keep], terms.values[keep]
    if scale is not None:
        values = values * scale[keep][:, None]
    width = int(degrees.max()) if len(degrees) else 0
    indices = indices[:, :width]
    order = _canonical_order(indices, degrees)
    return SparseTerms(indices[order], degrees[order], values[order])


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
