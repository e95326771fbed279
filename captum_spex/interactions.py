"""The :class:`Interactions` result object returned by ``spex()``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from captum_spex.indices import (
    _canonical_order,
    array_to_terms,
    terms_to_array,
)

__all__ = ["Interactions"]

# Number of (mask, term) parities evaluated at once by ``predict``.
_PREDICT_BLOCK = 1 << 22


class Interactions:
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
    ) -> None:
        n_features = _check_int(n_features, "n_features", low=1)
        indices, degrees = terms_to_array(terms, n_features)
        coefficients = _check_coefficients(coefficients, len(degrees))
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
    ) -> None:
        self._n_features = n_features
        self._multi = coefficients.ndim == 2
        values = coefficients if self._multi else coefficients[:, None]
        order = _canonical_order(indices, degrees)
        self._indices = _readonly(np.ascontiguousarray(indices[order], dtype=np.int64))
        self._degrees = _readonly(np.ascontiguousarray(degrees[order], dtype=np.int64))
        self._values = _readonly(np.ascontiguousarray(values[order], dtype=np.float64))
        self._n_queries = _check_int(n_queries, "n_queries", low=0)
        top_degree = int(self._degrees.max()) if len(self._degrees) else 0
        if max_degree is None:
            self._max_degree = top_degree
        else:
            self._max_degree = _check_int(max_degree, "max_degree", low=0, high=n_features)
            if self._max_degree < top_degree:
                raise ValueError(
                    f"The 'max_degree' parameter must be >= the largest term degree "
                    f"({top_degree}). Got {max_degree} instead."
                )
        self._feature_names = _check_feature_names(feature_names, n_features)
        if not isinstance(method, str):
            raise TypeError(f"The 'method' parameter must be a str. Got {method!r} instead.")
        self._method = method
        if diagnostics is None:
            diagnostics = {}
        if not isinstance(diagnostics, Mapping):
            raise TypeError(
                f"The 'diagnostics' parameter must be a mapping or None. "
                f"Got {type(diagnostics).__name__} instead."
            )
        self._diagnostics = dict(diagnostics)

    # ------------------------------------------------------------------ attributes
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

    # ------------------------------------------------------------------ views
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
        >>> Interactions(2, [(1,), ()], [2.0, 1.0]).fourier()
        {(): 1.0, (1,): 2.0}
        """
        return self._as_dict(self._indices, self._degrees, self._values, output)

    def _as_dict(
        self,
        indices: np.ndarray,
        degrees: np.ndarray,
        values: np.ndarray,
        output: int | None,
    ) -> dict[tuple[int, ...], Any]:
        keys = array_to_terms(indices, degrees)
        if self._multi and output is None:
            return {k: v for k, v in zip(keys, values.copy(), strict=True)}
        column = self._check_output(output)
        return dict(zip(keys, values[:, column].tolist(), strict=True))

    def _check_output(self, output: int | None) -> int:
        if output is None:
            return 0
        return _check_int(output, "output", low=0, high=self.n_outputs - 1)

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
        masks = _check_masks(masks, self._n_features)
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
        return out if self._multi else out[:, 0]

    # ------------------------------------------------------------------ dunder
    def __repr__(self) -> str:
        return (
            f"Interactions(n_features={self.n_features}, n_terms={len(self)}, "
            f"n_outputs={self.n_outputs}, max_degree={self.max_degree}, "
            f"method={self.method!r}, n_queries={self.n_queries})"
        )


# ---------------------------------------------------------------------- validation
def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _check_int(value: Any, name: str, *, low: int | None = None, high: int | None = None) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"The '{name}' parameter must be an int. Got {value!r} instead.")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = (
            f"in [{low}, {high}]"
            if low is not None and high is not None
            else (f">= {low}" if low is not None else f"<= {high}")
        )
        raise ValueError(f"The '{name}' parameter must be an int {bounds}. Got {value} instead.")
    return value


def _check_coefficients(coefficients: ArrayLike, n_terms: int) -> np.ndarray:
    try:
        arr = np.asarray(coefficients, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            "The 'coefficients' parameter must be a numeric array of shape (K,) or (K, n_outputs)."
        ) from exc
    if arr.ndim not in (1, 2) or arr.shape[0] != n_terms:
        raise ValueError(
            f"The 'coefficients' parameter must have shape ({n_terms},) or ({n_terms}, "
            f"n_outputs) to match 'terms'. Got shape {arr.shape} instead."
        )
    if arr.ndim == 2 and arr.shape[1] < 1:
        raise ValueError("The 'coefficients' parameter must have at least one output column.")
    if not np.all(np.isfinite(arr)):
        raise ValueError("The 'coefficients' parameter must be finite.")
    return arr


def _check_feature_names(names: Sequence[str] | None, n_features: int) -> tuple[str, ...] | None:
    if names is None:
        return None
    if isinstance(names, str):
        raise TypeError("The 'feature_names' parameter must be a sequence of str, not a str.")
    names = tuple(names)
    if not all(isinstance(s, str) for s in names):
        raise TypeError("The 'feature_names' parameter must contain only str.")
    if len(names) != n_features:
        raise ValueError(
            f"The 'feature_names' parameter must have length n_features={n_features}. "
            f"Got {len(names)} instead."
        )
    return names


def _check_masks(masks: ArrayLike, n_features: int) -> np.ndarray:
    arr = np.asarray(masks)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != n_features:
        raise ValueError(
            f"The 'masks' parameter must have shape (N, {n_features}) or ({n_features},). "
            f"Got shape {np.shape(masks)} instead."
        )
    if arr.dtype == np.bool_:
        return arr
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(
            f"The 'masks' parameter must be boolean or 0/1 numeric. Got dtype {arr.dtype}."
        )
    if not np.all((arr == 0) | (arr == 1)):
        raise ValueError("The 'masks' parameter must contain only 0/1 (or bool) values.")
    return arr.astype(bool)
