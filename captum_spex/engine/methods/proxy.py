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
from ..boosting import import_lightgbm, tree_candidates
from ..design import uniform_masks, usable_budget
from ..errors import R2_WARN, warn_poor_fit
from ..refine import parity_features
from ..regression import refit_and_prune, select_terms_and_ridge, term_grid
from ._base import Method, MethodResult, Plan, Query

__all__ = ["ProxyMethod", "import_lightgbm"]

# below this many distinct masks there is nothing to split into train and validation
MIN_SAMPLES = 32
# share of the samples held out for early stopping and the model choices
_VAL_FRACTION = 0.2
_MIN_VAL = 8


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
        supports, degrees, fitted, z_va = tree_candidates(
            lgb, masks, values, tr, va, plan.n_features, plan.max_degree, plan.seed, show_progress
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
