"""Gradient-boosted trees (LightGBM) on masks, and their exact Fourier expansion ranked by
magnitude: the tree proxy behind ProxySPEX and the candidate source of the default method.

LightGBM is imported lazily (:func:`import_lightgbm`), with an error naming the extra.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .query import progress_bar
from .trees import booster_fourier, merge_expansions

__all__ = ["fit_boosters", "import_lightgbm", "lgb_grid", "tree_candidates"]

_MAX_ROUNDS = 1000
_EARLY_STOP = 50
# every tree shape of the grid boosts this many rounds; only the best one continues
_PROBE_ROUNDS = 150


def lgb_grid(max_degree: int) -> list[dict[str, Any]]:
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


def fit_boosters(lgb, x_tr, y_tr, x_va, y_va, max_degree, seed, show_progress):
    """One booster per output. Every tree shape of the grid boosts ``_PROBE_ROUNDS`` rounds;
    the one with the lowest validation error then continues to early stopping."""
    grid = lgb_grid(max_degree)
    n_out = y_tr.shape[1]
    bar = progress_bar(show_progress, n_out * (len(grid) + 1), "ProxySPEX fits", unit="fit")
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


def tree_candidates(lgb, masks, values, tr, va, n, max_degree, seed, show_progress):
    """Boosters per output (trained on rows ``tr``, early-stopped on rows ``va``) and their
    merged exact expansion, ranked by standardised magnitude, the constant first.

    Returns ``(supports, degrees, fitted, z_va)``: ``fitted`` holds ``(validation mse,
    booster, n_iter, setting)`` per output and ``z_va`` the standardised validation values.
    """
    # standardise each output: LightGBM stores labels in float32
    center = values[tr].mean(axis=0)
    scale = values[tr].std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    z = (values - center) / scale
    x = masks.astype(np.float32)
    fitted = fit_boosters(lgb, x[tr], z[tr], x[va], z[va], max_degree, seed, show_progress)
    expansions = []
    for o, (_, booster, n_iter, _) in enumerate(fitted):
        dump = booster.dump_model(num_iteration=n_iter)
        sup, deg, coef = booster_fourier(dump, n, max_degree)
        coef = coef * scale[o]
        coef[deg == 0] += center[o]
        expansions.append((sup, deg, coef))
    supports, degrees, cand = merge_expansions(expansions)
    # rank the non-constant terms by their largest standardised magnitude
    rank = np.max(np.abs(cand) / scale[None, :], axis=1)
    rank[degrees == 0] = np.inf
    order = np.argsort(-rank, kind="stable")
    supports, degrees = supports[order], degrees[order]
    if degrees.size == 0 or degrees[0] != 0:  # the constant always leads the support
        supports = np.concatenate([np.full((1, supports.shape[1]), -1), supports])
        degrees = np.concatenate([[0], degrees])
    return supports, degrees, fitted, z[va]
