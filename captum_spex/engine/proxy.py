"""ProxySPEX: gradient-boosted trees on uniform random masks, read off as a Fourier expansion.

ProxySPEX (Butler et al., 2025) fits a cheap proxy model, LightGBM gradient-boosted trees, to
the value function on uniform random masks and reads the proxy's Fourier expansion off its
trees *exactly*. A regression tree is a sum over its leaves of ``value * prod(indicator of
each split condition on the path)``; with the convention ``chi_i(m) = (-1)^{m_i}`` (``m_i = 1``
when feature ``i`` is kept) the indicators of a binary feature are

    1[i kept]    = (1 - chi_i) / 2,        1[i removed] = (1 + chi_i) / 2,

so a leaf whose path constrains ``d`` distinct features contributes
``value * 2^-d * prod_{i in T} s_i`` to the coefficient ``F(T)`` of every subset ``T`` of those
features (``s_i = -1`` for "kept", ``+1`` for "removed"). Summing over every leaf of every
tree, plus the booster's initial score (LightGBM folds it into the first tree's leaves), gives
the proxy's exact expansion ``f(m) = sum_S F(S) (-1)^{|S ∩ kept(m)|}``.

The largest coefficients are then kept and refitted by ridge least squares on every sample,
and the terms below the noise floor (t-statistic < 3) are dropped.
It pays off when interactions are hierarchical (AND-like): trees represent them compactly,
with far fewer queries than the SPEX design needs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from typing import Any

import numpy as np

from ..interactions import Interactions
from ._common import ValueFunction, _external_stacklevel, _progress, _QueryPlan
from .design import usable_budget
from .refine import parity_features

__all__ = ["proxy_spex", "booster_fourier"]

# below this many distinct masks there is nothing to split into train and validation
_MIN_SAMPLES = 32
# share of the samples held out for early stopping and the model choices
_VAL_FRACTION = 0.2
_MIN_VAL = 8
_MAX_ROUNDS = 1000
_EARLY_STOP = 50
# every tree shape of the grid boosts this many rounds; only the best one continues
_PROBE_ROUNDS = 150
# cap on the number of refitted terms chosen automatically (n_terms=None)
_MAX_AUTO_TERMS = 512
# ridge penalties tried, in units of the number of fitted samples (a parity column has
# squared norm N, so lambda = a * N shrinks an isolated coefficient by 1 / (1 + a))
_RIDGE_GRID = (1e-6, 1e-3, 1e-2, 1e-1)
# after the final refit, drop terms whose t-statistic is below this in every output
_PRUNE_T = 3.0
_PRUNE_ROUNDS = 3
# below this validation R², warn as spex() does
_R2_WARN = 0.75


def _lgb_grid(max_degree: int) -> list[dict[str, Any]]:
    """The small grid of tree shapes tried (the best on the validation split is kept).

    ``max_depth <= max_degree`` so that every leaf constrains at most ``max_degree`` features
    and the expansion has degree ``<= max_degree`` without truncation. A shallow shape for
    low-order (AND-like) structure, a deep one, and the deep one with L2-shrunk leaves for
    noisy values. (Learning rate 0.05 and 32 leaves doubled the fit time without winning on
    the hierarchical benchmark; 0.2 lost R² at 600-1,400 samples.)
    """
    shallow = min(3, max_degree)
    deep = max_degree
    grid = [
        {"max_depth": shallow, "num_leaves": 1 << shallow, "learning_rate": 0.1},
        {"max_depth": deep, "num_leaves": min(1 << deep, 16), "learning_rate": 0.1},
        {
            "max_depth": deep,
            "num_leaves": min(1 << deep, 16),
            "learning_rate": 0.1,
            "lambda_l2": 10.0,
        },
    ]
    out: list[dict[str, Any]] = []
    for g in grid:  # drop duplicates (small max_degree makes shapes coincide)
        if g not in out:
            out.append(g)
    return out


def import_lightgbm():
    """Import LightGBM, or raise an ImportError naming the ``proxy`` extra."""
    try:
        import lightgbm
    except ImportError as exc:
        raise ImportError(
            "ProxySPEX needs LightGBM, which is not installed. Install the 'proxy' extra: "
            'pip install "captum-spex[proxy]"'
        ) from exc
    return lightgbm


def check_proxy_budget(n_features: int, n_samples: int, caller: str = "spex") -> None:
    """ProxySPEX needs at least 32 masks (train and validation splits)."""
    if usable_budget(n_samples, n_features) < _MIN_SAMPLES:
        raise ValueError(
            f"The 'n_samples' parameter of {caller} must be at least {_MIN_SAMPLES} for "
            f"method='proxy' (train and validation splits); got {n_samples}."
        )


# ---------------------------------------------------------------------- masks


def _uniform_masks(rng: np.random.Generator, n: int, n_samples: int) -> np.ndarray:
    """Up to ``n_samples`` distinct uniform random masks (fewer only if 2^n is smaller)."""
    if n <= 20:
        size = min(n_samples, 1 << n)
        idx = rng.choice(1 << n, size=size, replace=False).astype(np.int64)
        return ((idx[:, None] >> np.arange(n)) & 1).astype(bool)
    masks = rng.random((n_samples, n)) < 0.5
    for attempt in range(8):  # collisions are rare for n > 20; top up a few times
        packed = np.packbits(masks, axis=1)
        keys = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1]))).ravel()
        _, first = np.unique(keys, return_index=True)
        masks = masks[np.sort(first)]
        if masks.shape[0] >= n_samples or attempt == 7:
            break
        masks = np.concatenate([masks, rng.random((n_samples - masks.shape[0], n)) < 0.5])
    return masks[:n_samples]


# ---------------------------------------------------------------------- trees -> Fourier


def _split_sides(node: Mapping[str, Any]) -> tuple[int, int]:
    """Bit sets (bit v = input value v) of the binary values sent left and right."""
    decision = node.get("decision_type", "<=")
    if decision != "<=":
        raise ValueError(
            f"unsupported LightGBM split decision_type {decision!r}: ProxySPEX trees split "
            "numerical 0/1 features only"
        )
    thr = float(node["threshold"])
    zero_missing = node.get("missing_type", "None") == "Zero"
    left = 0
    for v in (0, 1):
        goes_left = bool(node.get("default_left", True)) if zero_missing and v == 0 else v <= thr
        if goes_left:
            left |= 1 << v
    return left, 3 & ~left


def _tree_leaves(root: Mapping[str, Any], out: dict[int, list]) -> None:
    """Append ``(features, signs, value)`` of every reachable leaf, grouped by depth d."""
    stack: list[tuple[Mapping[str, Any], dict[int, int]]] = [(root, {})]
    while stack:
        node, cons = stack.pop()
        if "leaf_value" in node:
            items = sorted((f, b) for f, b in cons.items() if b != 3)
            d = len(items)
            feats = [f for f, _ in items]
            # bits == 1: only "removed" (0) reaches the leaf -> (1 + chi)/2, sign +1
            # bits == 2: only "kept" (1) reaches the leaf -> (1 - chi)/2, sign -1
            signs = [1.0 if b == 1 else -1.0 for _, b in items]
            out.setdefault(d, []).append((feats, signs, float(node["leaf_value"])))
            continue
        feat = int(node["split_feature"])
        left, right = _split_sides(node)
        prev = cons.get(feat, 3)
        for child, bits in ((node["left_child"], left), (node["right_child"], right)):
            allowed = prev & bits
            if allowed == 0:  # unreachable for 0/1 inputs: the product of indicators is 0
                continue
            sub = dict(cons)
            sub[feat] = allowed
            stack.append((child, sub))


def booster_fourier(
    model: Any, n_features: int, max_degree: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact Fourier expansion of a LightGBM model over binary (0/1) features.

    Parameters
    ----------
    model : lightgbm.Booster or dict
        A booster, or its ``dump_model()`` dictionary (every tree in it is summed; dump with
        ``num_iteration`` to keep only the first trees). Features must be 0/1 valued: 1 =
        kept, 0 = removed.
    n_features : int
        Number of features ``n``.
    max_degree : int, optional
        Drop the terms of degree above this (None keeps the whole expansion, which is then
        exact: ``predict(m) == sum_S F(S) (-1)^{|S ∩ kept(m)|}`` on every mask).

    Returns
    -------
    supports : numpy.ndarray
        ``(K, w)`` int64 ascending feature ids, padded with -1; row 0 is the constant when
        present.
    degrees : numpy.ndarray
        ``(K,)`` int64.
    coefficients : numpy.ndarray
        ``(K,)`` float64 Fourier coefficients ``F(S)``.

    Examples
    --------
    >>> tree = {"tree_info": [{"tree_structure": {
    ...     "split_feature": 0, "threshold": 0.5, "decision_type": "<=",
    ...     "left_child": {"leaf_value": 1.0}, "right_child": {"leaf_value": 3.0}}}]}
    >>> sup, deg, coef = booster_fourier(tree, 2)  # f = 1 + 2 m_0 = 2 - chi_0
    >>> sup.tolist(), coef.tolist()
    ([[-1], [0]], [2.0, -1.0])
    """
    dump = model if isinstance(model, Mapping) else model.dump_model()
    n = int(n_features)
    by_depth: dict[int, list] = {}
    for tree in dump["tree_info"]:
        _tree_leaves(tree["tree_structure"], by_depth)
    limit = None if max_degree is None else int(max_degree)
    width = max(by_depth, default=0)
    if limit is not None:
        width = min(width, limit)
    width = max(width, 1)
    keys_list, coef_list, deg_list = [], [], []
    for d, leaves in by_depth.items():
        vals = np.array([v for _, _, v in leaves], dtype=np.float64)
        if d == 0:
            keys_list.append(np.full((1, width), n, dtype=np.int64))
            coef_list.append(np.array([vals.sum()]))
            deg_list.append(np.zeros(1, dtype=np.int64))
            continue
        feats = np.array([f for f, _, _ in leaves], dtype=np.int64)  # (L, d), ascending
        signs = np.array([s for _, s, _ in leaves], dtype=np.float64)  # (L, d)
        bits = ((np.arange(1 << d)[:, None] >> np.arange(d)) & 1).astype(bool)  # (2^d, d)
        sub_deg = bits.sum(axis=1)
        keep = sub_deg <= (d if limit is None else limit)
        bits, sub_deg = bits[keep], sub_deg[keep]
        # coefficient of each subset: value * 2^-d * prod of the signs in the subset
        prod = np.where(bits[None, :, :], signs[:, None, :], 1.0).prod(axis=2)
        coef = (vals[:, None] * (0.5**d)) * prod  # (L, S)
        keys = np.sort(np.where(bits[None, :, :], feats[:, None, :], n), axis=2)
        keys = keys[:, :, : min(d, width)]  # subsets kept have at most `width` members
        pad = width - keys.shape[2]
        if pad:
            keys = np.concatenate([keys, np.full(keys.shape[:2] + (pad,), n, np.int64)], 2)
        keys_list.append(keys.reshape(-1, width))
        coef_list.append(coef.ravel())
        deg_list.append(np.tile(sub_deg, len(leaves)))
    if not keys_list:
        return np.full((0, width), -1, np.int64), np.zeros(0, np.int64), np.zeros(0)
    keys = np.concatenate(keys_list)
    coefs = np.concatenate(coef_list)
    if (n + 1) ** width < 2**62:  # mixed-radix int64 key per support
        radix = (n + 1) ** np.arange(width, dtype=np.int64)
        flat = keys @ radix
        uniq, inverse = np.unique(flat, return_inverse=True)
        supports = (uniq[:, None] // radix) % (n + 1)
    else:
        supports, inverse = np.unique(keys, axis=0, return_inverse=True)
    summed = np.bincount(inverse.ravel(), weights=coefs, minlength=supports.shape[0])
    degrees = (supports < n).sum(axis=1).astype(np.int64)
    order = np.lexsort((*(supports[:, j] for j in range(width - 1, -1, -1)), degrees))
    supports = np.where(supports[order] < n, supports[order], -1).astype(np.int64)
    return supports, degrees[order], summed[order]


# ---------------------------------------------------------------------- fitting


class _Boosting:
    """One LightGBM booster trained round by round, with early stopping on validation l2."""

    def __init__(self, lgb, params, train_set, valid_set, setting):
        self.booster = lgb.Booster(params=params, train_set=train_set)
        self.booster.add_valid(valid_set, "validation")
        self.setting = setting
        self.best_l2 = np.inf
        self.best_iter = 0
        self.done = False

    def advance(self, until: int) -> None:
        """Boost until ``until`` rounds, the early-stopping patience runs out, or no split
        is left."""
        it = self.booster.current_iteration()
        while not self.done and it < until:
            finished = self.booster.update()
            it += 1
            l2 = self.booster.eval_valid()[0][2]
            if l2 < self.best_l2:
                self.best_l2, self.best_iter = l2, it
            if finished or it - self.best_iter >= _EARLY_STOP or it >= _MAX_ROUNDS:
                self.done = True


def _fit_boosters(lgb, x_tr, y_tr, x_va, y_va, max_degree, seed, show_progress):
    """One booster per output. Every tree shape of the grid boosts ``_PROBE_ROUNDS`` rounds;
    the one with the lowest validation error then continues to early stopping."""
    grid = _lgb_grid(max_degree)
    n_out = y_tr.shape[1]
    bar = _progress(show_progress, n_out * (len(grid) + 1), "ProxySPEX fits", unit="fit")
    base = {
        "objective": "regression",
        "metric": "l2",
        "verbose": -1,
        "num_threads": 1,
        "deterministic": True,
        "force_row_wise": True,
        "seed": seed,
        "min_data_in_leaf": max(5, min(20, x_tr.shape[0] // 64)),
        "feature_pre_filter": False,
    }
    fitted = []
    try:
        for o in range(n_out):
            dtr = lgb.Dataset(x_tr, y_tr[:, o], params=dict(base), free_raw_data=False)
            dva = lgb.Dataset(x_va, y_va[:, o], reference=dtr, params=dict(base))
            runs = []
            for setting in grid:
                run = _Boosting(lgb, {**base, **setting}, dtr, dva, setting)
                run.advance(_PROBE_ROUNDS)
                runs.append(run)
                if bar is not None:
                    bar.update(1)
            best = min(runs, key=lambda r: r.best_l2)  # first of equals: grid order
            best.advance(_MAX_ROUNDS)
            if bar is not None:
                bar.update(1)
            n_iter = max(best.best_iter, 1)
            pred = best.booster.predict(x_va, num_iteration=n_iter)
            mse = float(np.mean((y_va[:, o] - pred) ** 2))
            fitted.append((mse, best.booster, n_iter, best.setting))
    finally:
        if bar is not None:
            bar.close()
    return fitted


def _ridge_solve(gram: np.ndarray, rhs: np.ndarray, lam: float) -> np.ndarray:
    pen = np.full(gram.shape[0], lam)
    pen[0] = 0.0  # column 0 is the constant: never shrunk
    return np.linalg.solve(gram + np.diag(pen), rhs)


def _refit_and_prune(xs, values, supports, degrees, a):
    """Ridge on every sample, then drop terms with ``|t| < 3`` in every output and refit."""
    n_all = xs.shape[0]
    floor = (1e-12 * (float(np.sqrt(np.mean(values**2))) or 1.0)) ** 2
    keep = np.arange(xs.shape[1])
    for rnd in range(_PRUNE_ROUNDS + 1):
        x = xs[:, keep]
        pen = np.full(keep.size, a * n_all)
        pen[0] = 0.0  # column 0 is the constant: never shrunk, never pruned
        gram_r = x.T @ x + np.diag(pen)
        coefs = np.linalg.solve(gram_r, x.T @ values)
        if rnd == _PRUNE_ROUNDS:
            break
        resid = values - x @ coefs
        noise_var = np.maximum(np.sum(resid**2, axis=0) / max(n_all - keep.size, 1), floor)
        se = np.sqrt(np.outer(np.diag(np.linalg.inv(gram_r)), noise_var))
        ok = (np.abs(coefs) / se).max(axis=1) >= _PRUNE_T
        ok[0] = True
        if ok.all():
            break
        keep = keep[ok]
    return supports[keep], degrees[keep], coefs


def _term_grid(n_avail: int, n_terms: int | None, n_train: int) -> list[int]:
    if n_terms is not None:
        return [min(n_terms, n_avail)]
    cap = min(n_avail, max(1, n_train // 4), _MAX_AUTO_TERMS)
    ks = [k for k in (2**j for j in range(2, 20)) if k < cap]
    return ks + [cap]


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
    from .spex import spex

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


def run_proxy(lgb, plan: _QueryPlan, n, n_samples, max_degree, seed, n_terms):
    """Uniform masks, boosted trees, their exact expansion, top terms refitted by ridge
    (called by ``spex(method="proxy")`` after validation)."""
    rng = np.random.default_rng(seed)
    masks = _uniform_masks(rng, n, n_samples)
    values, stats = plan.run(masks)
    show_progress = plan.show_progress

    t0 = time.perf_counter()
    n_all = masks.shape[0]
    n_val = max(_MIN_VAL, int(round(_VAL_FRACTION * n_all)))
    perm = rng.permutation(n_all)
    va, tr = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    # standardise each output: LightGBM stores labels in float32
    center = values[tr].mean(axis=0)
    scale = values[tr].std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    z = (values - center) / scale
    x = masks.astype(np.float32)
    fitted = _fit_boosters(lgb, x[tr], z[tr], x[va], z[va], max_degree, seed, show_progress)

    # exact expansion of every booster, merged into one support
    expansions = []
    for o, (_, booster, n_iter, _) in enumerate(fitted):
        sup, deg, coef = booster_fourier(booster.dump_model(num_iteration=n_iter), n, max_degree)
        coef = coef * scale[o]
        coef[deg == 0] += center[o]
        expansions.append((sup, deg, coef))
    supports, degrees, cand = _merge(expansions)

    # rank the non-constant terms by their largest standardised magnitude
    rank = np.max(np.abs(cand) / scale[None, :], axis=1)
    rank[degrees == 0] = np.inf
    order = np.argsort(-rank, kind="stable")
    supports, degrees, cand = supports[order], degrees[order], cand[order]
    if degrees.size == 0 or degrees[0] != 0:  # the constant always leads the support
        supports = np.concatenate([np.full((1, supports.shape[1]), -1), supports])
        degrees = np.concatenate([[0], degrees])
    n_avail = degrees.size - 1

    # choose (number of terms, ridge) on the validation split, then refit on every sample
    ks = _term_grid(n_avail, n_terms, tr.size)
    k_max = max(ks)
    x_par = parity_features(masks, supports[: k_max + 1], degrees[: k_max + 1])
    gram = x_par[tr].T @ x_par[tr]
    rhs = x_par[tr].T @ values[tr]
    var_va = np.var(values[va], axis=0)
    var_va = np.where(var_va > 0, var_va, 1.0)
    best = None
    for k in ks:
        for a in _RIDGE_GRID:
            w = _ridge_solve(gram[: k + 1, : k + 1], rhs[: k + 1], a * tr.size)
            err = np.mean((values[va] - x_par[va, : k + 1] @ w) ** 2, axis=0) / var_va
            score = float(np.mean(err))
            if best is None or score < best[0] - 1e-12:
                best = (score, k, a, 1.0 - err)
    _, k, a, r2_val = best
    supports, degrees = supports[: k + 1], degrees[: k + 1]
    supports, degrees, coefs = _refit_and_prune(x_par[:, : k + 1], values, supports, degrees, a)
    fit_seconds = time.perf_counter() - t0

    n_out = values.shape[1]
    tree_r2 = [
        1.0 - mse / max(float(np.var(z[va, o])), 1e-300) for o, (mse, *_) in enumerate(fitted)
    ]

    def per_output(v):
        return v[0] if n_out == 1 else list(v)

    diag = {
        "mode": "proxy",
        "fit_seconds": fit_seconds,
        **stats,
        "n_queries": int(n_all),
        "n_train": int(tr.size),
        "n_validation": int(va.size),
        "n_trees": per_output([int(it) for _, _, it, _ in fitted]),
        "lgb_params": per_output([dict(s) for *_, s in fitted]),
        "tree_r2": per_output([float(r) for r in tree_r2]),
        "r2_estimate": per_output([float(r) for r in r2_val]),
        "n_candidates": int(n_avail),
        "n_terms": int(degrees.size),
        "n_terms_selected": int(k + 1),
        "ridge": float(a),
    }
    if float(np.min(r2_val)) < _R2_WARN:
        import warnings

        from .spex import SpexFitWarning  # lazily: spex may import this module

        warnings.warn(
            f"ProxySPEX reconstructs the function poorly: R² {float(np.min(r2_val)):.2f} on "
            f"{va.size} held-out uniform masks ({degrees.size} terms). Try a larger n_samples or a "
            "higher max_degree; SPEX may suit non-hierarchical interactions better.",
            SpexFitWarning,
            stacklevel=_external_stacklevel(),
        )
    terms = [tuple(int(i) for i in s[:d]) for s, d in zip(supports, degrees)]
    return terms, coefs, n_all, diag


def _merge(expansions):
    """Union of per-output supports: ``(K, w)`` supports, degrees, ``(K, O)`` coefficients."""
    width = max(max(s.shape[1] for s, _, _ in expansions), 1)
    n_out = len(expansions)
    if n_out == 1:
        sup, deg, coef = expansions[0]
        return sup, deg, coef[:, None]
    rows, degs, outs, vals = [], [], [], []
    for o, (sup, deg, coef) in enumerate(expansions):
        pad = np.full((sup.shape[0], width), -1, np.int64)
        pad[:, : sup.shape[1]] = sup
        rows.append(pad)
        degs.append(deg)
        outs.append(np.full(deg.size, o))
        vals.append(coef)
    allrows = np.concatenate(rows)
    uniq, first, inverse = np.unique(allrows, axis=0, return_index=True, return_inverse=True)
    coefs = np.zeros((uniq.shape[0], n_out))
    np.add.at(coefs, (inverse.ravel(), np.concatenate(outs)), np.concatenate(vals))
    degrees = np.concatenate(degs)[first]
    return uniq.astype(np.int64), degrees, coefs
