"""The views of an explanation: its Fourier coefficients, every index of the table
:data:`~captum_spex.indices.INDICES`, per-feature values and the top-k ranking.

:class:`_IndexViews` holds the methods of :class:`~captum_spex.Interactions` that derive
values from the stored Fourier coefficients; the class itself (construction, prediction,
persistence) is in :mod:`captum_spex.interactions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from captum_spex._terms import _readonly
from captum_spex._top_term import TopTerm
from captum_spex._validation import Bool, Int, Optional, Real, check_param, check_params
from captum_spex.indices import (
    ExpansionTooLarge,
    IndexName,
    SparseTerms,
    _check_index,
    _check_order,
    _to_index,
    array_to_terms,
    banzhaf_values,
    shapley_values,
)

__all__ = ["TopTerm", "ZERO_RTOL"]

#: ``top()`` leaves out values at most this fraction of the largest: zero up to rounding.
ZERO_RTOL = 1e-12
# the work ``repr`` may spend on the Möbius view: (term, subset) pairs, result bytes
_REPR_LIMITS = (1 << 22, 1 << 24)

_TOP_PARAMS = {
    "k": Int(0),
    "include_constant": Bool(),
    "min_order": Int(0),
    "rtol": Optional(Real(0.0)),
}


class _IndexViews:
    """Methods of ``Interactions`` reading its Fourier coefficients.

    The host sets ``_n_features``, ``_max_degree``, ``_multi``, the read-only canonical
    arrays ``_indices``, ``_degrees``, ``_values`` (2-D), ``_anchor`` (``(2, n_outputs)`` or
    None) and an empty ``_cache`` dict.
    """

    _n_features: int
    _feature_names: tuple[str, ...] | None
    _max_degree: int
    _multi: bool
    _indices: np.ndarray
    _degrees: np.ndarray
    _values: np.ndarray
    _anchor: np.ndarray | None
    _cache: dict[tuple, Any]

    def fourier(self, output: int | None = None) -> dict[tuple[int, ...], Any]:
        """Fourier coefficients as a dict ``{term: value}``.

        Parameters
        ----------
        output : int, optional
            For a multi-output explanation, the output to return (values are floats);
            with None each value is a 1-D array over outputs.

        Returns
        -------
        dict
            ``{tuple: float}`` (or ``{tuple: ndarray}`` for multi-output with ``output=None``).

        Examples
        --------
        >>> from captum_spex import Interactions
        >>> Interactions(2, [(1,), ()], [2.0, 1.0]).fourier()
        {(): 1.0, (1,): 2.0}
        """
        res = SparseTerms(self._indices, self._degrees, self._values)
        return self._as_dict(res, output, "Interactions.fourier")

    def _as_dict(
        self, res: SparseTerms, output: int | None, caller: str
    ) -> dict[tuple[int, ...], Any]:
        keys = array_to_terms(res.indices, res.degrees)
        if self._multi and output is None:
            return {k: v for k, v in zip(keys, res.values.copy(), strict=True)}
        column = self._check_output(output, caller)
        return dict(zip(keys, res.values[:, column].tolist(), strict=True))

    def _check_output(self, output: int | None, caller: str) -> int:
        output = check_param(output, "output", Optional(Int(0, self._values.shape[1] - 1)), caller)
        return 0 if output is None else output

    # ------------------------------------------------------------------ indices
    def _fourier_terms(self) -> SparseTerms:
        return SparseTerms(self._indices, self._degrees, self._values)

    def resolve_order(self, index: IndexName, order: int | None = None) -> int | None:
        """The order an index is computed at: ``order``, else :attr:`max_degree` for the
        ordered indices (``INDICES[index].ordered``), else None (no cap).

        Examples
        --------
        >>> from captum_spex import Interactions
        >>> inter = Interactions(3, [(), (0, 1)], [1.0, 0.5])
        >>> inter.resolve_order("fsii"), inter.resolve_order("fsii", 1), inter.resolve_order("sii")
        (2, 1, None)
        """
        return self._resolve_order(index, order, "Interactions.resolve_order")

    def _resolve_order(self, index: str, order: int | None, caller: str) -> int | None:
        spec = _check_index(index, caller)
        order = _check_order(order, self._n_features, caller)
        if order is None and spec.ordered:
            order = min(max(self._max_degree, 1), self._n_features)
        return order

    def _index(
        self,
        index: str,
        order: int | None,
        caller: str,
        limits: tuple[int, int] | None = None,
    ) -> SparseTerms:
        order = self._resolve_order(index, order, caller)
        key = (index, order)
        if key not in self._cache:
            try:
                res = _to_index(
                    self._fourier_terms(), self._n_features, index, order, caller, limits
                )
            except ExpansionTooLarge as exc:
                raise ExpansionTooLarge(
                    f"{caller}: the {index!r} index of this explanation is too large to "
                    f"compute: {exc}. Ask for the terms up to a given size (the 'order' "
                    "parameter of index() and top()), or read the Fourier coefficients "
                    "(index='fourier'), which need no expansion.",
                    exc.n_pairs,
                    exc.n_result,
                    exc.max_degree,
                ) from None
            self._cache[key] = SparseTerms(*(_readonly(np.asarray(a)) for a in res))
        return self._cache[key]

    def index_arrays(self, index: IndexName = "mobius", order: int | None = None) -> SparseTerms:
        """An index in array form, for vectorised work (plots, exports).

        Parameters
        ----------
        index : str, default "mobius"
            See :meth:`index`.
        order : int, optional
            See :meth:`index`.

        Returns
        -------
        SparseTerms
            Read-only ``indices`` ``(K, D)`` (padded with -1), ``degrees`` ``(K,)`` and
            ``values`` ``(K,)`` or ``(K, n_outputs)``, in canonical order.

        Examples
        --------
        >>> from captum_spex import Interactions
        >>> inter = Interactions(2, [(), (0, 1)], [1.0, 0.5])
        >>> inter.index_arrays("mobius").degrees.tolist()
        [0, 1, 1, 2]
        """
        res = self._index(index, order, "Interactions.index_arrays")
        return res if self._multi else SparseTerms(res.indices, res.degrees, res.values[:, 0])

    def index(
        self, index: IndexName, order: int | None = None, output: int | None = None
    ) -> dict[tuple[int, ...], Any]:
        """Interaction index as a sparse dict ``{term: value}``.

        Parameters
        ----------
        index : str
            A name of :data:`captum_spex.indices.INDICES` ("fourier", "mobius", "bii",
            "sii", "k-sii", "stii", "fsii", "fbii"); ``INDICES[index].description`` says
            what each one is.
        order : int, optional
            The order ``l`` of the ordered indices ("k-sii", "stii", "fsii", "fbii";
            default :attr:`max_degree`). For the other indices an optional cap: only
            terms with ``|T| <= order`` are returned. Must satisfy
            ``1 <= order <= n_features``.
        output : int, optional
            See :meth:`fourier`.

        Returns
        -------
        dict
            ``{tuple: float}`` in canonical order (by degree, then lexicographically), on
            every subset where the index can be non-zero; includes the constant ``()``.

        Raises
        ------
        ValueError
            If ``index`` is not a valid name (the message lists them) or ``order`` is out
            of range.

        Examples
        --------
        >>> from captum_spex import Interactions
        >>> inter = Interactions(3, [(), (0,), (1, 2)], [1.0, 0.5, -2.0])
        >>> inter.index("fsii", order=1)  # order 1: the Shapley values (0 for 1 and 2)
        {(): -0.5, (0,): -1.0}
        >>> inter.index("stii", order=2)
        {(): -0.5, (0,): -1.0, (1,): 4.0, (2,): 4.0, (1, 2): -8.0}
        """
        caller = "Interactions.index"
        return self._as_dict(self._index(index, order, caller), output, caller)

    def mobius(self, output: int | None = None) -> dict[tuple[int, ...], Any]:
        """Möbius (Harsanyi) coefficients ``a(T)``: ``f(m) = sum_{T <= kept(m)} a(T)``.

        Examples
        --------
        >>> from captum_spex import Interactions
        >>> Interactions(1, [(), (0,)], [1.0, 0.5]).mobius()
        {(): 1.5, (0,): -1.0}
        """
        caller = "Interactions.mobius"
        return self._as_dict(self._index("mobius", None, caller), output, caller)

    def shapley_values(self, output: int | None = None) -> np.ndarray:
        """Shapley values, ``(n_features,)`` or ``(n_features, n_outputs)``.

        They satisfy efficiency: ``sum_i phi_i = f(all kept) - f(none kept)`` of the
        surrogate, which with :attr:`anchor_residuals` is the model's own difference.

        Examples
        --------
        >>> from captum_spex import Interactions
        >>> Interactions(2, [(), (0,), (0, 1)], [1.0, 0.5, 2.0]).shapley_values().tolist()
        [-1.0, 0.0]
        """
        values = shapley_values(self._fourier_terms(), self._n_features)
        if self._anchor is not None:
            values = values + (self._anchor[0] - self._anchor[1]) * _point_weight(
                "shapley", self._n_features
            )
        return self._per_feature(values, output, "Interactions.shapley_values")

    def banzhaf_values(self, output: int | None = None) -> np.ndarray:
        """Banzhaf values ``beta_i = -2 F({i})``, ``(n_features,)`` or ``(n_features, n_outputs)``
        (plus ``(r_full - r_base) / 2^(n-1)`` with :attr:`anchor_residuals`).

        Examples
        --------
        >>> from captum_spex import Interactions
        >>> Interactions(2, [(), (0,), (0, 1)], [1.0, 0.5, 2.0]).banzhaf_values().tolist()
        [-1.0, 0.0]
        """
        values = banzhaf_values(self._fourier_terms(), self._n_features)
        if self._anchor is not None:
            values = values + (self._anchor[0] - self._anchor[1]) * _point_weight(
                "banzhaf", self._n_features
            )
        return self._per_feature(values, output, "Interactions.banzhaf_values")

    def _per_feature(self, values: np.ndarray, output: int | None, caller: str) -> np.ndarray:
        if self._multi and output is None:
            return values
        return values[:, self._check_output(output, caller)]

    def top(
        self,
        k: int = 10,
        index: IndexName = "mobius",
        order: int | None = None,
        *,
        output: int | None = None,
        include_constant: bool = False,
        min_order: int = 0,
        rtol: float | None = ZERO_RTOL,
    ) -> list[TopTerm]:
        """The ``k`` largest-magnitude terms of an index, largest first.

        Parameters
        ----------
        k : int, default 10
            Number of terms to return (fewer if the index has fewer).
        index : str, default "mobius"
            Any name accepted by :meth:`index`.
        order : int, optional
            See :meth:`index`.
        output : int, optional
            For multi-output explanations, rank one output; with None, rank by the
            Euclidean norm over outputs and return 1-D arrays as values.
        include_constant : bool, default False
            Whether the constant ``()`` may appear.
        min_order : int, default 0
            Smallest term size returned; 2 returns only genuine interactions.
        rtol : float, default 1e-12
            Leave out the terms whose magnitude is at most ``rtol`` times the largest
            magnitude of the index (over all its terms): the default drops values that
            are zero up to rounding (a ``1e-15`` Möbius term of an exact fit); 0.0 keeps
            every non-zero term, None every term.

        Returns
        -------
        list of TopTerm
            ``(term, value)`` named tuples, with the feature names of each term in
            ``.names`` (and ``.label``) when the explanation has ``feature_names``, and
            each value's standard error in ``.stderr`` (``.interval``, ``.covers_zero``)
            when it carries standard errors; ties keep the canonical order.

        Raises
        ------
        ExpansionTooLarge
            A ``ValueError``, at once, when the index would expand too many subsets (a
            term of degree ``d`` has ``2^d``); the message says what to ask for instead.

        Examples
        --------
        >>> from captum_spex import Interactions
        >>> inter = Interactions(3, [(), (0,), (1, 2)], [5.0, 0.5, -2.0])
        >>> inter.top(2, index="fourier")
        [TopTerm(term=(1, 2), value=-2.0), TopTerm(term=(0,), value=0.5)]
        >>> inter.top(index="fourier", min_order=2)
        [TopTerm(term=(1, 2), value=-2.0)]
        >>> named = Interactions(2, [(0, 1)], [1.0], feature_names=["not", "bad"])
        >>> named.top(1, index="fourier")[0].label
        '(not, bad)'
        """
        caller = "Interactions.top"
        params = check_params(
            caller,
            _TOP_PARAMS,
            k=k,
            include_constant=include_constant,
            min_order=min_order,
            rtol=rtol,
        )
        res = self._index(index, order, caller)
        return self._ranked(res, output, params, caller, (index, order))

    def _ranked(
        self,
        res: SparseTerms,
        output: int | None,
        params: dict[str, Any],
        caller: str,
        errors_of: tuple[str, int | None] | None = None,
    ) -> list[TopTerm]:
        """The top terms of ``res``, each with its standard error when ``errors_of`` (the
        index and order of ``res``) is given and the explanation carries errors."""
        values = res.values
        if self._multi and output is None:
            magnitude = np.sqrt(np.sum(values**2, axis=1))
            column = None
        else:
            column = self._check_output(output, caller)
            magnitude = np.abs(values[:, column])
        keep = res.degrees >= params["min_order"]
        if not params["include_constant"]:
            keep &= res.degrees != 0
        if params["rtol"] is not None:
            largest = float(magnitude.max()) if magnitude.size else 0.0
            keep &= magnitude > params["rtol"] * largest
        candidates = np.flatnonzero(keep)
        ranked = candidates[np.argsort(-magnitude[candidates], kind="stable")][: params["k"]]
        terms = array_to_terms(res.indices[ranked], res.degrees[ranked])
        if column is None:
            picked = [values[r].copy() for r in ranked]
        else:
            picked = values[ranked, column].tolist()
        names = self._feature_names
        errors = None if errors_of is None else self._term_errors(*errors_of, column)
        if errors is None:
            stderr: list[Any] = [None] * len(terms)
        elif column is None:
            stderr = [np.array([e[t] for e in errors]) for t in terms]
        else:
            stderr = [errors[0][t] for t in terms]
        return [
            TopTerm(t, v, None if names is None else [names[i] for i in t], e)
            for t, v, e in zip(terms, picked, stderr, strict=True)
        ]

    def _repr_top(self, k: int) -> tuple[str, list[TopTerm], str]:
        """(title, top ``k`` terms, what they are the top of) for ``repr``: Möbius when it is
        cheap (:data:`_REPR_LIMITS`), else the Fourier terms, which need no work.

        The third item names its count, so that it cannot be read as the ``n_terms`` of the
        head (the stored Fourier terms, constant included): "47 non-zero Möbius terms,
        from the 48 Fourier terms" (non-constant terms above :data:`ZERO_RTOL` of the
        largest, as ``top()`` ranks them).
        """
        params = {"k": k, "include_constant": False, "min_order": 0, "rtol": ZERO_RTOL}
        caller = "Interactions.__repr__"
        try:
            res = self._index("mobius", None, caller, _REPR_LIMITS)
            title, view = "Möbius interactions", "Möbius"
        except ExpansionTooLarge as exc:
            res = self._fourier_terms()
            title, view = (
                f"Fourier terms; the Möbius view of a degree-{exc.max_degree} term is too "
                "large to show",
                "Fourier",
            )
        top = self._ranked(res, None, params, caller)
        magnitude = np.sqrt(np.sum(res.values**2, axis=1))
        largest = float(magnitude.max()) if magnitude.size else 0.0
        n_shown = int(np.count_nonzero((res.degrees != 0) & (magnitude > ZERO_RTOL * largest)))
        count = f"{n_shown:,} non-zero {view} {_plural('term', n_shown)}"
        if view == "Möbius":
            n_fourier = len(self._degrees)
            count += f", from the {n_fourier:,} Fourier {_plural('term', n_fourier)}"
        return title, top, count


def _point_weight(kind: str, n_features: int) -> float:
    """Each feature's Shapley or Banzhaf value of the point game ``[m = full]`` (that of
    ``[m = none]`` is its negative): the game is symmetric, so the Shapley values share it
    equally; a Banzhaf value sees it in one of its ``2^(n-1)`` marginals."""
    return 1.0 / n_features if kind == "shapley" else 0.5 ** (n_features - 1)


def _plural(noun: str, n: int) -> str:
    return noun if n == 1 else noun + "s"


# ---------------------------------------------------------------------- repr
# Diagnostics the repr shows, in this order, when present: the fit's estimated R² and
# size first (the method and the queries are in the head line), then the method's own.
_REPR_DIAGNOSTICS = (
    "r2_estimate",
    "n_terms",
    "stopped",
    "noise_sd",
    "snr_db",
    "b",
    "t",
    "n_groups",
    "n_peeled",
    "r2",
)
# A list diagnostic (one value per output) shows this many values, then "…".
_REPR_LIST = 3


def _format_diagnostics(diagnostics: Mapping[str, Any], n_stored: int | None = None) -> str:
    """The diagnostics line of ``repr``: :data:`_REPR_DIAGNOSTICS` and the noise estimates,
    then how many more there are.

    ``n_terms`` is the method's count of fitted terms, which the ``n_terms`` of the head
    (``len(interactions)``, the stored terms) can exceed: ``spex()`` adds the constant
    when the fit has none. The line says so, with the stored count when ``n_stored`` is
    given.

    Examples
    --------
    >>> _format_diagnostics({"mode": "auto", "r2_estimate": 0.95412, "n_terms": 485}, 485)
    'r2_estimate=0.9541, n_terms=485 (fitted by the method) (+1 more in .diagnostics)'
    >>> _format_diagnostics({"n_terms": 46, "r2_estimate": [0.95, None]}, n_stored=47)
    'r2_estimate=[0.95, None], n_terms=46 (fitted by the method; 47 with the constant)'
    """
    keys = [k for k in _REPR_DIAGNOSTICS if k in diagnostics]
    keys += [k for k in diagnostics if k.startswith("noise") and k not in keys]
    parts = []
    for key in keys:
        text = _format_diagnostic(diagnostics[key])
        if text is None:
            continue
        if key == "n_terms" and isinstance(diagnostics[key], int):
            if n_stored is None:
                text += " (fitted by the method, before the constant is added)"
            elif n_stored != diagnostics[key]:
                text += f" (fitted by the method; {n_stored:,} with the constant)"
            else:
                text += " (fitted by the method)"
        parts.append(f"{key}={text}")
    others = len(diagnostics) - len(parts)
    text = ", ".join(parts)
    if others > 0:
        text += f"{' ' if text else ''}(+{others} more in .diagnostics)"
    return text


def _format_diagnostic(value: Any) -> str | None:
    """One diagnostic value for ``repr``, None for one it does not show (a dict, a long
    string list...)."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else None
    if isinstance(value, list) and all(
        v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in value
    ):
        shown = [_format_diagnostic(v) for v in value[:_REPR_LIST]]
        more = ", …" if len(value) > _REPR_LIST else ""
        return "[" + ", ".join(s for s in shown if s is not None) + more + "]"
    return None


def _format_value(value: Any, scale: float | None = None) -> str:
    """A value for ``repr``: 4 significant digits and a sign; a value at most
    :data:`ZERO_RTOL` times ``scale`` (default: the largest magnitude of ``value``) is a
    zero up to rounding and shows as ``0``.

    Examples
    --------
    >>> _format_value(7.17812), _format_value(-0.000123), _format_value(0.0)
    ('+7.178', '-0.000123', '0')
    >>> _format_value(np.array([2.0, 1e-15, -0.5]))
    '[+2, 0, -0.5]'
    """
    values = np.atleast_1d(np.asarray(value, dtype=np.float64))
    if scale is None:
        scale = float(np.max(np.abs(values))) if values.size else 0.0
    texts = ["0" if abs(v) <= ZERO_RTOL * scale else f"{v:+.4g}" for v in values.tolist()]
    if isinstance(value, np.ndarray):
        return "[" + ", ".join(texts) + "]"
    return texts[0]
