"""Argument checks of :class:`~captum_spex.interactions.Interactions`: coefficient arrays,
feature names and masks, with errors in the package's one message shape."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from captum_spex._validation import param_error

__all__ = ["_check_coefficients", "_check_feature_names", "_check_masks"]


def _check_coefficients(coefficients: ArrayLike, n_terms: int, caller: str) -> np.ndarray:
    must = f"a finite float array of shape ({n_terms},) or ({n_terms}, n_outputs >= 1)"
    try:
        arr = np.asarray(coefficients, dtype=np.float64)
    except (TypeError, ValueError):
        raise param_error(caller, "coefficients", must, coefficients, TypeError) from None
    if (
        arr.ndim not in (1, 2)
        or arr.shape[0] != n_terms
        or (arr.ndim == 2 and arr.shape[1] < 1)
        or not np.all(np.isfinite(arr))
    ):
        raise param_error(caller, "coefficients", must + ", one row per term", coefficients)
    return arr


def _check_feature_names(
    names: Sequence[str] | None, n_features: int, caller: str
) -> tuple[str, ...] | None:
    if names is None:
        return None
    must = f"a sequence of n_features={n_features} str, or None"
    if isinstance(names, str) or not all(isinstance(s, str) for s in names):
        raise param_error(caller, "feature_names", must, names, TypeError)
    names = tuple(names)
    if len(names) != n_features:
        raise param_error(caller, "feature_names", must, names)
    return names


def _check_masks(masks: ArrayLike, n_features: int, caller: str) -> np.ndarray:
    must = f"a bool or 0/1 array of shape (N, {n_features}) or ({n_features},)"
    arr = np.asarray(masks)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != n_features:
        raise param_error(caller, "masks", must, masks)
    if arr.dtype == np.bool_:
        return arr
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise param_error(caller, "masks", must, masks, TypeError)
    if not np.all((arr == 0) | (arr == 1)):
        raise param_error(caller, "masks", must, masks)
    return arr.astype(bool)
