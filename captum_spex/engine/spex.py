"""``spex()``: validate, query through the design, decode, refine, return ``Interactions``."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Literal

import numpy as np

from ..interactions import Interactions
from . import _kernels
from ._common import (
    SpexQueryError,
    ValueFunction,
    _check_executor,
    _check_int,
    _external_stacklevel,
    _open_store,
    _progress,
    _QueryPlan,
)
from .design import minimum_budget, plan_design, usable_budget
from .peeling import Decoder, bucket_transform
from .refine import parity_features, refit

__all__ = [
    "spex",
    "SpexFitWarning",
    "SpexQueryError",
    "check_budget",
    "planned_queries",
    "uses_exact",
]


class SpexFitWarning(UserWarning):
    """The explanation reconstructs the function poorly (low estimated R²)."""


# below this estimated faithfulness, spex() warns
_R2_WARN = 0.75

_MAX_REFINE_ROUNDS = 4
# in exact mode, up to this many features every order of the transform is returned
_EXACT_FULL_MAX_N = 16
_CHASE_DEPTH = {"soft": 8, "hard": 0}


def uses_exact(n_features: int, n_samples: int) -> bool:
    """Whether ``spex()`` evaluates all ``2^n`` masks (the exact transform) at this budget."""
    return n_features <= 30 and (1 << n_features) <= usable_budget(n_samples, n_features)


def check_budget(
    n_features: int, n_samples: int, max_degree: int, caller: str = "spex", method: str = "spex"
) -> None:
    """Raise ``ValueError`` naming the minimum when ``n_samples`` cannot run (before any
    query)."""
    max_degree = min(max_degree, n_features)
    if uses_exact(n_features, n_samples):
        return
    if method == "proxy":
        from .proxy import check_proxy_budget

        check_proxy_budget(n_features, n_samples, caller)
        return
    minimum = minimum_budget(n_features, max_degree)
    if n_features <= 30:
        minimum = min(minimum, 1 << n_features)  # all 2^n masks: the exact transform
    if n_samples < minimum:
        raise ValueError(
            f"The 'n_samples' parameter of {caller} must be at least {minimum} for "
            f"n_features={n_features} and max_degree={max_degree}; got {n_samples}. Raise the "
            "budget, lower max_degree, or group features."
        )


def planned_queries(
    n_features: int, n_samples: int, max_degree: int, seed: int, method: str = "spex"
) -> int:
    """The number of masks ``spex()`` will evaluate with these arguments (for progress
    bars of callers that count their own model calls)."""
    if uses_exact(n_features, n_samples):
        return 1 << n_features
    if method == "proxy":  # distinct uniform masks, the whole (capped) budget
        return usable_budget(n_samples, n_features)
    design = plan_design(
        n_features, n_samples, min(max_degree, n_features), np.random.default_rng(seed)
    )
    return int(design.masks.shape[0])


def _exact(plan: _QueryPlan, n: int, max_degree: int):
    """All 2^n masks: the exact transform.

    Up to ``_EXACT_FULL_MAX_N`` features every order is kept, so that Shapley and Banzhaf
    values (and every index) are exact; beyond, the conversions would scatter ``3^n``
    subsets and the transform is truncated to ``max_degree`` (the best approximation of that
    degree under uniform masks), its lost energy reported in the diagnostics."""
    idx = np.arange(1 << n, dtype=np.int64)
    masks = ((idx[:, None] >> np.arange(n)) & 1).astype(bool)
    values, stats = plan.run(masks)
    t0 = time.perf_counter()
    coefs = np.ascontiguousarray(values.T)
    _kernels.fwht(coefs)
    coefs /= 1 << n
    degree = sum((idx >> r) & 1 for r in range(n))
    if n <= _EXACT_FULL_MAX_N:
        max_degree = n
    scale = float(np.abs(coefs).max()) if coefs.size else 0.0
    keep = (degree <= max_degree) & (np.abs(coefs).max(axis=0) > 1e-13 * max(scale, 1e-300))
    keep[0] = True
    kept = np.flatnonzero(keep)
    terms = [tuple(int(i) for i in np.flatnonzero((k >> np.arange(n)) & 1)) for k in kept]
    truncated = float(np.sum(coefs[:, degree > max_degree] ** 2))
    total = float(np.sum(coefs[:, 1:] ** 2))
    diagnostics = {
        "mode": "exact",
        "truncated_energy": truncated,
        # exact: the only loss is a truncation to max_degree (none up to 16 features)
        "r2_estimate": 1.0 - truncated / total if total > 0 else 1.0,
        "returned_degree": int(max_degree),
        "decode_seconds": time.perf_counter() - t0,
        "n_terms": len(terms),
        **stats,
    }
    return terms, coefs[:, kept].T, masks.shape[0], diagnostics


def spex(
    value_function: ValueFunction,
    n_features: int,
    *,
    n_samples: int,
    max_degree: int = 5,
    seed: int = 0,
    show_progress: bool = False,
    decoder: Literal["soft", "hard"] = "soft",
    batch_size: int = 4096,
    feature_names: list[str] | None = None,
    cache: str | os.PathLike[str] | None = None,
    cache_key: str | None = None,
    executor: Executor | None = None,
    max_retries: int = 2,
    on_batch: Callable[[int], None] | None = None,
    method: Literal["spex", "proxy"] = "spex",
    n_terms: int | None = None,
) -> Interactions:
    """Explain a set function by its sparse Fourier (Walsh-Hadamard) interactions with SPEX.

    SPEX (Kang et al., ICML 2025, https://arxiv.org/abs/2502.13870) queries the function on
    masks chosen by a sparse Fourier transform design (random subsampling + BCH-coded
    delays), decodes the significant interactions by peeling, and refits them by least
    squares on every query. ``method="proxy"`` runs ProxySPEX instead (boosted trees on
    uniform random masks, see :func:`captum_spex.engine.proxy.proxy_spex`).

    Parameters
    ----------
    value_function : callable
        Maps a bool array ``(N, n_features)``, True = feature kept, to values of shape
        ``(N,)`` or ``(N, n_outputs)`` (numpy, lists or torch tensors).
    n_features : int
        Number of features ``n >= 1``.
    n_samples : int
        Budget: the largest number of masks ever evaluated (each mask at most once). When
        ``2^n <= n_samples`` the exact transform of all ``2^n`` masks is computed instead.
    max_degree : int, default 5
        Largest interaction order to recover (the BCH code corrects ``t = max_degree``).
        In exact mode (``2^n <= n_samples``) with at most 16 features every order is
        returned, so that all indices are exact.
    seed : int, default 0
        Seed of the query design; the same seed gives the same masks and result.
    show_progress : bool, default False
        Show tqdm progress bars for querying and decoding.
    decoder : {"soft", "hard"}, default "soft"
        "soft" runs Chase decoding over the least reliable delay signs; "hard" only the
        algebraic BCH decoder.
    batch_size : int, default 4096
        Masks per call of ``value_function``.
    feature_names : list of str, optional
        Names stored on the result.
    cache : str or os.PathLike, optional
        SQLite file of finished queries (see :class:`captum_spex.store.QueryStore`). Each
        batch is committed as it finishes; a rerun with the same seed and arguments reads
        them back and queries only the missing masks. ``None`` (default) keeps nothing.
    cache_key : str, optional
        Identity of the explained function inside ``cache``. Defaults to a fingerprint of
        the value function's qualified name and ``n_features``: give distinct keys when one
        cache serves different functions of the same name (e.g. one per explained input).
    executor : concurrent.futures.Executor, optional
        Evaluate the batches of masks on an executor: a thread or process pool, Dask's
        ``distributed.Client(...).get_executor()``, or anything with ``submit``. Batches go
        out as bit-packed masks and come back as float values, are gathered in mask order
        and committed to ``cache`` as each finishes; the result is bit-identical to a
        serial run. The value function must be picklable for process-based executors; wrap
        models in :class:`captum_spex.distributed.ModelFactory` so each worker builds its
        model once.
    max_retries : int, default 2
        With an executor, how many times a failed batch is resubmitted before giving up.
    on_batch : callable, optional
        Called in the caller's process with the number of masks of every finished batch
        (for the progress bars of front ends).
    method : {"spex", "proxy"}, default "spex"
        "spex": the sparse Fourier design and decoder. "proxy": ProxySPEX, LightGBM trees
        fitted on ``n_samples`` uniform masks and read off exactly (needs the ``proxy``
        extra; far fewer queries when interactions are hierarchical, AND-like).
    n_terms : int, optional
        ProxySPEX only: the number of terms kept for the refit (default: validated).

    Returns
    -------
    Interactions
        The sparse Fourier coefficients; ``n_queries`` is the number of masks the
        explanation rests on (``diagnostics["n_from_cache"]`` of them read from ``cache``).
        ``diagnostics["r2_estimate"]`` estimates the faithfulness on held-out uniform masks.

    Raises
    ------
    ValueError, TypeError
        On a bad argument (named in the message), before any query; on value-function
        output of the wrong shape, or NaN/Inf values.
    SpexQueryError
        When the value function raises; it tells how many masks were done (and stored).

    Warns
    -----
    SpexFitWarning
        When the estimated R² is poor: the function may not be sparse at this budget.

    Examples
    --------
    >>> import numpy as np
    >>> from captum_spex import spex
    >>> def f(masks):  # feature 3 and feature 7 matter only together
    ...     return 2.0 * (masks[:, 3] & masks[:, 7]) + 0.5 * masks[:, 1]
    >>> result = spex(f, 40, n_samples=3000, max_degree=3, seed=0)
    >>> result.n_queries <= 3000
    True
    >>> sorted(k for k, v in result.fourier().items() if abs(v) > 1e-6)
    [(), (1,), (3,), (3, 7), (7,)]
    """
    if not callable(value_function):
        raise TypeError(f"value_function must be callable; got {type(value_function).__name__}")
    n = _check_int(n_features, "n_features", 1)
    n_samples = _check_int(n_samples, "n_samples", 1)
    max_degree = _check_int(max_degree, "max_degree", 1)
    seed = _check_int(seed, "seed", 0)
    batch_size = _check_int(batch_size, "batch_size", 1)
    if decoder not in _CHASE_DEPTH:
        raise ValueError(
            f"The 'decoder' parameter of spex must be 'soft' or 'hard'; got {decoder!r}."
        )
    if method not in ("spex", "proxy"):
        raise ValueError(
            f"The 'method' parameter of spex must be 'spex' or 'proxy'; got {method!r}."
        )
    if n_terms is not None:
        if method != "proxy":
            raise ValueError("The 'n_terms' parameter of spex applies to method='proxy' only.")
        n_terms = _check_int(n_terms, "n_terms", 1)
    if not isinstance(show_progress, bool):
        raise TypeError("The 'show_progress' parameter of spex must be a bool.")
    if feature_names is not None and len(feature_names) != n:
        raise ValueError(f"feature_names has {len(feature_names)} names for {n} features")
    max_degree = min(max_degree, n)
    exact = uses_exact(n, n_samples)
    check_budget(n, n_samples, max_degree, method=method)
    if method == "proxy" and not exact:
        from .proxy import import_lightgbm

        lgb = import_lightgbm()  # before any (expensive) query
    _check_executor(executor, max_retries, on_batch, "spex")
    store = _open_store(cache, cache_key, value_function, n)
    plan = _QueryPlan(
        value_function,
        batch_size,
        show_progress,
        store,
        executor,
        max_retries,
        on_batch,
        "ProxySPEX queries" if method == "proxy" else "SPEX queries",
    )
    try:
        if exact:
            terms, coefs, n_queries, diag = _exact(plan, n, max_degree)
        elif method == "proxy":
            from .proxy import run_proxy

            terms, coefs, n_queries, diag = run_proxy(
                lgb, plan, n, usable_budget(n_samples, n), max_degree, seed, n_terms
            )
        else:
            terms, coefs, n_queries, diag = _sparse(
                plan, n, n_samples, max_degree, seed, decoder, show_progress
            )
    finally:
        if store is not None:
            store.close()
    return Interactions(
        n,
        terms,
        coefs if coefs.shape[1] > 1 else coefs[:, 0],
        n_queries=n_queries,
        max_degree=diag.get("returned_degree", max_degree),
        feature_names=feature_names,
        diagnostics=diag,
        method=method,
    )


def _sparse(plan: _QueryPlan, n, n_samples, max_degree, seed, decoder, show_progress):
    """The sparse design: query, peel, refine."""
    rng = np.random.default_rng(seed)
    design = plan_design(n, n_samples, max_degree, rng)
    values, stats = plan.run(design.masks)
    t0 = time.perf_counter()
    terms, coefs, diag = _decode(design, values, max_degree, _CHASE_DEPTH[decoder], show_progress)
    diag["decode_seconds"] = time.perf_counter() - t0
    diag.update(stats)
    return terms, coefs, design.masks.shape[0], diag


def _decode(design, values, max_degree, n_chase, show_progress):
    """Peel every output, refit the union support on all queries, re-peel the residual."""
    code = design.code
    dec = Decoder(code, design.hashcols, max_degree, n_chase)
    n_buckets = 1 << design.b
    n_out = values.shape[1]
    big_u = np.stack([bucket_transform(values[:, o], design.inverse) for o in range(n_out)])
    fit_end = design.n_design + design.n_random
    rand_masks = design.masks[design.n_design : fit_end]
    y_rand = values[design.n_design : fit_end]
    scale = float(np.sqrt(np.mean(values**2))) or 1.0
    n_dup = design.inverse.size - design.n_design
    bar = _progress(show_progress, _MAX_REFINE_ROUNDS + 1, "SPEX decoding", unit="round")
    t = max(code.t, 1)

    found: dict[tuple[int, ...], None] = {(): None}
    n_peeled = 0
    for o in range(n_out):
        var_b = dec.noise_floor(big_u[o], scale)
        res = dec.peel(big_u[o], var_b)
        n_peeled += len(res.degrees)
        found.update(dict.fromkeys(res.terms()))
    if bar is not None:
        bar.update(1)

    def as_arrays(keys):
        sup = np.full((len(keys), t), -1, dtype=np.int64)
        deg = np.zeros(len(keys), dtype=np.int64)
        for q, k in enumerate(keys):
            sup[q, : len(k)] = k
            deg[q] = len(k)
        return sup, deg

    rounds = 0
    while True:
        sup, deg = as_arrays(list(found))
        x_rand = parity_features(rand_masks, sup, deg) if rand_masks.shape[0] else None
        fit = refit(
            dec,
            big_u,
            sup,
            deg,
            x_rand,
            y_rand if x_rand is not None else None,
            n_dup=n_dup,
            scale=scale,
        )
        found = dict.fromkeys(
            tuple(int(i) for i in s[:d]) for s, d in zip(fit.supports, fit.degrees)
        )
        rounds += 1
        if rounds > _MAX_REFINE_ROUNDS:
            break
        new = 0
        for o in range(n_out):
            var_b = max(float(fit.noise_var[o]) / n_buckets, (1e-12 * scale) ** 2)
            res = dec.peel(fit.residual_u[o], var_b)
            for k in res.terms():
                if k not in found:
                    found[k] = None
                    new += 1
        if bar is not None:
            bar.update(1)
        if new == 0:
            break
    if bar is not None:
        bar.update(bar.total - bar.n)  # converged early: the remaining rounds are not needed
        bar.close()
    terms = [tuple(int(i) for i in s[:d]) for s, d in zip(fit.supports, fit.degrees)]
    r2_est = None
    if design.n_holdout >= 20:
        held = design.masks[fit_end:]
        y_held = values[fit_end:]
        pred = parity_features(held, fit.supports, fit.degrees) @ fit.coefs
        var = np.var(y_held, axis=0)
        r2_est = 1.0 - np.mean((y_held - pred) ** 2, axis=0) / np.where(var > 0, var, 1.0)
    energy = np.einsum("ocpj,ocpj->o", big_u, big_u)
    const = [k for k in range(len(terms)) if not terms[k]]
    if const:  # the constant sits in bucket 0 of every group and delay: not signal
        energy = energy - big_u.shape[1] * big_u.shape[2] * fit.coefs[const[0]] ** 2
    left = np.einsum("ocpj,ocpj->o", fit.residual_u, fit.residual_u)
    diag = {
        "mode": "sparse",
        "b": design.b,
        "t": code.t,
        "n_groups": design.n_groups,
        "n_delays": code.n_parity + 1,
        "n_random": design.n_random,
        "noise_sd": np.sqrt(fit.noise_var).tolist()
        if n_out > 1
        else float(np.sqrt(fit.noise_var[0])),
        "n_peeled": n_peeled,
        "n_terms": len(terms),
        "refine_rounds": rounds,
        "decoder": "soft" if n_chase else "hard",
        "n_holdout": design.n_holdout,
        "r2_estimate": None
        if r2_est is None
        else (float(r2_est[0]) if n_out == 1 else r2_est.tolist()),
        "residual_energy_fraction": float(np.max(left / np.where(energy > 0, energy, 1.0))),
    }
    _warn_if_poor(diag, r2_est)
    return terms, fit.coefs, diag


def _warn_if_poor(diag: dict, r2_est) -> None:
    if r2_est is None or float(np.min(r2_est)) >= _R2_WARN:
        return
    import warnings

    warnings.warn(
        f"SPEX reconstructs the function poorly: estimated R² {float(np.min(r2_est)):.2f} on "
        f"{diag['n_holdout']} held-out uniform masks ({diag['n_terms']} terms found, "
        f"{diag['residual_energy_fraction']:.0%} of the bucket energy left unexplained). The "
        "function may not be sparse at this budget: try a larger n_samples, a higher "
        "max_degree, or grouping features (fewer, coarser features).",
        SpexFitWarning,
        stacklevel=_external_stacklevel(),
    )
