"""How sure each number is: standard errors of every index, from the coefficients' own.

Every index, the Shapley and the Banzhaf values are linear in the Fourier coefficients:
``I(T) = sum_S w(T, S) F(S)``. With independent coefficient errors (parity features are
nearly orthogonal under uniform masks) the variance of each is exact and cheap:
``Var I(T) = sum_S w(T, S)^2 se(S)^2``, the same conversion with squared weights applied to
the variances.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from captum_spex._interactions_views import _point_weight
from captum_spex._terms import _dense_from_members
from captum_spex._validation import Options, check_params
from captum_spex.indices import (
    ExpansionTooLarge,
    SparseTerms,
    _attribution_weights,
    _to_index,
    array_to_terms,
)

__all__ = ["_ErrorViews"]

_PARAMS = {"kind": Options(("shapley", "banzhaf"))}


class _ErrorViews:
    """Standard errors of the views of :class:`~captum_spex.Interactions` (a mixin)."""

    _anchor: np.ndarray | None

    def _variances(self, output: int | None, caller: str) -> SparseTerms:
        if self._stderr is None:
            raise ValueError(
                f"{caller}: this explanation carries no standard errors (method "
                f"{self._method!r} gives none for it, or it was built without them)."
            )
        column = self._check_output(output, caller)
        return SparseTerms(self._indices, self._degrees, self._stderr[:, [column]] ** 2)

    def _term_errors(
        self, index: str, order: int | None, column: int | None
    ) -> list[dict[tuple[int, ...], float]] | None:
        """Per output (all with ``column=None``), ``{term: standard error}`` of an index,
        cached; None when the explanation carries none or the index is too large."""
        if self._stderr is None:
            return None
        columns = range(self._stderr.shape[1]) if column is None else [column]
        out = []
        for c in columns:
            key = ("stderr", index, order, c)
            if key not in self._cache:
                try:
                    self._cache[key] = self.index_standard_errors(index, order, output=c)
                except ExpansionTooLarge:
                    return None
            out.append(self._cache[key])
        return out

    def index_standard_errors(
        self,
        index: str = "mobius",
        order: int | None = None,
        *,
        output: int | None = None,
    ) -> dict[tuple[int, ...], float]:
        """Standard errors of :meth:`index` (same terms), from the coefficients' own.

        ``value ± 1.96 * error`` is an approximate 95% interval; a term whose interval
        covers zero is not distinguishable from zero at this budget.

        Parameters
        ----------
        index : str, default "mobius"
            Any name accepted by :meth:`index`.
        order : int, optional
            See :meth:`index`.
        output : int, optional
            The output, for a multi-output explanation (default 0).

        Returns
        -------
        dict
            ``{term: standard error}`` over the terms of ``index(index, order)``.

        Raises
        ------
        ValueError
            If the explanation carries no standard errors (see :attr:`standard_errors`).

        Examples
        --------
        >>> from captum_spex import Interactions
        >>> inter = Interactions(2, [(), (0,)], [1.0, -0.5], standard_errors=[0.0, 0.1])
        >>> inter.index_standard_errors("mobius")[(0,)]  # a((0,)) = -2 F((0,))
        0.2
        """
        caller = "Interactions.index_standard_errors"
        order = self._resolve_order(index, order, caller)
        var = _to_index(
            self._variances(output, caller), self._n_features, index, order, caller, power=2
        )
        errors = np.sqrt(np.maximum(var.values[:, 0], 0.0))
        return dict(zip(array_to_terms(var.indices, var.degrees), errors.tolist()))

    def attribution_standard_errors(
        self, kind: str = "shapley", *, output: int | None = None
    ) -> np.ndarray:
        """Standard errors ``(n_features,)`` of :meth:`shapley_values` or
        :meth:`banzhaf_values` (``kind``), from the coefficients' own. The anchor
        residuals count as two terms whose standard error is their own size (one noisy
        query each, or the sparse fit's miss there).

        Examples
        --------
        >>> from captum_spex import Interactions
        >>> inter = Interactions(2, [(), (1,)], [1.0, -0.5], standard_errors=[0.0, 0.1])
        >>> inter.attribution_standard_errors("banzhaf").tolist()
        [0.0, 0.2]
        """
        caller = "Interactions.attribution_standard_errors"
        p: dict[str, Any] = check_params(caller, _PARAMS, kind=kind)
        var = self._variances(output, caller)
        weight = _attribution_weights(p["kind"], var) ** 2
        total = _dense_from_members(var, weight, self._n_features, squeeze=True)
        if self._anchor is not None:
            r = self._anchor[:, self._check_output(output, caller)]
            total = total + float(r @ r) * _point_weight(p["kind"], self._n_features) ** 2
        return np.sqrt(total)
