"""The default method: every query serves every part, and cross-validation chooses.

1. The queries: the SPEX design (subsampling + BCH delays, with its uniform extras) when
   the budget affords it, else uniform random masks. Design masks are good regression data
   too: apart from the delay masks themselves, each is marginally a uniform random mask.
2. Candidates: the terms the peeling decoder found (high-order and XOR-like terms),
   first-order terms and the pairs among the strongest of them (a low-order screen), and the
   exact expansion of boosted trees (hierarchical, AND-like terms).
3. For each source and their union: a LASSO path, ridge refits of its supports, a dense
   ridge of all first-order terms and the top-K tree terms; 5-fold cross-validation of the
   *whole* pipeline (candidates rebuilt inside each fold on small problems) picks the best
   fit of each, and the best few are combined with non-negative weights.

The cross-validated R² of the result is ``diagnostics["r2_estimate"]``. When the decoder
alone explains the held-out masks (R² >= ``_DECODER_ENOUGH``), it is the result, as
``method="spex"`` would return it.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from ..._terms import pad_terms
from ..._validation import IsCallable, Optional, Real
from .._compile import announce_cold_kernels
from ..anytime import (
    FIRST_ROUND,
    RoundLog,
    budget_advice,
    doubling_schedule,
    stop_reason,
    uniform_stream,
)
from ..boosting import import_lightgbm, tree_candidates
from ..design import minimum_budget, plan_design, uniform_masks, usable_budget
from ..errors import R2_WARN, SpexFitWarning, warn_poor_fit
from ..joint_fit import Candidates, JointFit, merge_candidates, screen_low_order, select_joint
from ._base import Method, MethodResult, Plan, Query
from .sparse import _CHASE_DEPTH, _decode

__all__ = ["AutoMethod", "MIN_SAMPLES"]

MIN_SAMPLES = 32
# a decoder fit this good on held-out uniform masks leaves nothing for a joint refit
_DECODER_ENOUGH = 0.999
_MIN_VAL = 8
# trees train on at most this many rows x features (their cost grows with both)
_TREE_CELLS = 2_000_000
_MAX_TREE_TERMS = 300
# trees split on at most this many features: the strongest of the first-order screen
_TREE_FEATURES = 200
# first-order candidates and all candidates, growing with the rows from (600, 1,000) to
# (1,000, 2,000) at 16,000 rows: the selection affords more columns with more rows, and at
# 16,000 queries a 1,000-word text gets every word beside its pairs, trees and decoded terms
_SINGLETONS = (600, 1000)
_TOP_FEATURES = 30
_CANDIDATES = (1000, 2000)
# up to this many rows, 10-fold cross-validation (the choice is noisier with few rows)
_SMALL_ROWS = 300
# beyond this many rows, 3 folds and fewer source variants are cross-validated
_LARGE_ROWS = 10000
# the low-order screen reads at most this many rows
_SCREEN_ROWS = 10000


class AutoMethod(Method):
    """The default: the SPEX design (or uniform masks below its minimum), candidates from
    the decoder, a low-order screen and boosted trees, one cross-validated sparse fit."""

    name = "auto"
    description = (
        "default: SPEX design (uniform masks below its minimum) + peeling, low-order screen "
        "and boosted trees, one sparse fit chosen by cross-validation"
    )
    progress_label = "SPEX queries"
    options = {
        "target_r2": (Optional(Real(0.0, 1.0)), None),
        "max_seconds": (Optional(Real(0.0)), None),
        "on_round": (Optional(IsCallable()), None),
    }

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
        if _anytime(options):  # rounds over a stream of uniform masks
            masks = uniform_stream(seed, n_features, budget)
            state = {"schedule": doubling_schedule(FIRST_ROUND, masks.shape[0])}
            return Plan(n_features, n_samples, max_degree, seed, masks, dict(options), state)
        rng = np.random.default_rng(seed)
        minimum = minimum_budget(n_features, max_degree)
        if budget >= minimum:
            design = plan_design(n_features, budget, max_degree, rng)
            masks = design.masks
        else:
            design, masks = minimum, uniform_masks(rng, n_features, budget)
        state = {"design": design, "rng": rng.bit_generator.state}
        return Plan(n_features, n_samples, max_degree, seed, masks, dict(options), state)

    def planned_queries(self, plan: Plan) -> int:
        return int(plan.masks.shape[0])

    def run(self, plan: Plan, query: Query, show_progress: bool) -> MethodResult:
        if "schedule" in plan.state:
            return _run_rounds(plan, query, show_progress)
        rng = np.random.Generator(np.random.PCG64())
        rng.bit_generator.state = plan.state["rng"]
        design = plan.state["design"]
        values = query(plan.masks)
        announce_cold_kernels()  # when the caller asked for notices
        t0 = time.perf_counter()
        scored = np.ones(plan.masks.shape[0], dtype=bool)
        diag: dict = {"mode": "auto"}
        decoded = None
        if isinstance(design, int):
            diag["design"] = f"uniform masks: the budget is below the SPEX design ({design})"
        else:
            scored[np.unique(design.inverse[:, :, 0])] = False  # the delay masks themselves
            decoded = _decoded(design, values, plan)
            diag["design"] = f"SPEX design (b={design.b}, {design.n_groups} groups)"
        if decoded is not None and float(np.min(decoded.r2_val)) >= _DECODER_ENOUGH:
            fit, chosen = decoded, "SPEX decoder"  # nothing left for a joint refit to find
        else:
            fit = _fit(plan, plan.masks, values, scored, rng, show_progress, decoded)
            chosen = "cross-validated fit of " + "+".join(fit.sources)
        terms = [tuple(int(i) for i in s[:d]) for s, d in zip(fit.supports, fit.degrees)]
        diag.update(
            chosen=chosen,
            n_candidates=int(fit.n_candidates),
            n_terms=len(terms),
            n_scored=int(scored.sum()),
            r2_estimate=_per_output(fit.r2_val),
            fit_seconds=time.perf_counter() - t0,
        )
        if float(np.min(fit.r2_val)) < R2_WARN:
            warn_poor_fit(
                f"The explanation reconstructs the function poorly: cross-validated R² "
                f"{float(np.min(fit.r2_val)):.2f} on {int(scored.sum())} masks "
                f"({len(terms)} terms). Try a larger n_samples, a higher max_degree, or "
                "grouping features (fewer, coarser features)."
            )
        return MethodResult(
            terms, fit.coefs, int(plan.masks.shape[0]), diag, standard_errors=fit.stderr
        )


def _anytime(options: dict) -> bool:
    return options.get("target_r2") is not None or options.get("max_seconds") is not None


def _run_rounds(plan: Plan, query: Query, show_progress: bool) -> MethodResult:
    """Query the stream in doubling rounds, refit after each, stop when good enough."""
    log = RoundLog(plan.options.get("target_r2"), plan.options.get("max_seconds"))
    schedule = plan.state["schedule"]
    values = np.zeros((0, 0))
    for r, size in enumerate(schedule):
        new = query(plan.masks[values.shape[0] : size])
        if r == 0:
            announce_cold_kernels()  # when the caller asked for notices
        values = new if values.size == 0 else np.concatenate([values, new])
        masks = plan.masks[:size]
        # each round's fit depends only on the seed and the masks: a run capped at `size`
        # returns exactly this
        rng = np.random.default_rng([plan.seed, size])
        fit = _fit(plan, masks, values, np.ones(size, dtype=bool), rng, False)
        # the first output decides (the whole answer of an LLM explanation)
        se = float(fit.r2_se[0]) if fit.r2_se is not None else 0.0
        log.add(size + plan.n_before, float(fit.r2_val[0]), se)
        result = _round_result(fit, size, log)
        following = schedule[r + 1] + plan.n_before if r + 1 < len(schedule) else None
        reason = stop_reason(log, following)
        on_round = plan.options.get("on_round")
        if on_round is not None:
            on_round(result)
        if reason is not None:
            result.diagnostics["stopped"] = reason
            target = log.target_r2
            missed = target is not None and log.r2[-1] < target
            if missed or log.r2[-1] < R2_WARN:
                advice = budget_advice(log, target)
                result.diagnostics["advice"] = advice
                lead = f"target_r2={target} not reached" if missed else "a poor fit"
                warn_poor_fit(f"The explanation stopped with {lead}: {advice}.")
            return result
    raise AssertionError("unreachable: the last round always stops")  # pragma: no cover


def _round_result(fit: JointFit, size: int, log: RoundLog) -> MethodResult:
    terms = [tuple(int(i) for i in s[:d]) for s, d in zip(fit.supports, fit.degrees)]
    diag = {
        "mode": "auto",
        "design": "uniform masks in rounds (target_r2/max_seconds)",
        "chosen": "cross-validated fit of " + "+".join(fit.sources),
        "n_candidates": int(fit.n_candidates),
        "n_terms": len(terms),
        "n_scored": size,
        "r2_estimate": _per_output(fit.r2_val),
        "r2_curve": log.curve(),
        "n_rounds": len(log.sizes),
    }
    return MethodResult(terms, fit.coefs, size, diag, standard_errors=fit.stderr)


def _per_output(r2: np.ndarray):
    return float(r2[0]) if r2.size == 1 else [float(v) for v in r2]


def _decoded(design, values, plan) -> JointFit:
    """Peel and refine the design's values: SPEX as is, with its held-out R² (-inf when
    the budget left no held-out slice)."""
    with warnings.catch_warnings():  # the joint fit's estimate is the one that counts
        warnings.simplefilter("ignore", SpexFitWarning)
        terms, coefs, diag, stderr = _decode(
            design, values, plan.max_degree, _CHASE_DEPTH["soft"], False
        )
    sup, deg = pad_terms(terms, max((len(t) for t in terms), default=1))
    r2 = diag.get("r2_estimate")
    r2 = np.full(values.shape[1], -np.inf) if r2 is None else np.atleast_1d(np.asarray(r2))
    fit = JointFit(sup, deg, coefs, 0.0, r2, len(terms))
    fit.stderr = stderr
    return fit


def _fit(plan, masks, values, scored, rng, show_progress, design=None):
    """The cross-validated joint refit over candidates from every source."""
    seed = int(rng.integers(1 << 31))
    n_rows = masks.shape[0]
    max_singletons = int(np.clip(n_rows // 16, *_SINGLETONS))
    max_candidates = int(np.clip(n_rows // 8, *_CANDIDATES))

    def candidates(rows: np.ndarray) -> Candidates:
        uniform = rows[scored[rows]]
        if uniform.size > _SCREEN_ROWS:
            uniform = np.sort(np.random.default_rng(seed).choice(uniform, _SCREEN_ROWS, False))
        sources = {}
        if design is not None:
            sources["design"] = (design.supports, design.degrees)
        sup, deg = screen_low_order(masks[uniform], values[uniform], max_singletons, _TOP_FEATURES)
        sources["first-order"] = (sup[deg == 1], deg[deg == 1])
        sources["pairs"] = (sup[deg == 2], deg[deg == 2])
        singles = sup[deg == 1, 0]
        features = (
            np.sort(singles[:_TREE_FEATURES])
            if masks.shape[1] > _TREE_FEATURES
            else (np.arange(masks.shape[1]))
        )
        sources["trees"] = _tree_terms(plan, masks, values, rows, seed, show_progress, features)
        return merge_candidates(sources, limit=max_candidates)

    low = ("first-order", "pairs")
    variants = [("first-order",), low, ("trees",), (*low, "trees")]
    if design is not None:
        variants += [("design",), ("design", *low, "trees")]
    n_folds = 10 if masks.shape[0] <= _SMALL_ROWS else 5
    if masks.shape[0] > _LARGE_ROWS:  # plenty of rows: fewer folds and source variants
        n_folds = 3
        variants = variants[-3:] if design is not None else variants[1:]
    return select_joint(masks, values, scored, candidates, variants, rng, n_folds)


def _tree_terms(plan, masks, values, rows, seed, show_progress, features):
    """The largest terms of boosted trees trained on ``rows`` (at most ``_TREE_CELLS /
    features`` of them), over the given ``features`` only."""
    cap = max(4000, _TREE_CELLS // features.size)
    rows = np.random.default_rng(seed).permutation(rows)[:cap]
    stop = max(_MIN_VAL, rows.size // 10)  # early stopping on rows of its own
    t_tr, t_va = np.sort(rows[stop:]), np.sort(rows[:stop])
    if t_tr.size < 16:
        return np.zeros((0, 1), np.int64), np.zeros(0, np.int64)
    sup, deg, _, _ = tree_candidates(
        import_lightgbm(),
        masks[:, features],
        values,
        t_tr,
        t_va,
        features.size,
        plan.max_degree,
        plan.seed,
        show_progress,
    )
    sup, deg = sup[1 : _MAX_TREE_TERMS + 1], deg[1 : _MAX_TREE_TERMS + 1]
    return np.where(sup >= 0, features[np.maximum(sup, 0)], -1), deg
