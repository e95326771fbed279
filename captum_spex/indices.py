"""The interaction indices: one table, and sparse conversions from Fourier coefficients.

:data:`INDICES` is the one place an index is declared: its name, its display title,
whether it takes an order ``l``, its weight on the Möbius coefficients, and what it is.
Everything else (the ``index`` parameter check, :data:`IndexName`,
:data:`ORDERED_INDICES`, :meth:`Interactions.index`, the plot titles) reads the table, so
adding an index is one entry (and its weight function).

Conventions (spex-algorithm.md section 1): a mask ``m`` keeps feature ``i`` when
``m[i]`` is True, and the Fourier expansion is ``f(m) = sum_S F(S) (-1)^{|S & kept(m)|}``.
The sparse array form (:class:`SparseTerms`) lives in :mod:`captum_spex._terms`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import cache, lru_cache
from math import comb
from typing import Literal

import numpy as np

from captum_spex._terms import (
    ExpansionTooLarge,
    SparseTerms,
    _as_sparse,
    _check_expansion,
    _dense_from_members,
    _finish,
    _scatter,
    _select,
    array_to_terms,
    terms_to_array,
)
from captum_spex._validation import Int, Optional, Options, check_param

__all__ = [
    "ExpansionTooLarge",
    "INDEX_NAMES",
    "INDICES",
    "IndexName",
    "IndexSpec",
    "ORDERED_INDICES",
    "SparseTerms",
    "array_to_terms",
    "banzhaf_values",
    "fourier_from_mobius",
    "fourier_to_index",
    "mobius_from_fourier",
    "shapley_values",
    "terms_to_array",
]

#: ``c(|U|, |T|, l)``: the weight of the Möbius coefficient ``a(U)`` in ``index(T)``.
MobiusWeight = Callable[[int, int, int], Fraction]


@dataclass(frozen=True)
class IndexSpec:
    """One interaction index, as declared in :data:`INDICES`.

    Attributes
    ----------
    name : str
        The name accepted by :func:`fourier_to_index` and ``Interactions.index``.
    title : str
        Display name (plot titles, reports).
    mobius_weight : callable
        ``c(u, t, l) -> Fraction`` with ``index(T) = sum_{U >= T} c(|U|, |T|, l) a(U)``,
        ``a`` the Möbius coefficients and ``l`` the order.
    description : str
        What the index is, with its reference.
    ordered : bool, default False
        Whether the index takes an order ``l`` (its values change with it); for the other
        indices an ``order`` only caps the returned terms at ``|T| <= order``.
    diagonal : bool, default False
        Whether ``index(T)`` is a multiple of ``F(T)`` alone: it is then computed by a
        selection of the Fourier terms, without a superset sum.

    Examples
    --------
    >>> INDICES["fsii"].label(2)
    'FSII (order 2)'
    """

    name: str
    title: str
    mobius_weight: MobiusWeight
    description: str
    ordered: bool = False
    diagonal: bool = False

    def label(self, order: int | None = None) -> str:
        """The title, with the order when one is given."""
        return self.title if order is None else f"{self.title} (order {order})"


# ---------------------------------------------------------------------- Möbius weights
@cache
def _bernoulli(m: int) -> Fraction:
    """Bernoulli number B_m with the convention B_1 = -1/2."""
    if m == 0:
        return Fraction(1)
    return -sum((comb(m + 1, k) * _bernoulli(k) for k in range(m)), Fraction(0)) / (m + 1)


def _fourier_weight(u: int, t: int, ell: int) -> Fraction:
    return Fraction((-1) ** t, 2**u)  # F(T) = (-1)^|T| sum_{U >= T} 2^-|U| a(U)


def _mobius_weight(u: int, t: int, ell: int) -> Fraction:
    return Fraction(int(u == t))


def _bii_weight(u: int, t: int, ell: int) -> Fraction:
    return Fraction(1, 2 ** (u - t))


def _sii_weight(u: int, t: int, ell: int) -> Fraction:
    return Fraction(1, u - t + 1)


def _ksii_weight(u: int, t: int, ell: int) -> Fraction:
    if t == 0:
        return Fraction(int(u == 0))
    return sum(
        (comb(u - t, m - t) * _bernoulli(m - t) / (u - m + 1) for m in range(t, min(u, ell) + 1)),
        Fraction(0),
    )


def _stii_weight(u: int, t: int, ell: int) -> Fraction:
    if t < ell:
        return Fraction(int(u == t))
    return Fraction(1, comb(u, ell))


def _fsii_weight(u: int, t: int, ell: int) -> Fraction:
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


def _fbii_weight(u: int, t: int, ell: int) -> Fraction:
    if u <= ell:
        return Fraction(int(u == t))
    return Fraction((-1) ** (ell - t) * comb(u - t - 1, ell - t), 2 ** (u - t))


# ---------------------------------------------------------------------- the table
INDICES: dict[str, IndexSpec] = {
    spec.name: spec
    for spec in (
        IndexSpec("fourier", "Fourier", _fourier_weight, "Fourier coefficients", diagonal=True),
        IndexSpec("mobius", "Möbius", _mobius_weight, "Möbius (Harsanyi) coefficients"),
        IndexSpec("bii", "BII", _bii_weight, "Banzhaf interaction index", diagonal=True),
        IndexSpec("sii", "SII", _sii_weight, "Shapley interaction index"),
        IndexSpec(
            "k-sii",
            "k-SII",
            _ksii_weight,
            "k-Shapley values (Bordt & von Luxburg, 2023)",
            ordered=True,
        ),
        IndexSpec(
            "stii",
            "STII",
            _stii_weight,
            "Shapley-Taylor index (Sundararajan et al., 2020)",
            ordered=True,
        ),
        IndexSpec("fsii", "FSII", _fsii_weight, "Faith-Shap (Tsai et al., 2023)", ordered=True),
        IndexSpec("fbii", "FBII", _fbii_weight, "Faith-Banzhaf (Tsai et al., 2023)", ordered=True),
    )
}
"""Every interaction index, by name (see :class:`IndexSpec`)."""

INDEX_NAMES: tuple[str, ...] = tuple(INDICES)

IndexName = Literal[INDEX_NAMES]  # type: ignore[valid-type]
"""Names accepted by :func:`fourier_to_index` and ``Interactions.index``: :data:`INDICES`."""

#: Indices defined relative to an explicit order (their values change with it).
ORDERED_INDICES: tuple[str, ...] = tuple(name for name, spec in INDICES.items() if spec.ordered)

# The 'index' parameter: one of the table's names, read when a value is checked.
_INDEX = Options(lambda: tuple(INDICES))


def _check_index(index: str, caller: str) -> IndexSpec:
    """The table entry of ``index``, or the package's error listing the table's names."""
    return INDICES[check_param(index, "index", _INDEX, caller)]


def _check_order(order: int | None, n_features: int, caller: str) -> int | None:
    return check_param(order, "order", Optional(Int(1, n_features)), caller)


# ---------------------------------------------------------------------- weight tables
# Every conversion has the form  out(T) = sum_{S in support, S >= T} w(|S|, |T|) * in(S): the
# value at T depends on S only through the two sizes. The tables are computed exactly with
# fractions from the Möbius weights (they are tiny) and converted to float64 once.


@lru_cache(maxsize=256)
def _fourier_weights(
    index: str,
    order: int,
    max_s: int,
    rows: tuple[int, ...] | None = None,
    diagonal: bool = False,
) -> np.ndarray:
    """Table ``w[s, t]`` of ``index(T) = sum_{S >= T} w(|S|, |T|) F(S)`` for ``t <= order``.

    Entries with ``t > min(s, order)`` are 0. Only the rows ``s`` in ``rows`` (default:
    all), and with ``diagonal`` only the entries ``t == s``, are computed: a lone
    high-degree term needs one row, not ``max_s^3`` fractions.
    """
    c = INDICES[index].mobius_weight
    max_t = min(order, max_s)
    table = np.zeros((max_s + 1, max_t + 1), dtype=np.float64)
    for s in range(max_s + 1) if rows is None else rows:
        for t in range(s, s + 1) if diagonal else range(min(s, max_t) + 1):
            # a(U) = (-2)^|U| sum_{S >= U} F(S); count the U with T <= U <= S by size.
            w = sum(
                (
                    comb(s - t, j) * Fraction((-2) ** (t + j)) * c(t + j, t, order)
                    for j in range(s - t + 1)
                ),
                Fraction(0),
            )
            try:
                table[s, t] = float(w)
            except OverflowError:  # (-2)^s past 2^1024: as float arithmetic would
                table[s, t] = np.inf if w > 0 else -np.inf
    return table


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
    return _to_index(fourier, n_features, "mobius", None, "mobius_from_fourier")


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
    terms, squeeze = _as_sparse(mobius, "mobius", "fourier_from_mobius")
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
    index : str
        A name of :data:`INDICES`: "fourier", "mobius", "bii", "sii", "k-sii", "stii",
        "fsii" or "fbii" (spex-algorithm.md section 2).
    order : int, optional
        For the ordered indices ("k-sii", "stii", "fsii", "fbii") the order ``l`` of the
        index (default: the largest degree in the support, at least 1). For the other
        indices, an optional cap: only terms with ``|T| <= order`` are returned (their
        values do not depend on it). Must satisfy ``1 <= order <= n_features``.

    Returns
    -------
    SparseTerms
        The index on every subset it can be non-zero on, in canonical order (by degree,
        then lexicographically); the constant ``()`` is included where the index defines it.

    Raises
    ------
    ExpansionTooLarge
        A ``ValueError``, before any work, when the superset sum would expand more than
        ``captum_spex._terms.MAX_EXPANSION`` (term, subset) pairs or return more than
        ``MAX_RESULT_BYTES``: a term of degree ``d`` has ``2^d`` subsets. A smaller
        ``order`` bounds it (only subsets up to that size are formed).

    Examples
    --------
    >>> import numpy as np
    >>> F = SparseTerms(np.array([[0, 1]]), np.array([2]), np.array([1.0]))
    >>> sii = fourier_to_index(F, 2, "sii")
    >>> array_to_terms(sii.indices, sii.degrees), sii.values.tolist()
    ([(), (0, 1)], [0.3333333333333333, 4.0])
    """
    return _to_index(fourier, n_features, index, order, "fourier_to_index")


def _to_index(
    fourier: SparseTerms,
    n_features: int,
    index: str,
    order: int | None,
    caller: str,
    limits: tuple[int, int] | None = None,
    power: int = 1,
) -> SparseTerms:
    """The conversion behind :func:`fourier_to_index`; ``limits`` (pairs, result bytes)
    bound the work of a superset sum (see :class:`~captum_spex._terms.ExpansionTooLarge`).
    With ``power=2`` every weight is squared: given the variances of independent
    coefficients, it returns the variances of the index."""
    spec = _check_index(index, caller)
    order = _check_order(order, n_features, caller)
    terms, squeeze = _as_sparse(fourier, "fourier", caller)
    max_s = int(terms.degrees.max()) if len(terms.degrees) else 0
    if spec.diagonal:
        keep = terms.degrees <= (order if order is not None else max_s)
        sizes = tuple(int(d) for d in np.unique(terms.degrees).tolist())
        diag = np.diagonal(_fourier_weights(spec.name, max_s, max_s, sizes, diagonal=True))
        # An identity weight leaves the values untouched (no multiplication at all).
        scale = None if np.all(diag == 1.0) else diag[terms.degrees] ** power
        return _finish(_select(terms, keep, scale), squeeze)
    if order is None:
        order = max(max_s, 1) if spec.ordered else max_s
    max_t = min(order, max_s)
    _check_expansion(terms, max_t, limits)  # before the weights, before any work
    sizes = tuple(int(d) for d in np.unique(terms.degrees).tolist())
    weights = _fourier_weights(spec.name, order, max_s, sizes) ** power
    return _finish(_scatter(terms, weights, max_t, n_features, limits), squeeze)


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
    terms, squeeze = _as_sparse(fourier, "fourier", "shapley_values")
    return _dense_from_members(terms, _attribution_weights("shapley", terms), n_features, squeeze)


def _attribution_weights(kind: str, terms: SparseTerms) -> np.ndarray:
    """Each term's weight in the Shapley (-2 / |S| for odd |S|: the "sii" weight table at
    order 1, in closed form) or the Banzhaf values (-2 for a singleton)."""
    sizes = terms.degrees
    if kind == "shapley":
        return np.where(sizes % 2 == 1, -2.0 / np.maximum(sizes, 1), 0.0)
    return np.where(sizes == 1, -2.0, 0.0)


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
    terms, squeeze = _as_sparse(fourier, "fourier", "banzhaf_values")
    return _dense_from_members(terms, _attribution_weights("banzhaf", terms), n_features, squeeze)
