"""The :class:`Interactions` result object returned by ``spex()``."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

import captum_spex._interactions_io as _io
from captum_spex._interactions_checks import (
    _check_coefficients,
    _check_feature_names,
    _check_masks,
)
from captum_spex._interactions_errors import _ErrorViews
from captum_spex._interactions_views import TopTerm, _format_diagnostics, _format_value, _IndexViews
from captum_spex._terms import _canonical_order, _readonly, array_to_terms, terms_to_array
from captum_spex._validation import Instance, Int, Optional, check_param, check_params, param_error
from captum_spex.indices import SparseTerms

__all__ = ["Interactions", "InteractionsFileError", "TopTerm"]

InteractionsFileError = _io.InteractionsFileError

# The declared parameters of the constructor ('max_degree' is bounded by the terms).
_PARAMS = {
    "n_features": Int(1),
    "n_queries": Int(0),
    "method": Instance(str, "a str"),
    "diagnostics": Optional(Instance(Mapping, "a mapping")),
}


# Number of (mask, term) parities evaluated at once by ``predict``.
_PREDICT_BLOCK = 1 << 22


class Interactions(_IndexViews, _ErrorViews):
    """Sparse Fourier explanation of a set function, and every index derived from it.

    The value function is ``f(m) = sum_S F(S) * (-1)^{|S & kept(m)|}`` where ``m`` is a
    boolean mask (True = feature kept) and ``F`` the sparse Fourier coefficients.

    Parameters
    ----------
    n_features : int
        Number of features ``n``.
    terms : sequence of tuple of int
        Fourier supports: ascending tuples of distinct feature ids; ``()`` is the constant.
        Terms are stored in canonical order (by degree, then lexicographically).
    coefficients : array_like
        Fourier coefficients, shape ``(K,)`` or ``(K, n_outputs)`` for ``K = len(terms)``.
    n_queries : int, default 0
        Number of model queries spent to obtain the explanation.
    max_degree : int, optional
        Largest interaction order the explanation allows; defaults to the largest degree
        among ``terms``. The order-dependent indices default to it.
    feature_names : sequence of str, optional
        One name per feature, used in reprs and plots.
    diagnostics : mapping, optional
        Run diagnostics (e.g. ``noise_sd``, ``n_peeled``, ``b``, ``t``, ``n_groups``).
    method : str, default "spex"
        Name of the method that produced the explanation.
    standard_errors : array_like, optional
        Standard errors of the coefficients (same shape), when the method gives them.
    anchor_residuals : array_like, optional
        ``(2,)`` or ``(2, n_outputs)``: what the terms miss at the full input (row 0) and at
        the baseline (row 1); see :attr:`anchor_residuals`.

    Examples
    --------
    >>> import numpy as np
    >>> inter = Interactions(3, [(), (0,), (0, 2)], [1.0, 0.5, -0.25])
    >>> inter.n_outputs, inter.max_degree
    (1, 2)
    >>> inter.fourier()
    {(): 1.0, (0,): 0.5, (0, 2): -0.25}
    >>> inter.predict(np.array([[True, False, True], [False, False, False]])).tolist()
    [0.25, 1.25]
    """

    def __init__(
        self,
        n_features: int,
        terms: Sequence[tuple[int, ...]],
        coefficients: ArrayLike,
        *,
        n_queries: int = 0,
        max_degree: int | None = None,
        feature_names: Sequence[str] | None = None,
        diagnostics: Mapping[str, Any] | None = None,
        method: str = "spex",
        standard_errors: ArrayLike | None = None,
        anchor_residuals: ArrayLike | None = None,
    ) -> None:
        caller = "Interactions"
        n_features = check_param(n_features, "n_features", _PARAMS["n_features"], caller)
        indices, degrees = terms_to_array(terms, n_features, caller=caller)
        coefficients = _check_coefficients(coefficients, len(degrees), caller)
        self._init_arrays(
            n_features,
            indices,
            degrees,
            coefficients,
            n_queries=n_queries,
            max_degree=max_degree,
            feature_names=feature_names,
            diagnostics=diagnostics,
            method=method,
            caller=caller,
            standard_errors=standard_errors,
            anchor_residuals=anchor_residuals,
        )

    # ------------------------------------------------------------------ construction
    def _init_arrays(
        self,
        n_features: int,
        indices: np.ndarray,
        degrees: np.ndarray,
        coefficients: np.ndarray,
        *,
        n_queries: int,
        max_degree: int | None,
        feature_names: Sequence[str] | None,
        diagnostics: Mapping[str, Any] | None,
        method: str,
        caller: str,
        standard_errors: ArrayLike | None = None,
        anchor_residuals: ArrayLike | None = None,
    ) -> None:
        self._n_features = n_features
        self._multi = coefficients.ndim == 2
        values = coefficients if self._multi else coefficients[:, None]
        order = _canonical_order(indices, degrees)
        self._indices = _readonly(np.ascontiguousarray(indices[order], dtype=np.int64))
        self._degrees = _readonly(np.ascontiguousarray(degrees[order], dtype=np.int64))
        self._values = _readonly(np.ascontiguousarray(values[order], dtype=np.float64))
        self._stderr = None
        if standard_errors is not None:
            errors = _check_coefficients(standard_errors, len(degrees), caller)
            if errors.shape != coefficients.shape or np.any(errors < 0):
                raise ValueError(
                    f"The 'standard_errors' parameter of {caller} must be non-negative with "
                    f"the shape of the coefficients {coefficients.shape}; got {errors.shape}."
                )
            errors = errors if self._multi else errors[:, None]
            self._stderr = _readonly(np.ascontiguousarray(errors[order], dtype=np.float64))
        self._anchor = _check_anchor_residuals(anchor_residuals, values.shape[1], caller)
        top_degree = int(self._degrees.max()) if len(self._degrees) else 0
        params = check_params(
            caller, _PARAMS, n_queries=n_queries, method=method, diagnostics=diagnostics
        )
        self._n_queries, self._method = params["n_queries"], params["method"]
        if max_degree is None:
            self._max_degree = top_degree
        else:
            bounded = Int(top_degree, n_features)
            self._max_degree = check_param(max_degree, "max_degree", bounded, caller)
        self._feature_names = _check_feature_names(feature_names, n_features, caller)
        self._diagnostics = _io.canonical_diagnostics(params["diagnostics"] or {}, caller)
        self._cache: dict[tuple[str, int | None], SparseTerms] = {}

    # ------------------------------------------------------------------ attributes
    @property
    def standard_errors(self) -> np.ndarray | None:
        """Standard errors of :attr:`coefficients` (same shape), or None when the method
        gives none. ``coefficient ± 1.96 * standard_error`` is an approximate 95% interval."""
        if self._stderr is None:
            return None
        return self._stderr if self._multi else self._stderr[:, 0]

    @property
    def anchor_residuals(self) -> np.ndarray | None:
        """What the sparse terms miss at the full input and at the baseline, or None.

        ``(2,)`` or ``(2, n_outputs)``: the true value minus the sum of the terms with every
        feature kept (row 0) and with none kept (row 1). :meth:`predict` adds them at those
        two masks only, so the surrogate is exact there while every other prediction (and
        so the held-out R²) is the terms' own; the Shapley values share their difference
        equally among the features (the Shapley values of the two point games), so they
        sum to ``f(all kept) - f(none kept)``. The interaction indices and coefficients
        are those of the terms alone.
        """
        if self._anchor is None:
            return None
        return self._anchor if self._multi else self._anchor[:, 0]

    @property
    def n_features(self) -> int:
        """Number of features ``n``."""
        return self._n_features

    @property
    def n_queries(self) -> int:
        """Number of model queries spent."""
        return self._n_queries

    @property
    def n_outputs(self) -> int:
        """Number of model outputs (one set of coefficients per output)."""
        return self._values.shape[1]

    @property
    def max_degree(self) -> int:
        """Largest interaction order allowed by the explanation."""
        return self._max_degree

    @property
    def method(self) -> str:
        """Name of the method that produced the explanation."""
        return self._method

    @property
    def feature_names(self) -> tuple[str, ...] | None:
        """Feature names, or None."""
        return self._feature_names

    @property
    def diagnostics(self) -> dict[str, Any]:
        """Diagnostics reported by the run (e.g. ``noise_sd``, ``b``, ``t``)."""
        return self._diagnostics

    @property
    def terms(self) -> list[tuple[int, ...]]:
        """Fourier supports in canonical order (by degree, then lexicographically)."""
        return array_to_terms(self._indices, self._degrees)

    @property
    def coefficients(self) -> np.ndarray:
        """Fourier coefficients aligned with :attr:`terms`: ``(K,)`` or ``(K, n_outputs)``."""
        return self._values.copy() if self._multi else self._values[:, 0].copy()

    def __len__(self) -> int:
        return len(self._degrees)

    def label(self, term: Sequence[int]) -> str:
        """A readable label for a term, with feature names when given.

        Examples
        --------
        >>> Interactions(2, [], [], feature_names=["age", "income"]).label((0, 1))
        '(age, income)'
        >>> Interactions(2, [], []).label(())
        '()'
        """
        names = self._feature_names
        parts = [names[i] if names is not None else str(i) for i in term]
        return "(" + ", ".join(parts) + ")"

    # ------------------------------------------------------------------ prediction
    def predict(self, masks: ArrayLike) -> np.ndarray:
        """Evaluate the surrogate ``f(m) = sum_S F(S) (-1)^{|S & kept(m)|}``.

        Parameters
        ----------
        masks : array_like
            Boolean (or 0/1) masks of shape ``(N, n_features)``, True = feature kept; a
            single mask of shape ``(n_features,)`` is treated as ``N = 1``.

        Returns
        -------
        numpy.ndarray
            float64 ``(N,)``, or ``(N, n_outputs)`` for a multi-output explanation.

        Examples
        --------
        >>> inter = Interactions(2, [(), (0, 1)], [1.0, 2.0])
        >>> inter.predict([[1, 0], [1, 1]]).tolist()
        [-1.0, 3.0]
        """
        return self._predict(masks, "Interactions.predict")

    def _predict(self, masks: ArrayLike, caller: str) -> np.ndarray:
        masks = _check_masks(masks, self._n_features, caller)
        n_masks = masks.shape[0]
        n_terms, width = self._indices.shape
        out = np.zeros((n_masks, self.n_outputs), dtype=np.float64)
        if n_terms and n_masks:
            block = max(1, _PREDICT_BLOCK // n_terms)
            padded = np.zeros((self._n_features + 1, min(block, n_masks)), dtype=bool)
            coef_t = self._values.T
            for start in range(0, n_masks, block):
                chunk = masks[start : start + block]
                rows = chunk.shape[0]
                view = padded[:, :rows]
                view[: self._n_features] = chunk.T
                parity = np.zeros((n_terms, rows), dtype=bool)
                for j in range(width):
                    parity ^= view[self._indices[:, j]]
                chi = 1.0 - 2.0 * parity
                out[start : start + rows] = (coef_t @ chi).T
        if self._anchor is not None and n_masks:
            out[masks.all(axis=1)] += self._anchor[0]
            out[~masks.any(axis=1)] += self._anchor[1]
        return out if self._multi else out[:, 0]

    def r2(self, masks: ArrayLike, values: ArrayLike) -> Any:
        """Faithfulness: coefficient of determination of :meth:`predict` on held-out masks.

        Parameters
        ----------
        masks : array_like
            ``(N, n_features)`` boolean masks (True = kept), ideally not used for fitting;
            at least 2.
        values : array_like
            True values ``f(masks)``: ``(N,)`` or ``(N, n_outputs)``.

        Returns
        -------
        float or numpy.ndarray
            ``1 - SS_res / SS_tot``, one per output for a multi-output explanation; NaN
            where the values are constant.

        Examples
        --------
        >>> import numpy as np
        >>> inter = Interactions(2, [(), (0,)], [1.0, 0.5])
        >>> masks = np.array([[0, 0], [1, 0], [1, 1]], dtype=bool)
        >>> inter.r2(masks, [1.5, 0.5, 0.5])
        1.0
        """
        caller = "Interactions.r2"
        pred = self._predict(masks, caller)
        y = np.asarray(values, dtype=np.float64)
        if y.shape != pred.shape:
            must = f"an array of shape {pred.shape} (one value per mask and output)"
            raise param_error(caller, "values", must, values)
        if y.shape[0] < 2:
            raise param_error(caller, "masks", "at least 2 masks", masks)
        ss_res = np.sum((y - pred) ** 2, axis=0)
        ss_tot = np.sum((y - y.mean(axis=0)) ** 2, axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), np.nan)
        return r2 if self._multi else float(r2)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str]) -> None:
        """Save to ``.json`` or ``.npz`` (chosen by suffix); never pickle.

        Both formats reload to an equal object with :meth:`load` (floats are exact). The
        data go to a temporary file beside ``path``, flushed to disk, which then replaces
        ``path`` in one rename: a crash or a kill during the save leaves the previous file
        intact, never a truncated one.

        Parameters
        ----------
        path : str or path-like
            Destination ending in ``.json`` or ``.npz``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> inter = Interactions(3, [(), (0, 2)], [1.0, -0.5], diagnostics={"b": 4})
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = pathlib.Path(tmp) / "expl.json"
        ...     inter.save(path)
        ...     Interactions.load(path) == inter
        True
        """
        state = {
            "n_features": self._n_features,
            "n_queries": self._n_queries,
            "max_degree": self._max_degree,
            "method": self._method,
            "feature_names": self._feature_names,
            "diagnostics": self._diagnostics,
            "indices": self._indices,
            "degrees": self._degrees,
            "coefficients": self._values if self._multi else self._values[:, 0],
            "standard_errors": self.standard_errors,
            "anchor_residuals": self.anchor_residuals,
        }
        _io.save(path, state, "Interactions.save")

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], *, max_bytes: int = _io.MAX_LOAD_BYTES
    ) -> Interactions:
        """Load an explanation written by :meth:`save` (``.json`` or ``.npz``).

        Parameters
        ----------
        path : str or path-like
            A file ending in ``.json`` or ``.npz``.
        max_bytes : int, default 64 MiB
            The largest JSON file, or total of decompressed npz arrays, accepted: a small
            hostile file (a zip bomb) is refused before it is read. Its views are bounded
            too (see :meth:`top`).

        Raises
        ------
        ValueError
            If the suffix is unknown.
        InteractionsFileError
            (a ``ValueError``) If the file is not a saved ``Interactions``, is malformed or
            cut short (the message says what is wrong), or is larger than ``max_bytes``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = pathlib.Path(tmp) / "expl.json"
        ...     _ = path.write_text("{")
        ...     try:
        ...         Interactions.load(path)
        ...     except InteractionsFileError as exc:
        ...         print("not valid JSON" in str(exc))
        True
        """
        caller = "Interactions.load"
        state = _io.load(path, caller, max_bytes)
        obj = cls.__new__(cls)
        n_features, indices, degrees, coefficients = (
            state.pop(k) for k in ("n_features", "indices", "degrees", "coefficients")
        )
        try:
            coefficients = _check_coefficients(coefficients, len(degrees), caller)
            obj._init_arrays(n_features, indices, degrees, coefficients, caller=caller, **state)
        except (TypeError, ValueError) as exc:
            raise _io.InteractionsFileError(
                f"Cannot load {str(path)!r}: {exc} Save the explanation again."
            ) from exc
        return obj

    # ------------------------------------------------------------------ dunder
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Interactions):
            return NotImplemented
        return (
            self._n_features == other._n_features
            and self._n_queries == other._n_queries
            and self._max_degree == other._max_degree
            and self._method == other._method
            and self._feature_names == other._feature_names
            and self._multi == other._multi
            and np.array_equal(self._indices, other._indices)
            and np.array_equal(self._degrees, other._degrees)
            and _io.equal(self._values, other._values)
            and _io.equal(self._stderr, other._stderr)
            and _io.equal(self._anchor, other._anchor)
            and _io.equal(self._diagnostics, other._diagnostics)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        head = (
            f"Interactions(n_features={self.n_features}, n_terms={len(self)}, "
            f"n_outputs={self.n_outputs}, max_degree={self.max_degree}, "
            f"method={self.method!r}, n_queries={self.n_queries})"
        )
        lines = [head]
        diag = _format_diagnostics(self._diagnostics)
        if diag:
            lines.append(f"  diagnostics: {diag}")
        title, top, n_total = self._repr_top(5)
        if top:
            lines.append(f"  top {title} ({len(top)} of {n_total}):")
            labels = [t.label if len(t.label) <= 60 else t.label[:56] + "...)" for t in top]
            width = max(len(s) for s in labels)
            for lab, t in zip(labels, top, strict=True):
                lines.append(f"    {lab:<{width}}  {_format_value(t.value)}")
        return "\n".join(lines)


# ---------------------------------------------------------------------- validation
def _check_anchor_residuals(
    residuals: ArrayLike | None, n_outputs: int, caller: str
) -> np.ndarray | None:
    """``(2, n_outputs)`` float64 read-only, or None."""
    if residuals is None:
        return None
    try:
        arr = np.asarray(residuals, dtype=np.float64)
    except (TypeError, ValueError):
        arr = None
    if arr is not None and arr.shape == (2,):
        arr = arr[:, None]
    if arr is None or arr.shape != (2, n_outputs) or not np.all(np.isfinite(arr)):
        raise param_error(
            caller,
            "anchor_residuals",
            f"finite numbers of shape (2,) or (2, {n_outputs}) (full input, baseline)",
            residuals,
        )
    return _readonly(np.ascontiguousarray(arr))
