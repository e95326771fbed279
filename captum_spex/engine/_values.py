"""What methods see of the query loop: values normalised when far from the unit scale, and
the loop's statistics summed over every call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .methods import MethodResult
from .query import QueryRunner

__all__ = ["Normaliser", "StatsQuery"]


class StatsQuery:
    """``query(masks) -> values`` for methods, summing the query loop's statistics."""

    def __init__(self, runner: QueryRunner) -> None:
        self.runner = runner
        self.stats: dict[str, Any] = {}

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        values, stats = self.runner.run(masks)
        for key, value in stats.items():
            self.stats[key] = self.stats.get(key, 0) + value
        return values


class Normaliser:
    """``query`` for methods, with values far from the unit scale normalised, per output,
    from the first values queried: an offset that dwarfs the spread (``|median| > 2^10
    sd``) is subtracted, and a spread outside ``[2^-32, 2^32]`` is divided by the nearest
    power of two. Ordinary values pass untouched (bit for bit); :meth:`restore` maps a
    result back to value units."""

    def __init__(self, query: Callable[[np.ndarray], np.ndarray]) -> None:
        self.query = query
        self.norm: dict[str, np.ndarray] = {}

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        values = self.query(masks)
        norm = self.norm
        if not norm and values.shape[0]:
            median = np.median(values, axis=0)
            spread = np.abs(values - median).max(axis=0)
            unit = np.where(spread > 0, spread, 1.0)  # an sd without under/overflow
            sd = unit * np.std((values - median) / unit, axis=0)
            sd = np.where(sd > 0, sd, unit)
            extreme = (sd < 2.0**-32) | (sd > 2.0**32)
            norm.update(
                centre=np.where((np.abs(median) > 2**10 * sd) | (spread == 0), median, 0.0),
                scale=np.where(extreme, np.exp2(np.round(np.log2(sd))), 1.0),
                flat=spread == 0,
            )
        if not norm or not (norm["centre"].any() or (norm["scale"] != 1).any()):
            return values
        return (values - norm["centre"]) / norm["scale"]

    def restore(self, res: MethodResult):
        """``(terms, (K, O) coefficients, standard errors or None, diagnostics)`` of a
        method's result, in value units."""
        terms = list(res.terms)
        coefs = np.asarray(res.coefficients, dtype=np.float64)
        errors = res.standard_errors
        errors = None if errors is None else np.asarray(errors, dtype=np.float64).copy()
        diag = dict(res.diagnostics)
        if not self.norm:
            return terms, coefs, errors, diag
        scale, flat = self.norm["scale"], self.norm["flat"]
        coefs = coefs * scale
        if errors is not None:
            errors = errors * scale
        if flat.all():  # a constant function: nothing but the constant
            terms, coefs, errors = [()], np.zeros((1, scale.size)), None
        if () not in terms:
            terms, coefs = terms + [()], np.vstack([coefs, np.zeros((1, scale.size))])
            if errors is not None:
                errors = np.vstack([errors, np.zeros((1, scale.size))])
        coefs[terms.index(())] += self.norm["centre"]
        for key, power in (("noise_sd", 1), ("truncated_energy", 2)):  # value units
            if isinstance(diag.get(key), (int, float, list)):
                with np.errstate(over="ignore", under="ignore"):  # as the true value would
                    mapped = np.asarray(diag[key], dtype=np.float64) * scale**power
                diag[key] = mapped.tolist() if isinstance(diag[key], list) else float(mapped[0])
        if flat.any() and "r2_estimate" in diag:
            r2 = np.broadcast_to(np.asarray(diag["r2_estimate"], dtype=object), flat.shape)
            r2 = [None if f else v for v, f in zip(r2.tolist(), flat.tolist())]
            diag["r2_estimate"] = r2 if len(r2) > 1 else r2[0]
        return terms, coefs, errors, diag
