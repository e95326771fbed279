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

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np

__all__ = [
    "SparseTerms",
    "array_to_terms",
    "terms_to_array",
]


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
