"""ProxySPEX: gradient-boosted trees on uniform random masks, read off as a Fourier expansion.

ProxySPEX (Butler et al., 2025) fits a cheap proxy model, LightGBM gradient-boosted trees, to
the value function on uniform random masks and reads the proxy's Fourier expansion off its
trees exactly (:mod:`..trees`). The largest coefficients are then kept and refitted by ridge
least squares on every sample, and the terms below the noise floor (t-statistic < 3) are
dropped (:mod:`..regression`). It pays off when interactions are hierarchical (AND-like):
trees represent them compactly, with far fewer queries than the SPEX design needs.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..._validation import Int, Optional
from ..design import uniform_masks, usable_budget
from ..errors import R2_WARN, warn_poor_fit
from ..query import progress_bar
from ..refine import parity_features
from ..regression import refit_and_prune, select_terms_and_ridge, term_grid
from ..trees import booster_fourier, merge_expansions
from ._base import Method, MethodResult, Plan, Query

__all__ = ["ProxyMethod", "import_lightgbm"]

# below this many distinct masks there is nothing to split into train and validation
MIN_SAMPLES = 32
# share of the samples held out for early stopping and the model choices
_VAL_FRACTION = 0.2
_MIN_VAL = 8
_MAX_ROUNDS = 1000
_EARLY_STOP = 50
# every tree shape of the grid boosts this many rounds; only the best one continues
_PROBE_ROUNDS = 150


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


class ProxyMethod(Method):
    """ProxySPEX: LightGBM trees on uniform masks, read off exactly, top terms refitted."""

    name = "proxy"
    description = "ProxySPEX: boosted trees on uniform masks, read off exactly (needs LightGBM)"
    options = {"n_terms": (Optional(Int(1)), None)}
    progress_label = "ProxySPEX queries"

    def check_budget(self, n_features, n_samples, max_degree, caller="spex") -> None:
        if usable_budget(n_samples, n_features) < MIN_SAMPLES:
            raise ValueError(
                f"The 'n_samples' parameter of {caller} must be at least {MIN_SAMPLES} for "
                f"method='proxy' (train and validation splits); got {n_samples}."
            )

    def require(self) -> None:
        import_lightgbm()

    def plan(self, n_features, n_samples, max_degree, seed, options) -> Plan:
        rng = np.random.default_rng(seed)
        masks = uniform_masks(rng, n_features, usable_budget(n_samples, n_features))
        # the split below continues the same random stream, whichever example runs the plan
        state = rng.bit_generator.state
        return Plan(n_features, n_samples, max_degree, seed, masks, dict(options), state)

    def run(self, plan: Plan, query: Query, show_progress: bool) -> MethodResult:
        lgb = import_lightgbm()
        masks = plan.masks
        values = query(masks)
        rng = np.random.Generator(np.random.PCG64())
        rng.bit_generator.state = plan.state
        t0 = time.perf_counter()
        n_all = masks.shape[0]
        n_val = max(_MIN_VAL, int(round(_VAL_FRACTION * n_all)))
        perm = rng.permutation(n_all)
        va, tr = np.sort(perm[:n_val]), np.sort(perm[n_val:])
        supports, degrees, fitted, z_va = _tree_candidates(
            lgb, masks, values, tr, va, plan, show_progress
        )
        n_avail = degrees.size - 1
        # choose (number of terms, ridge) on the validation split, then refit on every sample
        ks = term_grid(n_avail, plan.options.get("n_terms"), tr.size)
        k_max = max(ks)
        x_par = parity_features(masks, supports[: k_max + 1], degrees[: k_max + 1])
        k, a, r2_val = select_terms_and_ridge(x_par, values, tr, va, ks)
        supports, degrees, coefs = refit_and_prune(
            x_par[:, : k + 1], values, supports[: k + 1], degrees[: k + 1], a
        )
        diag = _diagnostics(fitted, z_va, r2_val, values.shape[1], n_all, tr, va)
        diag.update(
            fit_seconds=time.perf_counter() - t0,
            n_candidates=int(n_avail),
            n_terms=int(degrees.size),
            n_terms_selected=int(k + 1),
            ridge=float(a),
        )
        if float(np.min(r2_val)) < R2_WARN:
            warn_poor_fit(
                f"ProxySPEX reconstructs the function poorly: R² {float(np.min(r2_val)):.2f} "
                f"on {va.size} held-out uniform masks ({degrees.size} terms). Try a larger "
                "n_samples or a higher max_degree; SPEX may suit non-hierarchical interactions "
                "better."
            )
        terms = [tuple(int(i) for i in s[:d]) for s, d in zip(supports, degrees)]
        return MethodResult(terms, coefs, n_all, diag)


def _tree_candidates(lgb, masks, values, tr, va, plan, show_progress):
    """Boosters per output and their merged exact expansion, ranked by magnitude (the
    constant first)."""
    n = plan.n_features
    # standardise each output: LightGBM stores labels in float32
    center = values[tr].mean(axis=0)
    scale = values[tr].std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    z = (values - center) / scale
    x = masks.astype(np.float32)
    fitted = _fit_boosters(
        lgb, x[tr], z[tr], x[va], z[va], plan.max_degree, plan.seed, show_progress
    )
    expansions = []
    for o, (_, booster, n_iter, _) in enumerate(fitted):
        dump = booster.dump_model(num_iteration=n_iter)
        sup, deg, coef = booster_fourier(dump, n, plan.max_degree)
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


def _diagnostics(fitted, z_va, r2_val, n_out, n_all, tr, va) -> dict[str, Any]:
    tree_r2 = [
        1.0 - mse / max(float(np.var(z_va[:, o])), 1e-300) for o, (mse, *_) in enumerate(fitted)
    ]

    def per_output(v):
        return v[0] if n_out == 1 else list(v)

    return {
        "mode": "proxy",
        "n_queries": int(n_all),
        "n_train": int(tr.size),
        "n_validation": int(va.size),
        "n_trees": per_output([int(it) for _, _, it, _ in fitted]),
        "lgb_params": per_output([dict(s) for *_, s in fitted]),
        "tree_r2": per_output([float(r) for r in tree_r2]),
        "r2_estimate": per_output([float(r) for r in r2_val]),
    }


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
