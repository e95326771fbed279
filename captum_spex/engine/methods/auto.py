"""The default method: every query serves every part, and held-out masks choose.

1. Half the budget (all of it when the SPEX design would not fit twice) goes to uniform
   random masks. Their values are split into training and validation rows.
2. Candidates: first-order terms and the strongest pairs (a low-order screen), the exact
   expansion of boosted trees (hierarchical, AND-like terms), and, when the SPEX design was
   queried, the terms the peeling decoder found (high-order and XOR-like terms).
3. One relaxed-LASSO refit over the union of candidates, its sparsity and ridge penalty
   chosen on the validation rows; the decoder's own fit competes on the same rows.
4. If the first half's validation R² is below ``_DESIGN_BELOW`` and the design fits, the
   second half buys the SPEX design (the function has structure the low-order screen and
   the trees miss); otherwise more uniform masks. The final fit uses every query.

The validation R² of the chosen fit is ``diagnostics["r2_estimate"]``: none of its rows was
used to fit the chosen coefficients.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from ..boosting import import_lightgbm, tree_candidates
from ..design import minimum_budget, plan_design, uniform_masks, usable_budget
from ..errors import R2_WARN, SpexFitWarning, warn_poor_fit
from ..joint_fit import Candidates, JointFit, merge_candidates, screen_low_order, select_joint
from ..refine import parity_features
from ._base import Method, MethodResult, Plan, Query
from .sparse import _CHASE_DEPTH, _decode

__all__ = ["AutoMethod", "MIN_SAMPLES"]

MIN_SAMPLES = 32
# below this first-half validation R², the second half buys the SPEX design
_DESIGN_BELOW = 0.75
_MIN_VAL = 8
# trees train on at most this many rows (their cost grows with rows x features)
_TREE_ROWS = 6000
_MAX_TREE_TERMS = 300
_MAX_SINGLETONS = 600
_TOP_FEATURES = 30
_MAX_CANDIDATES = 1500


class AutoMethod(Method):
    """The default: uniform masks plus (when needed) the SPEX design, candidates from a
    low-order screen, boosted trees and peeling, one relaxed-LASSO refit chosen on held-out
    masks."""

    name = "auto"
    description = (
        "default: low-order screen + boosted trees + (when needed) the SPEX design and "
        "decoder, one sparse refit chosen on held-out masks"
    )
    progress_label = "SPEX queries"

    def check_budget(self, n_features, n_samples, max_degree, caller="spex") -> None:
        if usable_budget(n_samples, n_features) < MIN_SAMPLES:
            raise ValueError(
                f"The 'n_samples' parameter of {caller} must be at least {MIN_SAMPLES} (or "
                f"2^n_features = {1 << min(n_features, 62)} for the exact transform); got "
                f"{n_samples}."
            )

    def require(self) -> None:
        import_lightgbm()

    def plan(self, n_features, n_samples, max_degree, seed, options) -> Plan:
        budget = usable_budget(n_samples, n_features)
        design_min = minimum_budget(n_features, max_degree)
        staged = budget >= 2 * design_min
        rng = np.random.default_rng(seed)
        masks = uniform_masks(rng, n_features, budget // 2 if staged else budget)
        state = {
            "budget": budget,
            "staged": staged,
            "design_min": design_min,
            "rng": rng.bit_generator.state,
        }
        return Plan(n_features, n_samples, max_degree, seed, masks, dict(options), state)

    def planned_queries(self, plan: Plan) -> int:
        return int(plan.state["budget"]) if plan.state["staged"] else int(plan.masks.shape[0])

    def run(self, plan: Plan, query: Query, show_progress: bool) -> MethodResult:
        rng = np.random.Generator(np.random.PCG64())
        rng.bit_generator.state = plan.state["rng"]
        masks = plan.masks
        values = query(masks)
        t0 = time.perf_counter()
        scored = np.ones(masks.shape[0], dtype=bool)  # uniform masks: the ones R² is about
        diag: dict = {"mode": "auto", "n_uniform": int(masks.shape[0])}
        design = None
        if plan.state["staged"]:
            first = _fit(plan, masks, values, scored, rng, show_progress)
            diag["first_half_r2"] = _per_output(first.r2_val)
            masks, values, scored, design = _second_half(
                plan, query, masks, values, rng, float(np.min(first.r2_val)), diag
            )
        else:
            diag["design"] = (
                f"uniform only: the budget is below twice the SPEX design minimum "
                f"({plan.state['design_min']})"
            )
        fit = _fit(plan, masks, values, scored, rng, show_progress, design)
        chosen = "joint refit"
        if design is not None and float(np.mean(design.r2_val)) > float(np.mean(fit.r2_val)):
            fit, chosen = design, "SPEX decoder"
        terms = [tuple(int(i) for i in s[:d]) for s, d in zip(fit.supports, fit.degrees)]
        diag.update(
            chosen=chosen if chosen != "joint refit" else "joint refit of " + "+".join(fit.sources),
            n_candidates=int(fit.n_candidates),
            n_terms=len(terms),
            n_scored=int(scored.sum()),
            r2_estimate=_per_output(fit.r2_val),
            fit_seconds=time.perf_counter() - t0,
        )
        if float(np.min(fit.r2_val)) < R2_WARN:
            warn_poor_fit(
                f"The explanation reconstructs the function poorly: cross-validated R² "
                f"{float(np.min(fit.r2_val)):.2f} on {int(scored.sum())} uniform masks "
                f"({len(terms)} terms). Try a larger n_samples, a higher max_degree, or "
                "grouping features (fewer, coarser features)."
            )
        return MethodResult(terms, fit.coefs, int(masks.shape[0]), diag)


def _per_output(r2: np.ndarray):
    return float(r2[0]) if r2.size == 1 else [float(v) for v in r2]


def _second_half(plan, query, masks, values, rng, first_r2, diag):
    """Query the rest of the budget: the SPEX design when the first half's fit is poor,
    else more uniform masks. Returns the grown arrays, the uniform-row flags and the
    decoder's competing fit (scored on rows it never saw)."""
    left = plan.state["budget"] - masks.shape[0]
    n = plan.n_features
    spec = None
    if first_r2 < _DESIGN_BELOW:
        spec = plan_design(n, left, plan.max_degree, rng)
        new = spec.masks
        diag["design"] = (
            f"SPEX design (b={spec.b}, {spec.n_groups} groups): first half R² "
            f"{first_r2:.2f} < {_DESIGN_BELOW}"
        )
    else:
        new = uniform_masks(rng, n, left)
        diag["design"] = f"uniform: first half R² {first_r2:.2f} >= {_DESIGN_BELOW}"
    if n < 64:  # collisions with the first half are possible for small n
        new = _drop_seen(masks, new)
    new_values = query(new)
    start = masks.shape[0]
    scored = np.ones(start + new.shape[0], dtype=bool)
    design = None
    if spec is not None:
        scored[start : start + spec.n_design] = False
        if new.shape[0] == spec.masks.shape[0]:
            design = _decoded(spec, new_values, plan)
            unseen = np.concatenate(  # the first half and the design's held-out slice
                [np.arange(start), np.arange(start + new.shape[0] - spec.n_holdout, scored.size)]
            )
    masks = np.concatenate([masks, new])
    values = np.concatenate([values, new_values])
    if design is not None:
        pred = parity_features(masks[unseen], design.supports, design.degrees) @ design.coefs
        ys = values[unseen]
        sst = np.sum((ys - ys.mean(axis=0)) ** 2, axis=0)
        design.r2_val = 1.0 - np.sum((ys - pred) ** 2, axis=0) / np.where(sst > 0, sst, 1.0)
    return masks, values, scored, design


def _drop_seen(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """``new`` without the masks already in ``old`` (collisions happen for small n)."""
    seen = {row.tobytes() for row in np.packbits(old, axis=1)}
    keep = [i for i, row in enumerate(np.packbits(new, axis=1)) if row.tobytes() not in seen]
    return new[keep]


def _decoded(spec, values, plan) -> JointFit:
    """Peel and refine the design's values: SPEX as is, as a fit that can compete."""
    with warnings.catch_warnings():  # the joint fit's estimate is the one that counts
        warnings.simplefilter("ignore", SpexFitWarning)
        terms, coefs, _ = _decode(spec, values, plan.max_degree, _CHASE_DEPTH["soft"], False)
    width = max((len(t) for t in terms), default=1)
    sup = np.full((len(terms), max(width, 1)), -1, dtype=np.int64)
    deg = np.zeros(len(terms), dtype=np.int64)
    for q, k in enumerate(terms):
        sup[q, : len(k)] = k
        deg[q] = len(k)
    return JointFit(sup, deg, coefs, 0.0, np.full(values.shape[1], -np.inf), len(terms))


def _fit(plan, masks, values, scored, rng, show_progress, design=None):
    """The cross-validated joint refit over candidates from every source."""
    seed = int(rng.integers(1 << 31))

    def candidates(rows: np.ndarray) -> Candidates:
        uniform = rows[scored[rows]]
        sources = {}
        if design is not None:
            sources["design"] = (design.supports, design.degrees)
        sup, deg = screen_low_order(masks[uniform], values[uniform], _MAX_SINGLETONS, _TOP_FEATURES)
        sources["first-order"] = (sup[deg == 1], deg[deg == 1])
        sources["pairs"] = (sup[deg == 2], deg[deg == 2])
        sources["trees"] = _tree_terms(plan, masks, values, rows, seed, show_progress)
        return merge_candidates(sources, limit=_MAX_CANDIDATES)

    low = ("first-order", "pairs")
    variants = [("first-order",), low, ("trees",), (*low, "trees")]
    if design is not None:
        variants += [("design",), ("design", *low, "trees")]
    return select_joint(masks, values, scored, candidates, variants, rng)


def _tree_terms(plan, masks, values, rows, seed, show_progress):
    """The largest terms of boosted trees trained on (at most ``_TREE_ROWS`` of) ``rows``."""
    rows = np.random.default_rng(seed).permutation(rows)[:_TREE_ROWS]
    stop = max(_MIN_VAL, rows.size // 10)  # early stopping on rows of its own
    t_tr, t_va = np.sort(rows[stop:]), np.sort(rows[:stop])
    if t_tr.size < 16:
        return np.zeros((0, 1), np.int64), np.zeros(0, np.int64)
    sup, deg, _, _ = tree_candidates(
        import_lightgbm(),
        masks,
        values,
        t_tr,
        t_va,
        plan.n_features,
        plan.max_degree,
        plan.seed,
        show_progress,
    )
    return sup[1 : _MAX_TREE_TERMS + 1], deg[1 : _MAX_TREE_TERMS + 1]
