"""The one runner every front end shares (``SpexInteractions``, ``LLMSpexAttribution``, and
through it the CLI): default budget, parameter table, cache key, progress and error
unwrapping, around :func:`captum_spex.engine.spex.prepare_run`.

A front end turns its inputs into :class:`Job` objects (one set function each), then::

    runner = Runner(caller, n_samples=..., max_degree=..., ...)
    runner.prepare(n_features)   # budget checks and plans, before any model call
    results = runner.run(jobs)   # one progress bar, one Interactions per job

Plans are memoised by feature count, so examples of a batch share one query design.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, NoReturn

from .._validation import Int, Optional, Options
from ..distributed import ModelFactory
from ..engine.bch import bch_code
from ..engine.design import design_cost, holdout_size
from ..engine.errors import SpexQueryError
from ..engine.methods import DEFAULT_METHOD, uses_exact
from ..engine.spex import SPEX_PARAMS, PreparedRun, check_method_options, prepare_run
from ..interactions import Interactions
from ..store import Part, store_key
from ._compat import NullProgress, progress

__all__ = [
    "FRONT_PARAMS",
    "Job",
    "Runner",
    "default_n_samples",
    "model_identity",
    "raise_forward_error",
]

# The default sparse budget: a design with 2^7 = 128 buckets in three groups.
_DEFAULT_B = 7
_DEFAULT_GROUPS = 3

#: The parameters every front end declares, on top of the engine's table.
FRONT_PARAMS = {
    **SPEX_PARAMS,
    "n_samples": Optional(Int(1)),
    "perturbations_per_eval": Int(1),
    "attribution": Options(("shapley", "banzhaf")),
}


def default_n_samples(n_features: int, max_degree: int) -> int:
    """The default budget: all ``2^n`` masks when that is cheaper than the sparse design.

    Otherwise the cost of a design with ``2^7`` buckets in three groups, plus the held-out
    slice of uniform masks that ``spex()`` uses for its R² estimate.
    """
    code = bch_code(n_features, min(max_degree, n_features))
    design = design_cost(code.n_parity, _DEFAULT_B, _DEFAULT_GROUPS)
    if uses_exact(n_features, design):
        return 1 << n_features
    return design + holdout_size(design, design)


def model_identity(forward_func: Any) -> Part:
    """What identifies a forward for the query store, hashed by content only when a cache is
    used: a ModelFactory's recipe (builder and its arguments), else the forward itself (a
    module's class, parameters, buffers, attributes and mode; a function's code, closure and
    globals; a bound method's ``__self__``; see :mod:`captum_spex._identity`)."""
    if isinstance(forward_func, ModelFactory):
        recipe = ("ModelFactory", forward_func.factory, forward_func.args, forward_func.kwargs)
        return Part("forward_func", recipe)
    return Part("forward_func", forward_func)


def raise_forward_error(err: SpexQueryError) -> NoReturn:
    """Re-raise the forward's own exception, as Captum's methods let it through, with a
    note of how many masks were done (and stored, with a cache)."""
    cause = err.__cause__
    if cause is None:
        raise err
    if hasattr(cause, "add_note"):
        cause.add_note(f"captum-spex: {err}")
    raise cause from None


@dataclass
class Job:
    """One set function to explain.

    Attributes
    ----------
    n_features : int
        Its number of features.
    value_function : callable
        ``make(report) -> value_function``: builds the value function; ``report(units)``
        (None when batches run on an executor) lets it move the progress bar as it goes.
    identity : tuple
        Everything that decides its values (model, input, baselines, target, ...), hashed
        by content into the query store's key (see :func:`captum_spex.store.store_key`).
    feature_names : list of str, optional
        Names put on the result.
    diagnostics : callable, optional
        ``diagnostics(run_diagnostics, n_queries)``, called after its queries; the items it
        returns are added to the result's diagnostics.
    outputs : tuple of str, default ("output 0", "outputs")
        How the progress bar names the first output and all outputs of a multi-output
        value function (its R² is the first output's, with the lowest of all beside it).
    """

    n_features: int
    value_function: Callable[[Callable[[int], None] | None], Callable]
    identity: tuple
    feature_names: Sequence[str] | None = None
    diagnostics: Callable[[Mapping[str, Any], int], Mapping[str, Any]] | None = None
    outputs: tuple[str, str] = ("output 0", "outputs")


class _Reported:
    """Thread-safe count of progress units a value function already showed."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self._n = 0
        self._lock = threading.Lock()

    def report(self, k: int) -> None:
        with self._lock:
            self._n += k
        self.bar.update(k)

    def take(self, k: int) -> int:
        """Take up to ``k`` reported units; return how many were taken."""
        with self._lock:
            took = min(k, self._n)
            self._n -= took
            return took


@dataclass
class Runner:
    """Runs jobs for a front end; see the module docstring."""

    caller: str
    n_samples: int | None
    max_degree: int
    seed: int
    method: str = DEFAULT_METHOD
    options: dict = field(default_factory=dict)
    cache: str | os.PathLike[str] | None = None
    cache_key: str | None = None
    executor: Executor | None = None
    max_retries: int = 2
    batch_size: int = 4096
    show_progress: bool = False
    desc: str = "SPEX attribution"
    masks_per_unit: int = 1
    unit: str = "it"
    _plans: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.options = check_method_options(self.method, self.caller, **self.options)

    @classmethod
    def from_params(cls, caller: str, p: dict[str, Any], **kwargs: Any) -> Runner:
        """A runner from the front end's checked parameters ``p`` (``check_params``).

        The shared keys (budget, degree, seed, method, cache, executor, retries, progress)
        come from ``p``; ``kwargs`` gives the rest (``options``, ``batch_size``, ``desc``...).
        """
        shared = (
            "n_samples",
            "max_degree",
            "seed",
            "method",
            "cache",
            "cache_key",
            "executor",
            "max_retries",
            "show_progress",
        )
        return cls(caller, **{k: p[k] for k in shared}, **kwargs)

    def prepare(self, n_features: int) -> PreparedRun:
        """The checked plan for a job of ``n_features`` features (memoised)."""
        if n_features not in self._plans:
            budget = self.n_samples
            if budget is None:
                budget = default_n_samples(n_features, self.max_degree)
            self._plans[n_features] = prepare_run(
                n_features,
                budget,
                self.max_degree,
                self.seed,
                self.method,
                self.options,
                self.caller,
            )
        return self._plans[n_features]

    def run(self, jobs: Sequence[Job], n_initial: int = 0) -> list[Interactions]:
        """Explain every job; ``n_initial`` model calls were already made (progress)."""
        prepared = [self.prepare(job.n_features) for job in jobs]
        keys = self._cache_keys(jobs)  # before any query: an unprovable model fails here
        if self.show_progress:
            # the anchors are a forward call of their own, before the method's
            total = n_initial + sum(
                self._units(p.n_anchor_queries)
                + self._units(p.planned_queries - p.n_anchor_queries)
                for p in prepared
            )
            bar: Any = progress(desc=self.desc, total=total, unit=self.unit)
            bar.update(n_initial)
        else:
            bar = NullProgress()
        try:
            return [self._run_one(*run, bar) for run in zip(jobs, prepared, keys)]
        finally:
            bar.close()

    def _cache_keys(self, jobs: Sequence[Job]) -> list[str | None]:
        """The store key of every job (None without a cache); a model is hashed once."""
        if self.cache is None:
            return [None] * len(jobs)
        memo: dict = {}
        return [store_key(self.caller, job.identity, self.cache_key, memo) for job in jobs]

    def _units(self, n_masks: int) -> int:
        return math.ceil(n_masks / self.masks_per_unit)

    def _run_one(self, job: Job, run: PreparedRun, cache_key: str | None, bar: Any) -> Interactions:
        reported = _Reported(bar)
        value_function = job.value_function(reported.report if self.executor is None else None)

        def on_batch(k: int) -> None:
            units = self._units(k)
            bar.update(units - reported.take(units))

        try:
            return run.execute(
                value_function,
                batch_size=self.batch_size,
                cache=self.cache,
                cache_key=cache_key,
                executor=self.executor,
                max_retries=self.max_retries,
                on_batch=on_batch,
                feature_names=job.feature_names,
                diagnostics=job.diagnostics,
                on_status=getattr(bar, "set_postfix_str", None),
                announce=self.show_progress,
                status_outputs=job.outputs,
            )
        except SpexQueryError as err:
            raise_forward_error(err)
