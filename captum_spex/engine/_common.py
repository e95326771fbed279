"""Helpers shared by the engine's entry points (``spex``, ``proxy_spex``): argument checks,
batched querying through the optional query store, progress bars."""

from __future__ import annotations

import numbers
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..store import QueryStore, fingerprint

ValueFunction = Callable[[np.ndarray], Any]


class SpexQueryError(RuntimeError):
    """The value function raised; ``n_done`` masks were evaluated (and stored, with a cache)."""

    def __init__(self, message: str, n_done: int, n_total: int):
        super().__init__(message)
        self.n_done = n_done
        self.n_total = n_total


def _check_int(value: Any, name: str, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"The '{name}' parameter of spex must be an int; got {value!r} "
            f"of type {type(value).__name__} instead."
        )
    value = int(value)
    if value < low or (high is not None and value > high):
        rng = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"The '{name}' parameter of spex must be an int {rng}; got {value}.")
    return value


def _as_values(out: Any, n_masks: int, n_outputs: int | None) -> np.ndarray:
    """Convert one value-function output to a float64 (N, O) array, with clear errors."""
    if hasattr(out, "detach"):  # torch tensors, on any device
        out = out.detach().cpu().numpy()
    if np.iscomplexobj(out):
        raise TypeError("value_function must return real numbers; got complex values")
    try:
        arr = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"value_function must return numbers; got {type(out).__name__}") from exc
    if arr.ndim == 0 or arr.ndim > 2 or arr.shape[0] != n_masks:
        raise ValueError(
            f"value_function must return shape ({n_masks},) or ({n_masks}, "
            f"n_outputs) for {n_masks} masks; got shape {arr.shape}"
        )
    if arr.ndim == 1:
        arr = arr[:, None]
    if n_outputs is not None and arr.shape[1] != n_outputs:
        raise ValueError(
            f"value_function returned {arr.shape[1]} outputs per mask after "
            f"returning {n_outputs} before"
        )
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ValueError(
            f"value_function returned NaN or Inf for {rows.size} of {n_masks} "
            f"masks in this batch (first rows: {rows[:5].tolist()})"
        )
    return arr


def _query(
    value_function: ValueFunction,
    masks: np.ndarray,
    batch_size: int,
    bar,
    store: QueryStore | None = None,
) -> tuple[np.ndarray, float, int]:
    """Evaluate all masks in batches, reading finished ones from ``store`` and committing
    each new batch to it as soon as it is done.

    Returns the (N, O) values, the seconds spent inside the value function and the number
    of masks read from the store. An exception inside the value function is re-raised as
    :class:`SpexQueryError` with the count of masks done; with a store they are kept.
    """
    n = masks.shape[0]
    cached = store.get(masks) if store is not None else {}
    missing = np.array([i for i in range(n) if i not in cached], dtype=np.int64)
    n_outputs = None
    if cached:
        n_outputs = len(next(iter(cached.values())))
        if bar is not None:
            bar.update(len(cached))
    values: np.ndarray | None = None
    if cached:
        values = np.empty((n, n_outputs))
        for i, v in cached.items():
            if v.shape[0] != n_outputs:
                raise ValueError(
                    "the cache holds values with different numbers of outputs "
                    "for this cache_key; use another cache_key"
                )
            values[i] = v
    spent = 0.0
    done = 0
    for s in range(0, missing.size, batch_size):
        rows = missing[s : s + batch_size]
        batch = masks[rows]
        t0 = time.perf_counter()
        try:
            out = value_function(batch.copy())
        except Exception as exc:
            kept = (
                f"; they are stored in {store.path!r}, and a rerun with the same "
                "arguments queries only the rest"
                if store is not None and done
                else "; pass cache=PATH to keep finished queries across a crash"
            )
            raise SpexQueryError(
                f"value_function raised {type(exc).__name__} after {done} of "
                f"{missing.size} masks were evaluated{kept}",
                done,
                missing.size,
            ) from exc
        spent += time.perf_counter() - t0
        vals = _as_values(out, batch.shape[0], n_outputs)
        n_outputs = vals.shape[1]
        if values is None:
            values = np.empty((n, n_outputs))
        values[rows] = vals
        if store is not None:
            store.put(batch, vals)
        done += rows.size
        if bar is not None:
            bar.update(rows.size)
    if values is None:
        values = np.empty((n, 1))
    return values, spent, len(cached)


def _open_store(cache, cache_key, value_function, n_features: int, extra=()) -> QueryStore | None:
    """Open the query store for ``cache`` (None: no store)."""
    if cache is None:
        return None
    if not isinstance(cache, (str, os.PathLike)):
        raise TypeError(
            f"The 'cache' parameter must be a path (str or os.PathLike); got "
            f"{type(cache).__name__}."
        )
    if cache_key is None:
        name = getattr(value_function, "__qualname__", type(value_function).__qualname__)
        module = getattr(value_function, "__module__", "")
        cache_key = fingerprint(module, name, n_features, *extra)
    elif not isinstance(cache_key, str) or not cache_key:
        raise TypeError("The 'cache_key' parameter must be a non-empty str.")
    return QueryStore(cache, cache_key, n_features)


def _progress(show: bool, total: int, desc: str, unit: str = "mask"):
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit)
