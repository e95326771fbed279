"""SPEX: the sparse Fourier design, peeling with a BCH channel decoder, and the refit.

Queries the masks of a subsampling + BCH-delay design (:mod:`..design`), peels every output
(:mod:`..peeling`), refits the union support on all queries by least squares and re-peels
the residual until nothing new appears (:mod:`..refine`).
"""

from __future__ import annotations

import time

import numpy as np

from ..._terms import pad_terms
from ..._validation import Options
from .._compile import announce_cold_kernels
from ..design import minimum_budget, plan_design
from ..errors import R2_WARN, warn_poor_fit
from ..peeling import Decoder, bucket_transform
from ..query import progress_bar
from ..refine import parity_features, refit
from ._base import Method, MethodResult, Plan, Query

__all__ = ["SparseMethod"]

_MAX_REFINE_ROUNDS = 4
_CHASE_DEPTH = {"soft": 8, "hard": 0}


class SparseMethod(Method):
    """SPEX (Kang et al., ICML 2025): subsampling + BCH-coded delays, peeling, refit."""

    name = "spex"
    description = "SPEX: sparse Fourier design, BCH peeling decoder and least-squares refit"
    options = {"decoder": (Options(tuple(_CHASE_DEPTH)), "soft")}
    progress_label = "SPEX queries"

    def check_budget(self, n_features, n_samples, max_degree, caller="spex") -> None:
        minimum = minimum_budget(n_features, max_degree)
        if n_features <= 30:
            minimum = min(minimum, 1 << n_features)  # all 2^n masks: the exact transform
        if n_samples < minimum:
            raise ValueError(
                f"The 'n_samples' parameter of {caller} must be at least {minimum} for "
                f"n_features={n_features} and max_degree={max_degree}; got {n_samples}. Raise "
                "the budget, lower max_degree, or group features."
            )

    def plan(self, n_features, n_samples, max_degree, seed, options) -> Plan:
        design = plan_design(n_features, n_samples, max_degree, np.random.default_rng(seed))
        return Plan(
            n_features, n_samples, max_degree, seed, design.masks, dict(options), state=design
        )

    def run(self, plan: Plan, query: Query, show_progress: bool) -> MethodResult:
        design = plan.state
        values = query(design.masks)
        announce_cold_kernels()  # when the caller asked for notices
        t0 = time.perf_counter()
        n_chase = _CHASE_DEPTH[plan.options.get("decoder", "soft")]
        terms, coefs, diag, stderr = _decode(
            design, values, plan.max_degree, n_chase, show_progress
        )
        diag["decode_seconds"] = time.perf_counter() - t0
        return MethodResult(terms, coefs, design.masks.shape[0], diag, standard_errors=stderr)


def _decode(design, values, max_degree, n_chase, show_progress):
    """Peel every output, refit the union support on all queries, re-peel the residual."""
    dec = Decoder(design.code, design.hashcols, max_degree, n_chase)
    n_out = values.shape[1]
    big_u = np.stack([bucket_transform(values[:, o], design.inverse) for o in range(n_out)])
    scale = float(np.sqrt(np.mean(values**2))) or 1.0
    bar = progress_bar(show_progress, _MAX_REFINE_ROUNDS + 1, "SPEX decoding", unit="round")

    found: dict[tuple[int, ...], None] = {(): None}
    n_peeled = 0
    for o in range(n_out):
        res = dec.peel(big_u[o], dec.noise_floor(big_u[o], scale))
        n_peeled += len(res.degrees)
        found.update(dict.fromkeys(res.terms()))
    if bar is not None:
        bar.update(1)
    fit, rounds = _refine(design, dec, big_u, values, found, scale, bar)
    if bar is not None:
        bar.update(bar.total - bar.n)  # converged early: the remaining rounds are not needed
        bar.close()
    terms = [tuple(int(i) for i in s[:d]) for s, d in zip(fit.supports, fit.degrees)]
    r2_est = _holdout_r2(design, values, fit)
    diag = _diagnostics(design, big_u, fit, terms, n_peeled, rounds, n_chase, r2_est)
    if r2_est is not None and float(np.min(r2_est)) < R2_WARN:
        warn_poor_fit(
            f"SPEX reconstructs the function poorly: estimated R² {float(np.min(r2_est)):.2f} "
            f"on {diag['n_holdout']} held-out uniform masks ({diag['n_terms']} terms found, "
            f"{diag['residual_energy_fraction']:.0%} of the bucket energy left unexplained). "
            "The function may not be sparse at this budget: try a larger n_samples, a higher "
            "max_degree, or grouping features (fewer, coarser features)."
        )
    return terms, fit.coefs, diag, fit.stderr


def _refine(design, dec, big_u, values, found, scale, bar):
    """Refit the support on every query and re-peel the residual, until nothing new."""
    n_out = values.shape[1]
    fit_end = design.n_design + design.n_random
    rand_masks = design.masks[design.n_design : fit_end]
    y_rand = values[design.n_design : fit_end]
    n_dup = design.inverse.size - design.n_design
    width = max(design.code.t, 1)
    rounds = 0
    while True:
        sup, deg = pad_terms(list(found), width)
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
            var_b = max(float(fit.noise_var[o]) / (1 << design.b), (1e-12 * scale) ** 2)
            for k in dec.peel(fit.residual_u[o], var_b).terms():
                if k not in found:
                    found[k] = None
                    new += 1
        if bar is not None:
            bar.update(1)
        if new == 0:
            break
    return fit, rounds


def _holdout_r2(design, values, fit) -> np.ndarray | None:
    """R² of the fit on the held-out uniform masks (None below 20 of them)."""
    if design.n_holdout < 20:
        return None
    fit_end = design.n_design + design.n_random
    y_held = values[fit_end:]
    pred = parity_features(design.masks[fit_end:], fit.supports, fit.degrees) @ fit.coefs
    var = np.var(y_held, axis=0)
    return 1.0 - np.mean((y_held - pred) ** 2, axis=0) / np.where(var > 0, var, 1.0)


def _diagnostics(design, big_u, fit, terms, n_peeled, rounds, n_chase, r2_est) -> dict:
    n_out = big_u.shape[0]
    energy = np.einsum("ocpj,ocpj->o", big_u, big_u)
    const = [k for k in range(len(terms)) if not terms[k]]
    if const:  # the constant sits in bucket 0 of every group and delay: not signal
        energy = energy - big_u.shape[1] * big_u.shape[2] * fit.coefs[const[0]] ** 2
    left = np.einsum("ocpj,ocpj->o", fit.residual_u, fit.residual_u)
    noise_sd = np.sqrt(fit.noise_var)
    return {
        "mode": "sparse",
        "b": design.b,
        "t": design.code.t,
        "n_groups": design.n_groups,
        "n_delays": design.code.n_parity + 1,
        "n_random": design.n_random,
        "noise_sd": noise_sd.tolist() if n_out > 1 else float(noise_sd[0]),
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
