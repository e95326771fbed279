"""The plain words of the HTML report: number format, the fit line, what each term means,
tied values and the labels of the run's diagnostics.

Everything here returns plain text; :mod:`captum_spex.viz.report` escapes it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from captum_spex.viz._common import MINUS, Numbers

if TYPE_CHECKING:
    from captum_spex.interactions import Interactions

__all__ = [
    "DIAGNOSTIC_LABELS",
    "diagnostic_rows",
    "fit_line",
    "plural",
    "quantity",
    "r2_of",
    "term_meaning",
    "tie_groups",
    "tie_note",
]

#: What each diagnostic of the methods and front ends means, in words.
DIAGNOSTIC_LABELS: dict[str, str] = {
    "method": "Method",
    "n_features": "Features",
    "n_terms_total": "Fourier terms",
    "n_queries": "Model queries",
    "max_degree": "Largest interaction order",
    "n_outputs": "Outputs explained",
    "mode": "Method mode",
    "design": "Query design",
    "chosen": "Fit chosen by cross-validation",
    "n_candidates": "Candidate terms considered",
    "n_terms": "Terms in the surrogate",
    "n_scored": "Masks scored in cross-validation",
    "r2_estimate": "Estimated R² on held-out masks",
    "fit_seconds": "Fit time (s)",
    "decode_seconds": "Decoding time (s)",
    "b": "Buckets per group, log2 (b)",
    "t": "Errors the BCH code corrects (t)",
    "n_groups": "Subsampling groups",
    "n_delays": "Delays per group",
    "n_random": "Extra random masks",
    "noise_sd": "Estimated noise s.d.",
    "n_peeled": "Terms found by peeling",
    "refine_rounds": "Refinement rounds",
    "decoder": "Decoder",
    "n_holdout": "Held-out masks",
    "residual_energy_fraction": "Energy left unexplained by the decoder",
    "n_train": "Training masks",
    "n_validation": "Validation masks",
    "n_trees": "Boosted trees",
    "lgb_params": "LightGBM parameters",
    "tree_r2": "R² of the boosted trees on held-out masks",
    "truncated_energy": "Energy above the returned order",
    "returned_degree": "Largest order returned",
    "feature_ids": "Feature ids",
    "target_ids": "Answer token ids",
    "attr_target": "Explained quantity",
    "n_forward_calls": "Model forward calls",
    "n_token_positions": "Token positions scored",
    "output": "Output",
    "value_seconds": "Model time (s)",
    "n_from_cache": "Queries read from the cache",
    "n_retried": "Batches retried",
}

_QUANTITY = {"log_prob": "log-probability", "prob": "probability"}

# (lowest R², judgement) from the best band down
_JUDGEMENTS = (
    (0.9, "good", "a good fit: the terms describe the model well"),
    (0.7, "fair", "a fair fit: trust the large terms more than the small ones"),
    (0.4, "poor", "a poor fit: much of the model's behaviour is not captured"),
    (-math.inf, "poor", "a very poor fit: the terms below do not describe the model"),
)


def plural(noun: str, n: int = 2) -> str:
    """``"word"`` or ``"words"``."""
    return noun if n == 1 else noun + "s"


def r2_of(diagnostics: dict[str, Any], column: int) -> float | None:
    """The estimated R² of one output (None when missing or not finite)."""
    r2 = diagnostics.get("r2_estimate")
    if isinstance(r2, list):
        r2 = r2[column] if column < len(r2) else None
    if isinstance(r2, bool) or not isinstance(r2, (int, float)) or not math.isfinite(r2):
        return None
    return float(r2)


def quantity(diagnostics: dict[str, Any], column: int, token: str | None = None) -> str:
    """What output ``column`` is, in words: "the answer's log-probability", "the
    log-probability of answer token 2 (“Rivers”)", or "the model's output"."""
    base = _QUANTITY.get(str(diagnostics.get("attr_target")))
    if base is None:
        if token is not None:
            return f"the model's output for “{token}”"
        return "the model's output" if column == 0 else f"the model's output {column}"
    if column == 0:
        return f"the answer's {base}"
    tok = f" (“{token}”)" if token is not None else ""
    return f"the {base} of answer token {column}{tok}, given the tokens before it"


def fit_line(interactions: Interactions, column: int, what: str) -> tuple[str, str]:
    """The fit of one output in plain words, and its level ("good", "fair", "poor" or
    "unknown"), e.g. "The surrogate explains 93% of the variance of the answer's
    log-probability on held-out masks (cross-validated; R² = 0.93): a good fit ..."."""
    diag = interactions.diagnostics
    r2 = r2_of(diag, column)
    mode = str(diag.get("mode", interactions.method))
    if r2 is None:
        return (
            f"How well the surrogate reproduces {what} was not measured (this run kept no "
            "held-out masks), so read the terms with caution.",
            "unknown",
        )
    level, judgement = next((lv, j) for low, lv, j in _JUDGEMENTS if r2 >= low)
    r2_text = f"R² = {r2:.2f}".replace("-", MINUS)
    if mode == "exact":
        order = diag.get("returned_degree", interactions.max_degree)
        return (
            f"Every subset was queried (exact transform): the terms up to order {order} keep "
            f"{_percent(r2)} of the variance of {what} ({r2_text}); {judgement}.",
            level,
        )
    where = {
        "sparse": f"on {_count(diag, 'n_holdout')}held-out random masks",
        "proxy": f"on {_count(diag, 'n_validation')}held-out random masks",
    }.get(mode, "on held-out masks")
    how = "cross-validated; " if mode == "auto" else ""
    gap = ", " if "," in what else " "  # "..., given the tokens before it, on held-out"
    return (
        f"The surrogate explains {_percent(r2)} of the variance of {what}{gap}{where} "
        f"({how}{r2_text}): {judgement}.",
        level,
    )


def _percent(r2: float) -> str:
    return "none" if r2 <= 0 else f"{100 * r2:.0f}%"


def _count(diag: dict[str, Any], key: str) -> str:
    n = diag.get(key)
    return f"{n} " if isinstance(n, int) and not isinstance(n, bool) and n > 0 else ""


def term_meaning(term: Sequence[int], value: float, fmt: Numbers, noun: str, what: str) -> str:
    """What a Möbius term says, e.g. "Synergy: kept together, these 2 words add 2.00 more
    than their own effects." (``what`` is the short quantity, "log-probability")."""
    n = len(term)
    size = fmt.plain(abs(value))
    if n == 0:
        return f"The {what} with every {noun} removed."
    if n == 1:
        verb = "raises" if value >= 0 else "lowers"
        return f"Its own effect: keeping this {noun} {verb} the {what} by {size}."
    more = "more" if value >= 0 else "less"
    kind = "Synergy" if value >= 0 else "Overlap"
    if n == 2:
        both = f"these 2 {plural(noun)}"
        return f"{kind}: kept together, {both} add {size} {more} than their own effects."
    return (
        f"{kind} of all {n}: kept together, they add {size} {more} than all their smaller groups."
    )


def tie_groups(values: Sequence[float]) -> list[list[int]]:
    """Positions (0-based) of the values that are exactly equal (up to 1e-9 relative), in
    groups of two or more.

    Examples
    --------
    >>> tie_groups([2.0, -0.6803, 1.0, -0.6803, -0.6803, 0.6803])
    [[1, 3, 4]]
    """
    groups: list[list[int]] = []
    placed: set[int] = set()
    for a, va in enumerate(values):
        if a in placed or va == 0:
            continue
        group = [a] + [
            b
            for b in range(a + 1, len(values))
            if b not in placed and abs(values[b] - va) <= 1e-9 * abs(va)
        ]
        if len(group) > 1:
            groups.append(group)
            placed.update(group)
    return groups


def tie_note(groups: list[list[int]], values: Sequence[float], fmt: Numbers) -> str:
    """One sentence about the tied rows (rows are numbered from 1), or ""."""
    if not groups:
        return ""
    parts = [_and([str(r + 1) for r in g]) + f" ({fmt(values[g[0]])})" for g in groups]
    return (
        f"Rows {'; rows '.join(parts)} have exactly the same value. Equal values mean that "
        "at this budget the queries could not tell these terms apart (they are aliased: the "
        "fit saw them only together and shared one value among them). Read each group as "
        "one effect; a larger budget can separate them."
    )


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def diagnostic_rows(
    interactions: Interactions, output_labels: Sequence[str]
) -> list[tuple[str, str, str]]:
    """``(label, key, value)`` for the run's summary and every diagnostic; a list with one
    value per output is labelled per output."""
    diag: dict[str, Any] = {
        "method": interactions.method,
        "n_features": interactions.n_features,
        "n_terms_total": len(interactions),
        "n_queries": interactions.n_queries,
        "max_degree": interactions.max_degree,
        "n_outputs": interactions.n_outputs,
    }
    diag.update(interactions.diagnostics)
    rows = []
    for key, value in diag.items():
        text = _diag_value(value, output_labels)
        if text is not None:
            rows.append((DIAGNOSTIC_LABELS.get(str(key), str(key)), str(key), text))
    return rows


def _diag_value(value: Any, output_labels: Sequence[str]) -> str | None:
    if value is None or isinstance(value, (bool, str, int)):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        text = ", ".join(f"{k}={_diag_value(v, ()) or '…'}" for k, v in value.items())
        return text if len(text) <= 240 else text[:239] + "…"
    if not isinstance(value, (list, tuple)):
        return None
    if len(output_labels) > 1 and len(value) == len(output_labels):
        return "; ".join(
            f"{label}: {_diag_value(v, ()) or '…'}"
            for label, v in zip(output_labels, value, strict=True)
        )
    shown = [_diag_value(v, ()) or "…" for v in value[:16]]
    more = f", … ({len(value)} values)" if len(value) > 16 else ""
    return "[" + ", ".join(shown) + more + "]"
