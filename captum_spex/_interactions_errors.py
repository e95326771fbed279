"""How sure each number is: standard errors of every index, from the coefficients' own.

Every index, the Shapley and the Banzhaf values are linear in the Fourier coefficients, so
the standard error of any of them is the spread of the same conversion applied to random
perturbations of the coefficients drawn with their standard errors (independent normal
draws: parity features are nearly orthogonal under uniform masks).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from captum_spex._validation import Int, Options, check_params
from captum_spex.indices import (
    SparseTerms,
    _to_index,
    array_to_terms,
    banzhaf_values,
    shapley_values,
)

__all__ = ["_ErrorViews"]

_PARAMS = {
    "draws": Int(16),
    "seed": Int(0),
    "kind": Options(("shapley", "banzhaf")),
}


class _ErrorViews:
    """Standard errors of the views of :class:`~captum_spex.Interactions` (a mixin)."""

    def _perturbations(self, output: int | None, draws: int, seed: int, caller: str):
        if self._stderr is None:
            raise ValueError(
                f"{caller}: this explanation carries no standard errors (method "
                f"{self._method!r} gives none for it, or it was built without them)."
            )
        column = self._check_output(output, caller)
        rng = np.random.default_rng(seed)
        noise = rng.standard_normal((self._degrees.size, draws))
        return SparseTerms(self._indices, self._degrees, noise * self._stderr[:, [column]])

    def index_standard_errors(
        self,
        index: str = "mobius",
        order: int | None = None,
        *,
        output: int | None = None,
        draws: int = 400,
        seed: int = 0,
    ) -> dict[tuple[int, ...], float]:
        """Standard errors of :meth:`index` (same terms), from the coefficients' own.

        ``value ± 1.96 * error`` is an approximate 95% interval; a term whose interval
        covers zero is not distinguishable from zero at this budget.

        Examples
        --------
        >>> from captum_spex import Interactions
        >>> inter = Interactions(2, [(), (0,)], [1.0, -0.5], standard_errors=[0.0, 0.1])
        >>> round(inter.index_standard_errors("mobius")[(0,)], 1)  # a((0,)) = -2 F((0,))
        0.2
        """
        caller = "Interactions.index_standard_errors"
        p = check_params(caller, _PARAMS, draws=draws, seed=seed)
        order = self._resolve_order(index, order, caller)
        pert = self._perturbations(output, p["draws"], p["seed"], caller)
        res = _to_index(pert, self._n_features, index, order, caller, None)
        errors = res.values.std(axis=1, ddof=1)
        return dict(zip(array_to_terms(res.indices, res.degrees), errors.tolist()))

    def attribution_standard_errors(
        self,
        kind: str = "shapley",
        *,
        output: int | None = None,
        draws: int = 400,
        seed: int = 0,
    ) -> np.ndarray:
        """Standard errors ``(n_features,)`` of :meth:`shapley_values` or
        :meth:`banzhaf_values` (``kind``), from the coefficients' own.

        Examples
        --------
        >>> from captum_spex import Interactions
        >>> inter = Interactions(2, [(), (1,)], [1.0, -0.5], standard_errors=[0.0, 0.1])
        >>> inter.attribution_standard_errors("banzhaf").round(1).tolist()
        [0.0, 0.2]
        """
        caller = "Interactions.attribution_standard_errors"
        p: dict[str, Any] = check_params(caller, _PARAMS, kind=kind, draws=draws, seed=seed)
        pert = self._perturbations(output, p["draws"], p["seed"], caller)
        convert = shapley_values if p["kind"] == "shapley" else banzhaf_values
        return convert(pert, self._n_features).std(axis=1, ddof=1)
