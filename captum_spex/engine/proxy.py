"""ProxySPEX's public entry point: ``proxy_spex`` (the same as ``spex(method="proxy")``).

The method itself lives in :mod:`captum_spex.engine.methods.proxy`, the exact tree read-off
in :mod:`captum_spex.engine.trees`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Executor

from ..interactions import Interactions
from .query import ValueFunction
from .spex import spex
from .trees import booster_fourier

__all__ = ["proxy_spex", "booster_fourier"]


def proxy_spex(
    value_function: ValueFunction,
    n_features: int,
    *,
    n_samples: int,
    max_degree: int = 5,
    seed: int = 0,
    show_progress: bool = False,
    batch_size: int = 4096,
    feature_names: list[str] | None = None,
    n_terms: int | None = None,
    cache: str | os.PathLike[str] | None = None,
    cache_key: str | None = None,
    executor: Executor | None = None,
    max_retries: int = 2,
    on_batch: Callable[[int], None] | None = None,
) -> Interactions:
    """Explain a set function by the Fourier expansion of a boosted-tree proxy (ProxySPEX).

    The same as ``spex(..., method="proxy")``.

    ProxySPEX (Butler et al., 2025) queries the function on ``n_samples`` uniform random
    masks, fits LightGBM gradient-boosted trees to the values (three tree shapes with
    ``max_depth <= max_degree`` boost 150 rounds each; the best on a 20% validation split
    continues to early stopping, at most 1,000 rounds),
    reads the trees' exact Fourier expansion off their leaves, keeps the largest
    coefficients, refits them by ridge least squares on every sample and drops those below
    the noise floor (t-statistic < 3). It needs far fewer queries than the SPEX design when
    interactions are hierarchical (AND-like), and it has no minimum budget beyond 32 masks;
    on non-hierarchical interactions (parities, XOR-like) greedy trees miss terms and SPEX
    is the better choice.

    Parameters
    ----------
    value_function : callable
        Maps a bool array ``(N, n_features)``, True = feature kept, to values of shape
        ``(N,)`` or ``(N, n_outputs)`` (numpy, lists or torch tensors). Every output gets
        its own booster; the refit shares one support across outputs.
    n_features : int
        Number of features ``n >= 1``.
    n_samples : int
        Budget: the largest number of masks ever evaluated (each mask at most once). When
        ``2^n <= n_samples`` the exact transform of all ``2^n`` masks is computed instead
        (as ``spex`` does); otherwise at least 32.
    max_degree : int, default 5
        Largest interaction order: the trees' depth is at most ``max_degree``.
    seed : int, default 0
        Seed of the masks, the split and LightGBM; the same seed gives the same result.
    show_progress : bool, default False
        Show tqdm progress bars for querying and fitting.
    batch_size : int, default 4096
        Masks per call of ``value_function``.
    feature_names : list of str, optional
        Names stored on the result.
    n_terms : int, optional
        Number of non-constant terms kept for the refit (the largest by magnitude). By
        default it is chosen on the validation split among 4, 8, 16, ... up to
        ``min(n_train / 4, 512)``, together with the ridge penalty. The refit on every
        sample then drops the terms whose t-statistic is below 3 in every output, so the
        result holds at most ``n_terms + 1`` terms (with the constant).
    cache : str or os.PathLike, optional
        SQLite file of finished queries, as in :func:`captum_spex.spex`: a rerun with the
        same seed and arguments reads them back and queries only the missing masks.
    cache_key : str, optional
        Identity of the explained function inside ``cache`` (see :func:`captum_spex.spex`).
    executor, max_retries, on_batch
        Scale-out of the queries, as in :func:`captum_spex.spex`.

    Returns
    -------
    Interactions
        The sparse Fourier coefficients, ``method="proxy"``; ``n_queries`` is the number of
        masks evaluated. ``diagnostics`` holds ``fit_seconds`` (trees, expansion and refit),
        ``value_seconds``, ``n_queries``, ``n_trees``, ``lgb_params``, ``tree_r2``
        (validation R² of the boosters), ``r2_estimate`` (validation R² of the refitted
        terms, fitted without the validation split), ``n_candidates`` (non-constant terms of
        the trees' expansion), ``n_terms_selected`` (kept for the refit), ``n_terms`` (left
        after pruning), ``ridge`` (penalty per sample) and the split sizes.

    Raises
    ------
    ValueError, TypeError
        On a bad argument (named in the message), before any query; on value-function
        output of the wrong shape, or NaN/Inf values.
    ImportError
        If LightGBM is missing: ``pip install "captum-spex[proxy]"`` (raised before any
        query).
    SpexQueryError
        When the value function raises.

    Warns
    -----
    SpexFitWarning
        When the validation R² of the result is below 0.75.

    Examples
    --------
    >>> from captum_spex.engine.proxy import proxy_spex
    >>> def f(masks):  # features 3 and 7 matter only together
    ...     return 2.0 * (masks[:, 3] & masks[:, 7]) + 0.5 * masks[:, 1]
    >>> result = proxy_spex(f, 40, n_samples=400, max_degree=3, seed=0)
    >>> result.n_queries <= 400, result.method
    (True, 'proxy')
    >>> sorted(k for k, v in result.fourier().items() if abs(v) > 1e-3)
    [(), (1,), (3,), (3, 7), (7,)]
    """
    return spex(
        value_function,
        n_features,
        n_samples=n_samples,
        max_degree=max_degree,
        seed=seed,
        show_progress=show_progress,
        batch_size=batch_size,
        feature_names=feature_names,
        cache=cache,
        cache_key=cache_key,
        executor=executor,
        max_retries=max_retries,
        on_batch=on_batch,
        method="proxy",
        n_terms=n_terms,
    )
