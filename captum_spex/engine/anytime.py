"""Anytime explanations: query in rounds and stop when the answer is good enough.

With ``target_r2`` (or ``max_seconds``) the default method queries a fixed stream of uniform
random masks in rounds of doubling size, refits after each round on every query so far, and
stops as soon as the cross-validated R² estimate reaches the target, when two rounds in a row
no longer raise it by more than its own noise, or when the next round would not finish within
``max_seconds``. ``n_samples`` stays the hard cap. The stream and each round's fit depend only
on ``seed`` and the number of masks, so a run that stopped after ``N`` queries returns exactly
what a run capped at ``n_samples=N`` returns, and a rerun with ``cache=`` resumes for free.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["RoundLog", "doubling_schedule", "uniform_stream", "stop_reason", "budget_advice"]

# the first round queries this many masks (or the cap, when smaller)
FIRST_ROUND = 64
# a stream is drawn in chunks of this many masks, whatever its length
_CHUNK = 1024


def doubling_schedule(first: int, cap: int) -> list[int]:
    """Round sizes ``first, 2 first, 4 first, ...`` truncated at ``cap`` (the last round).

    Examples
    --------
    >>> doubling_schedule(64, 500)
    [64, 128, 256, 500]
    """
    sizes = []
    size = min(first, cap)
    while size < cap:
        sizes.append(size)
        size *= 2
    return sizes + [cap]


def uniform_stream(seed: int, n_features: int, size: int) -> np.ndarray:
    """The first ``size`` masks of a stream of distinct uniform random masks: every shorter
    stream with the same seed is a prefix of it.

    Examples
    --------
    >>> long, short = uniform_stream(3, 40, 3000), uniform_stream(3, 40, 100)
    >>> bool((long[:100] == short).all())
    True
    """
    rng = np.random.default_rng([seed, 0x5EED])
    out: list[np.ndarray] = []
    seen: set[bytes] = set()
    n_have = 0
    limit = 1 << min(n_features, 62)
    while n_have < min(size, limit):
        chunk = rng.random((_CHUNK, n_features)) < 0.5
        if n_features < 64:  # distinct masks only (collisions are negligible beyond)
            keep = []
            for i, row in enumerate(np.packbits(chunk, axis=1)):
                key = row.tobytes()
                if key not in seen:
                    seen.add(key)
                    keep.append(i)
            chunk = chunk[keep]
        out.append(chunk)
        n_have += chunk.shape[0]
    return np.concatenate(out)[:size] if out else np.zeros((0, n_features), dtype=bool)


@dataclass
class RoundLog:
    """The learning curve of an anytime run."""

    target_r2: float | None
    max_seconds: float | None
    started: float = field(default_factory=time.perf_counter)
    sizes: list[int] = field(default_factory=list)
    r2: list[float] = field(default_factory=list)
    r2_se: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def add(self, size: int, r2: float, r2_se: float) -> None:
        self.sizes.append(int(size))
        self.r2.append(float(r2))
        self.r2_se.append(float(r2_se))
        self.seconds.append(time.perf_counter() - self.started)

    def curve(self) -> list[list[float]]:
        """``[[queries, R² estimate, its standard error], ...]`` per round."""
        return [[n, r, s] for n, r, s in zip(self.sizes, self.r2, self.r2_se)]


def stop_reason(log: RoundLog, next_size: int | None) -> str | None:
    """Why the run stops after the latest round (None: go on to ``next_size``)."""
    if log.target_r2 is not None and log.r2[-1] >= log.target_r2:
        return f"reached target_r2={log.target_r2}"
    if next_size is None:
        return "reached n_samples"
    if len(log.r2) >= 3 and all(
        log.r2[-k] - log.r2[-k - 1] <= max(log.r2_se[-k], 1e-3) for k in (1, 2)
    ):
        return "two rounds in a row did not raise the estimate beyond its noise"
    if log.max_seconds is not None:
        spent = log.seconds[-1]
        last = spent - (log.seconds[-2] if len(log.seconds) > 1 else 0.0)
        grow = next_size / max(log.sizes[-1], 1)
        if spent + last * grow > log.max_seconds:
            return f"the next round would not finish within max_seconds={log.max_seconds}"
    return None


def budget_advice(log: RoundLog, target: float | None) -> str:
    """A plain sentence on what more queries would buy, from the learning curve."""
    r2, n = log.r2[-1], log.sizes[-1]
    text = f"R² {r2:.2f} after {n:,} queries"
    if len(log.r2) < 2:
        return text + "; group features or raise n_samples"
    doublings = np.log2(log.sizes[-1] / log.sizes[-2])
    slope = (log.r2[-1] - log.r2[-2]) / max(doublings, 1e-9)
    if slope <= max(log.r2_se[-1], 1e-3):
        return text + ", no longer rising: group features (fewer, coarser) or raise max_degree"
    goal = target if target is not None else min(1.0, r2 + 0.1)
    need = int(np.ceil(max(goal - r2, 0.0) / slope))
    return (
        f"{text}, rising ~{slope:.2f} per doubling: try {n * 2 ** max(need, 1):,}, or group "
        "features"
    )


def notify(on_round: Callable | None, payload) -> None:
    """Call the user's round callback, if any."""
    if on_round is not None:
        on_round(payload)
