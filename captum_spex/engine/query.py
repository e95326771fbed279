"""The query loop, in one place: batches of masks through the optional query store and
executor, with retries, progress and clear errors.

Every method evaluates its masks through :class:`QueryRunner`; nothing else in the engine
calls the value function."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..store import Part, QueryStore, store_key
from .errors import SpexQueryError

__all__ = ["QueryRunner", "ValueFunction", "open_store", "progress_bar"]

ValueFunction = Callable[[np.ndarray], Any]


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
    if arr.shape[1] == 0:
        raise ValueError(
            f"value_function returned no value per mask (shape {arr.shape}); it must return "
            f"shape ({n_masks},) or ({n_masks}, n_outputs) with n_outputs >= 1: check the "
            "output it selects (e.g. an empty slice or an empty target)"
        )
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


class _BlockRunner:
    """Evaluates one block of bit-packed masks; the callable shipped to executor workers.

    Only bit-packed masks travel to a worker and only float64 values travel back. Executors
    that cache deserialised callables (Dask does) unpickle the value function once per
    worker; use :class:`captum_spex.distributed.ModelFactory` so that a model inside it is
    built once per worker instead of travelling with the function.
    """

    def __init__(self, value_function: ValueFunction, n_features: int):
        self.value_function = value_function
        self.n_features = n_features

    def __call__(self, packed: np.ndarray) -> tuple[np.ndarray, float]:
        masks = np.unpackbits(packed, axis=1, count=self.n_features).astype(bool)
        t0 = time.perf_counter()
        out = self.value_function(masks)
        spent = time.perf_counter() - t0
        if hasattr(out, "detach"):
            out = out.detach().cpu().numpy()
        return np.asarray(out), spent


def _query(
    value_function: ValueFunction,
    masks: np.ndarray,
    batch_size: int,
    bar,
    store: QueryStore | None = None,
    executor: Executor | None = None,
    max_retries: int = 2,
    on_batch: Callable[[int], None] | None = None,
    stats: dict | None = None,
    done_before: int = 0,
) -> tuple[np.ndarray, float, int]:
    """Evaluate all masks in batches, reading finished ones from ``store`` and committing
    each new batch to it as soon as it is done.

    With an ``executor`` the batches are submitted as futures (bit-packed masks out, values
    back), gathered in mask order and committed as each finishes; a failed batch is retried
    up to ``max_retries`` times. Returns the (N, O) values, the seconds spent inside the
    value function and the number of masks read from the store. An exception inside the
    value function is re-raised as :class:`SpexQueryError` with the count of masks done;
    with a store they are kept. ``stats`` (a dict), when given, receives ``n_retried``
    (and ``n_evaluated``, the masks the value function evaluated); ``done_before`` masks
    were evaluated by earlier calls of the same run (counted in the error).
    """
    n = masks.shape[0]
    cached = store.get(masks) if store is not None else {}
    missing = np.array([i for i in range(n) if i not in cached], dtype=np.int64)
    state = _QueryState(n, store, bar, on_batch, missing.size, done_before)
    if cached:
        state.n_outputs = len(next(iter(cached.values())))
        state.values = np.empty((n, state.n_outputs))
        for i, v in cached.items():
            if v.shape[0] != state.n_outputs:
                raise ValueError(
                    "the cache holds values with different numbers of outputs "
                    "for this cache_key; use another cache_key"
                )
            state.values[i] = v
        state.progress(len(cached))
    blocks = [missing[s : s + batch_size] for s in range(0, missing.size, batch_size)]
    if executor is None:
        for rows in blocks:
            t0 = time.perf_counter()
            try:
                out = value_function(masks[rows].copy())
            except Exception as exc:
                raise state.failure(exc) from exc
            state.spent += time.perf_counter() - t0
            state.finish(rows, masks[rows], out)
    else:
        _query_executor(executor, value_function, masks, blocks, state, max_retries)
    if stats is not None:
        stats["n_retried"] = state.retried
        stats["n_evaluated"] = state.done
    if state.values is None:
        state.values = np.empty((n, 1))
    return state.values, state.spent, len(cached)


class _QueryState:
    """Values gathered so far, and what happens when a batch finishes or fails."""

    def __init__(self, n, store, bar, on_batch, n_missing, done_before=0):
        self.n = n
        self.store = store
        self.bar = bar
        self.on_batch = on_batch
        self.n_missing = n_missing
        self.values: np.ndarray | None = None
        self.n_outputs: int | None = None
        self.spent = 0.0
        self.done = 0
        self.retried = 0
        self.done_before = done_before

    def progress(self, k: int) -> None:
        if self.bar is not None:
            self.bar.update(k)
        if self.on_batch is not None:
            self.on_batch(k)

    def finish(self, rows: np.ndarray, batch: np.ndarray, out: Any) -> None:
        vals = _as_values(out, rows.size, self.n_outputs)
        self.n_outputs = vals.shape[1]
        if self.values is None:
            self.values = np.empty((self.n, self.n_outputs))
        self.values[rows] = vals
        if self.store is not None:
            self.store.put(batch, vals)
        self.done += rows.size
        self.progress(rows.size)

    def failure(self, exc: BaseException) -> SpexQueryError:
        kept = (
            f"; they are stored in {self.store.path!r}, and a rerun with the same "
            "arguments queries only the rest"
            if self.store is not None and self.done + self.done_before
            else "; pass cache=PATH to keep finished queries across a crash"
        )
        done, total = self.done + self.done_before, self.n_missing + self.done_before
        return SpexQueryError(
            f"value_function raised {type(exc).__name__}({str(exc)[:200]!r}) after {done} of "
            f"{total} masks were evaluated{kept}",
            done,
            total,
        )


def _query_executor(executor, value_function, masks, blocks, state, max_retries) -> None:
    runner = _BlockRunner(value_function, masks.shape[1])
    packed = [np.packbits(masks[rows], axis=1) for rows in blocks]
    pending = {executor.submit(runner, packed[b]): (b, 0) for b in range(len(blocks))}
    fatal: BaseException | None = None
    try:
        while pending:
            finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in finished:
                b, attempt = pending.pop(fut)
                try:
                    out, spent = fut.result()
                except Exception as exc:
                    if fatal is None and attempt < max_retries:
                        state.retried += blocks[b].size
                        pending[executor.submit(runner, packed[b])] = (b, attempt + 1)
                    elif fatal is None:
                        # stop what has not started; keep the batches in flight
                        fatal = exc
                        for queued in [f for f in pending if f.cancel()]:
                            pending.pop(queued)
                    continue
                state.spent += spent
                state.finish(blocks[b], masks[blocks[b]], out)
    finally:
        for fut in pending:
            fut.cancel()
    if fatal is not None:
        raise state.failure(fatal) from fatal


@dataclass
class QueryRunner:
    """How masks are evaluated: batching, progress, store, executor.

    ``run(masks)`` returns the ``(N, O)`` values and the statistics of the call
    (``value_seconds``, ``n_from_cache``, ``n_retried``)."""

    value_function: ValueFunction
    batch_size: int
    show_progress: bool
    store: QueryStore | None
    executor: Executor | None
    max_retries: int
    on_batch: Callable[[int], None] | None
    label: str = "SPEX queries"
    status: str = ""  # shown after the counts, e.g. the last round's R² estimate
    n_evaluated: int = 0  # masks evaluated by earlier calls (the anchors, earlier rounds)

    def run(self, masks: np.ndarray) -> tuple[np.ndarray, dict]:
        bar = progress_bar(self.show_progress, masks.shape[0], self.label)
        if bar is not None and self.status:
            bar.set_postfix_str(self.status, refresh=False)
        stats: dict = {}
        try:
            values, spent, n_cached = _query(
                self.value_function,
                masks,
                self.batch_size,
                bar,
                self.store,
                self.executor,
                self.max_retries,
                self.on_batch,
                stats,
                self.n_evaluated,
            )
        finally:
            if bar is not None:
                bar.close()
        self.n_evaluated += stats.pop("n_evaluated", 0)
        stats.update(value_seconds=spent, n_from_cache=n_cached)
        return values, stats


def open_store(
    cache: str | os.PathLike[str] | None, cache_key: str | None, value_function, n_features: int
) -> QueryStore | None:
    """Open the query store for ``cache`` (None: no store); arguments already validated.

    A given ``cache_key`` is the store key itself. Without one the key is the content of
    ``value_function`` (code, closure, globals, bound state: see
    :mod:`captum_spex._identity`) and ``n_features``; a value function whose content cannot
    be proven raises a ``ValueError`` that asks for ``cache_key``.
    """
    if cache is None:
        return None
    if cache_key is None:
        cache_key = store_key("spex", ["spex", Part("value_function", value_function), n_features])
    return QueryStore(cache, cache_key, n_features)


def progress_bar(show: bool, total: int, desc: str, unit: str = "mask"):
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit)
