"""The :class:`Interactions` result object returned by ``spex()``."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from captum_spex.indices import (
    ORDERED_INDICES,
    IndexName,
    SparseTerms,
    _canonical_order,
    _check_array_terms,
    _check_index_name,
    _check_order,
    array_to_terms,
    banzhaf_values,
    fourier_to_index,
    shapley_values,
    terms_to_array,
)

__all__ = ["Interactions", "TopTerm"]

_FORMAT = "captum-spex.interactions"
_FORMAT_VERSION = 1
# Diagnostics the repr shows first, when present.
_REPR_DIAGNOSTICS = ("noise_sd", "snr_db", "b", "t", "n_groups", "n_peeled", "r2")


class TopTerm(NamedTuple):
    """One entry of :meth:`Interactions.top`: unpacks as ``(term, value)``.

    Attributes
    ----------
    term : tuple of int
        Ascending feature ids; ``()`` is the constant.
    value : float or numpy.ndarray
        The index value (a 1-D array over outputs for a multi-output ranking).
    """

    term: tuple[int, ...]
    value: Any


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
        self._diagnostics = _canonical_diagnostics(diagnostics)
        self._cache: dict[tuple[str, int | None], SparseTerms] = {}

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

    # ------------------------------------------------------------------ indices
    def _fourier_terms(self) -> SparseTerms:
        return SparseTerms(self._indices, self._degrees, self._values)

    def _resolve_order(self, index: str, order: int | None) -> int | None:
        order = _check_order(order, self._n_features)
        if order is None and index in ORDERED_INDICES:
            order = min(max(self._max_degree, 1), self._n_features)
        return order

    def _index(self, index: str, order: int | None) -> SparseTerms:
        index = _check_index_name(index)
        order = self._resolve_order(index, order)
        key = (index, order)
        if key not in self._cache:
            res = fourier_to_index(self._fourier_terms(), self._n_features, index, order)
            self._cache[key] = SparseTerms(*(_readonly(np.asarray(a)) for a in res))
        return self._cache[key]

    def index_arrays(self, index: IndexName = "mobius", order: int | None = None) -> SparseTerms:
        """An index in array form, for vectorised work (plots, exports).

        Parameters
        ----------
        index : {"fourier", "mobius", "bii", "sii", "k-sii", "stii", "fsii", "fbii"}
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
        >>> inter = Interactions(2, [(), (0, 1)], [1.0, 0.5])
        >>> inter.index_arrays("mobius").degrees.tolist()
        [0, 1, 1, 2]
        """
        res = self._index(index, order)
        return res if self._multi else SparseTerms(res.indices, res.degrees, res.values[:, 0])

    def index(
        self, index: IndexName, order: int | None = None, output: int | None = None
    ) -> dict[tuple[int, ...], Any]:
        """Interaction index as a sparse dict ``{term: value}``.

        Parameters
        ----------
        index : {"fourier", "mobius", "bii", "sii", "k-sii", "stii", "fsii", "fbii"}
            Fourier coefficients; Möbius (Harsanyi) coefficients; Banzhaf interaction index;
            Shapley interaction index; k-Shapley values (Bordt & von Luxburg, 2023);
            Shapley-Taylor index (Sundararajan et al., 2020); Faith-Shap and Faith-Banzhaf
            (Tsai et al., 2023).
        order : int, optional
            The order ``l`` of "k-sii", "stii", "fsii" and "fbii" (default
            :attr:`max_degree`). For the other indices an optional cap: only terms with
            ``|T| <= order`` are returned. Must satisfy ``1 <= order <= n_features``.
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
        >>> inter = Interactions(3, [(), (0,), (1, 2)], [1.0, 0.5, -2.0])
        >>> inter.index("fsii", order=1)  # order 1: the Shapley values (0 for 1 and 2)
        {(): -0.5, (0,): -1.0}
        >>> inter.index("stii", order=2)
        {(): -0.5, (0,): -1.0, (1,): 4.0, (2,): 4.0, (1, 2): -8.0}
        """
        res = self._index(index, order)
        return self._as_dict(res.indices, res.degrees, res.values, output)

    def mobius(self, output: int | None = None) -> dict[tuple[int, ...], Any]:
        """Möbius (Harsanyi) coefficients ``a(T)``: ``f(m) = sum_{T <= kept(m)} a(T)``.

        Examples
        --------
        >>> Interactions(1, [(), (0,)], [1.0, 0.5]).mobius()
        {(): 1.5, (0,): -1.0}
        """
        return self.index("mobius", output=output)

    def shapley_values(self, output: int | None = None) -> np.ndarray:
        """Shapley values, ``(n_features,)`` or ``(n_features, n_outputs)``.

        They satisfy efficiency: ``sum_i phi_i = f(all kept) - f(none kept)``.

        Examples
        --------
        >>> Interactions(2, [(), (0,), (0, 1)], [1.0, 0.5, 2.0]).shapley_values().tolist()
        [-1.0, 0.0]
        """
        return self._per_feature(shapley_values(self._fourier_terms(), self._n_features), output)

    def banzhaf_values(self, output: int | None = None) -> np.ndarray:
        """Banzhaf values ``beta_i = -2 F({i})``, ``(n_features,)`` or ``(n_features, n_outputs)``.

        Examples
        --------
        >>> Interactions(2, [(), (0,), (0, 1)], [1.0, 0.5, 2.0]).banzhaf_values().tolist()
        [-1.0, 0.0]
        """
        return self._per_feature(banzhaf_values(self._fourier_terms(), self._n_features), output)

    def _per_feature(self, values: np.ndarray, output: int | None) -> np.ndarray:
        if self._multi and output is None:
            return values
        return values[:, self._check_output(output)]

    def top(
        self,
        k: int = 10,
        index: IndexName = "mobius",
        order: int | None = None,
        *,
        output: int | None = None,
        include_constant: bool = False,
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

        Returns
        -------
        list of TopTerm
            ``(term, value)`` named tuples; ties keep the canonical order.

        Examples
        --------
        >>> inter = Interactions(3, [(), (0,), (1, 2)], [5.0, 0.5, -2.0])
        >>> inter.top(2, index="fourier")
        [TopTerm(term=(1, 2), value=-2.0), TopTerm(term=(0,), value=0.5)]
        """
        k = _check_int(k, "k", low=0)
        res = self._index(index, order)
        values = res.values
        if self._multi and output is None:
            magnitude = np.sqrt(np.sum(values**2, axis=1))
            column = None
        else:
            column = self._check_output(output)
            magnitude = np.abs(values[:, column])
        candidates = np.arange(len(res.degrees))
        if not include_constant:
            candidates = candidates[res.degrees != 0]
        ranked = candidates[np.argsort(-magnitude[candidates], kind="stable")][:k]
        terms = array_to_terms(res.indices[ranked], res.degrees[ranked])
        if column is None:
            return [TopTerm(t, values[r].copy()) for t, r in zip(terms, ranked, strict=True)]
        return [TopTerm(t, v) for t, v in zip(terms, values[ranked, column].tolist(), strict=True)]

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

    def r2(self, masks: ArrayLike, values: ArrayLike) -> Any:
        """Faithfulness: coefficient of determination of :meth:`predict` on held-out masks.

        Parameters
        ----------
        masks : array_like
            ``(N, n_features)`` boolean masks (True = kept), ideally not used for fitting.
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
        pred = self.predict(masks)
        y = np.asarray(values, dtype=np.float64)
        if y.shape != pred.shape:
            raise ValueError(
                f"The 'values' parameter must have shape {pred.shape} to match the masks "
                f"and n_outputs. Got shape {y.shape} instead."
            )
        if y.shape[0] < 2:
            raise ValueError("The 'r2' method needs at least 2 masks.")
        ss_res = np.sum((y - pred) ** 2, axis=0)
        ss_tot = np.sum((y - y.mean(axis=0)) ** 2, axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), np.nan)
        return r2 if self._multi else float(r2)

    # ------------------------------------------------------------------ persistence
    def _metadata(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "version": _FORMAT_VERSION,
            "n_features": self._n_features,
            "n_queries": self._n_queries,
            "max_degree": self._max_degree,
            "method": self._method,
            "feature_names": None if self._feature_names is None else list(self._feature_names),
            "multi_output": self._multi,
            "n_outputs": self.n_outputs,
            "diagnostics": _encode_json(self._diagnostics),
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Save to ``.json`` or ``.npz`` (chosen by suffix); never pickle.

        Both formats reload to an equal object with :meth:`load` (floats are exact).

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
        path = Path(path)
        suffix = _check_suffix(path)
        values = self._values if self._multi else self._values[:, 0]
        if suffix == ".json":
            payload = self._metadata()
            payload["terms"] = [list(t) for t in self.terms]
            payload["coefficients"] = values.tolist()
            path.write_text(json.dumps(payload, indent=1), encoding="utf-8")
        else:
            with open(path, "wb") as fh:
                np.savez(
                    fh,
                    indices=self._indices,
                    degrees=self._degrees,
                    coefficients=values,
                    metadata=np.array(json.dumps(self._metadata())),
                )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Interactions:
        """Load an explanation written by :meth:`save` (``.json`` or ``.npz``).

        Raises
        ------
        ValueError
            If the suffix is unknown or the file is not a saved ``Interactions``.
        """
        path = Path(path)
        suffix = _check_suffix(path)
        if suffix == ".json":
            payload = json.loads(path.read_text(encoding="utf-8"))
            meta = _check_metadata(payload, path)
            n_features = _check_int(meta["n_features"], "n_features", low=1)
            indices, degrees = terms_to_array(payload["terms"], n_features)
            coefficients = payload["coefficients"]
        else:
            with np.load(path, allow_pickle=False) as data:
                try:
                    meta = _check_metadata(json.loads(str(data["metadata"][()])), path)
                    indices = np.asarray(data["indices"], dtype=np.int64)
                    degrees = np.asarray(data["degrees"], dtype=np.int64)
                    coefficients = data["coefficients"]
                except KeyError as exc:
                    raise ValueError(f"{path} is not a saved Interactions file.") from exc
            n_features = _check_int(meta["n_features"], "n_features", low=1)
            if indices.ndim != 2 or degrees.shape != (indices.shape[0],):
                raise ValueError(f"{path} holds malformed term arrays.")
            _check_array_terms(indices, degrees, n_features)
        coefficients = np.asarray(coefficients, dtype=np.float64)
        if meta["multi_output"]:
            coefficients = coefficients.reshape(len(degrees), meta["n_outputs"])
        coefficients = _check_coefficients(coefficients, len(degrees))
        obj = cls.__new__(cls)
        obj._init_arrays(
            n_features,
            indices,
            degrees,
            coefficients,
            n_queries=meta["n_queries"],
            max_degree=meta["max_degree"],
            feature_names=meta["feature_names"],
            diagnostics=_decode_json(meta["diagnostics"]),
            method=meta["method"],
        )
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
            and _equal(self._values, other._values)
            and _equal(self._diagnostics, other._diagnostics)
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
        top = self.top(5)
        if top:
            n_total = int(np.count_nonzero(self._index("mobius", None).degrees))
            lines.append(f"  top Möbius interactions ({len(top)} of {n_total}):")
            labels = [self.label(t.term) for t in top]
            width = max(len(s) for s in labels)
            for lab, t in zip(labels, top, strict=True):
                lines.append(f"    {lab:<{width}}  {_format_value(t.value)}")
        return "\n".join(lines)


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


# ---------------------------------------------------------------------- diagnostics & files
def _canonical_diagnostics(diagnostics: Mapping[str, Any]) -> dict[str, Any]:
    """Copy diagnostics into JSON-like values so that save/load round-trips exactly.

    Numpy scalars become Python scalars, tuples become lists, arrays are copied.
    """

    def canon(value: Any, where: str) -> Any:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, (int, np.integer)):
            return int(value)
        if isinstance(value, (float, np.floating)):
            return float(value)
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in "biuf":
                raise TypeError(
                    f"The 'diagnostics' parameter holds an array of dtype {value.dtype} at "
                    f"{where}; only bool, int and float arrays are supported."
                )
            return value.copy()
        if isinstance(value, Mapping):
            out = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    raise TypeError(
                        f"The 'diagnostics' parameter must use str keys; got {key!r} at {where}."
                    )
                out[key] = canon(item, f"{where}[{key!r}]")
            return out
        if isinstance(value, (list, tuple)):
            return [canon(item, f"{where}[{i}]") for i, item in enumerate(value)]
        raise TypeError(
            f"The 'diagnostics' parameter must hold None, bool, int, float, str, lists, dicts "
            f"or numpy arrays; got {type(value).__name__} at {where}."
        )

    return canon(diagnostics, "diagnostics")


def _encode_json(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.str, "shape": value.shape}
    if isinstance(value, dict):
        return {k: _encode_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode_json(v) for v in value]
    return value


def _decode_json(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__ndarray__", "dtype", "shape"}:
            return np.array(value["__ndarray__"], dtype=np.dtype(value["dtype"])).reshape(
                value["shape"]
            )
        return {k: _decode_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_json(v) for v in value]
    return value


def _equal(a: Any, b: Any) -> bool:
    """Exact structural equality; arrays by dtype and value (NaN equal to NaN)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def _check_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in (".json", ".npz"):
        raise ValueError(
            f"The 'path' parameter must end in '.json' or '.npz'. Got {str(path)!r} instead."
        )
    return suffix


def _check_metadata(payload: Any, path: Path) -> dict[str, Any]:
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise ValueError(f"{path} is not a saved Interactions file.")
    if payload.get("version") != _FORMAT_VERSION:
        raise ValueError(
            f"{path} has format version {payload.get('version')!r}; this version of "
            f"captum-spex reads version {_FORMAT_VERSION}."
        )
    return payload


def _format_diagnostics(diagnostics: Mapping[str, Any]) -> str:
    keys = [k for k in _REPR_DIAGNOSTICS if k in diagnostics]
    keys += [k for k in diagnostics if k.startswith("noise") and k not in keys]
    parts = []
    for key in keys:
        value = diagnostics[key]
        if isinstance(value, float):
            parts.append(f"{key}={value:.4g}")
        elif isinstance(value, (bool, int, str)) or value is None:
            parts.append(f"{key}={value!r}" if isinstance(value, str) else f"{key}={value}")
    others = len(diagnostics) - len(parts)
    if others > 0:
        parts.append(f"(+{others} more in .diagnostics)")
    return ", ".join(parts)


def _format_value(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return "[" + ", ".join(f"{v:+.4g}" for v in value.tolist()) + "]"
    return f"{value:+.4g}"
