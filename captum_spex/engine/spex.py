"""``spex()``: validate, pick the method from the registry, query, return ``Interactions``.

Data flows one way: the arguments are checked against the declared constraints
(:data:`SPEX_PARAMS`), the method is looked up in the registry
(:mod:`captum_spex.engine.methods`), its plan is built once (:func:`prepare_run`), its masks
are evaluated through the query loop (:mod:`captum_spex.engine.query`) and the result
becomes one :class:`~captum_spex.Interactions`. Front ends (the Captum classes, the CLI) use
:func:`prepare_run` and :meth:`PreparedRun.execute` directly, so that they can plan every
example (and size their progress bar) before the first query.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .._validation import (
    Bool,
    HasMethod,
    Int,
    IsCallable,
    NonEmptyStr,
    Optional,
    Options,
    PathLike,
    check_params,
    param_error,
)
from ..interactions import Interactions
from ._compile import announcing
from ._values import Normaliser, StatsQuery
from .anchors import AnchorTap, anchor_masks, anchor_residuals
from .design import usable_budget
from .errors import SpexFitWarning, SpexQueryError
from .methods import (
    DEFAULT_METHOD,
    Method,
    MethodResult,
    Plan,
    available_methods,
    get_method,
    method_for,
    uses_exact,
)
from .query import QueryRunner, ValueFunction, open_store

__all__ = [
    "spex",
    "SpexFitWarning",
    "SpexQueryError",
    "SPEX_PARAMS",
    "PreparedRun",
    "prepare_run",
    "check_budget",
    "check_method_options",
    "planned_queries",
    "uses_exact",
]

#: The declared constraints of the parameters ``spex()`` shares with every front end.
SPEX_PARAMS = {
    "value_function": IsCallable(),
    "n_features": Int(1),
    "n_samples": Int(1),
    "max_degree": Int(1),
    "seed": Int(0),
    "show_progress": Bool(),
    "batch_size": Int(1),
    "method": Options(available_methods),
    "cache": Optional(PathLike()),
    "cache_key": Optional(NonEmptyStr()),
    "executor": Optional(HasMethod("submit", "a concurrent.futures.Executor")),
    "max_retries": Int(0),
    "on_batch": Optional(IsCallable()),
}


def _declared_option(name: str) -> tuple[Any, Any, list[str]]:
    """(constraint, default, owners) of a method option declared by registered methods."""
    owners = [m for m in available_methods() if name in get_method(m).options]
    constraint, default = get_method(owners[0]).options[name]
    return constraint, default, owners


def check_method_options(method: str, caller: str, **given: Any) -> dict[str, Any]:
    """Validate method options (``decoder``, ``n_terms``, ...) against the constraints their
    methods declare; an option of another method must keep its default.

    Returns the options ``method`` declares, normalised.
    """
    impl = get_method(method)
    out: dict[str, Any] = {}
    for key, value in given.items():
        constraint, default, owners = _declared_option(key)
        value = constraint.check(value, key, caller)
        if key in impl.options:
            out[key] = value
        elif value != default:
            allowed = " or ".join(f"method={m!r}" for m in owners)
            raise ValueError(f"The '{key}' parameter of {caller} applies to {allowed} only.")
    return out


def check_budget(
    n_features: int,
    n_samples: int,
    max_degree: int,
    caller: str = "spex",
    method: str = DEFAULT_METHOD,
) -> None:
    """Raise ``ValueError`` naming the minimum when ``n_samples`` cannot run (before any
    query)."""
    max_degree = min(max_degree, n_features)
    method_for(method, n_features, n_samples).check_budget(
        n_features, n_samples, max_degree, caller
    )


@dataclass(frozen=True)
class PreparedRun:
    """A method and its plan, ready to query (see :func:`prepare_run`)."""

    method_name: str
    method: Method
    plan: Plan
    anchors: np.ndarray | None = None

    @property
    def n_anchor_queries(self) -> int:
        """How many of :attr:`planned_queries` are the anchors, queried first (0-2)."""
        return 0 if self.anchors is None else int(self.anchors.shape[0])

    @property
    def planned_queries(self) -> int:
        """The number of masks :meth:`execute` will evaluate (the anchors included)."""
        return self.method.planned_queries(self.plan) + self.n_anchor_queries

    def execute(
        self,
        value_function: ValueFunction,
        *,
        batch_size: int = 4096,
        show_progress: bool = False,
        cache: str | os.PathLike[str] | None = None,
        cache_key: str | None = None,
        executor: Executor | None = None,
        max_retries: int = 2,
        on_batch: Callable[[int], None] | None = None,
        feature_names: list[str] | None = None,
        diagnostics: Callable[[Mapping[str, Any], int], Mapping[str, Any]] | None = None,
        on_status: Callable[[str], None] | None = None,
        announce: bool = False,
        status_outputs: tuple[str, str] = ("output 0", "outputs"),
    ) -> Interactions:
        """Query the plan's masks, fit, and return the one :class:`Interactions`.

        Arguments are validated by the caller. ``diagnostics``, when given, is called after
        the queries with the run's diagnostics and its number of queries; the items it
        returns are added to the result's diagnostics. ``on_status`` receives a short
        line (``"R² 0.873 at 2,000 queries"``) after each round of an anytime run and at
        the end, for a caller's progress bar; the run's own bars show it too.

        Values far from the unit scale are normalised before any method sees them, per
        output, from the first values queried: an offset that dwarfs the spread
        (``|median| > 2^10 sd``, e.g. ``1e9 + O(1)``) is subtracted, and a spread outside
        ``[2^-32, 2^32]`` (``1e-160`` or ``1e300`` values) is divided by the nearest power of
        two; the result is mapped back (coefficients times the scale, the offset added to
        the constant, ``noise_sd`` times the scale). Ordinary values pass untouched, so
        their results are bit for bit what the method computes. Constant values give the
        constant alone, with ``r2_estimate`` None (R² is undefined there), per output.

        The full input and the baseline (the anchors) are queried first unless the plan
        holds them (they come out of the budget, see :func:`prepare_run`), and the result
        is made exact there by :attr:`Interactions.anchor_residuals` (:mod:`.anchors`);
        their values and the gap the fit had there are in ``diagnostics`` (``value_full``,
        ``value_baseline``, ``anchor_gap_full``, ``anchor_gap_baseline``). ``announce``
        prints the once-per-machine numba compile notice even without ``show_progress``
        (front ends with a bar of their own); ``status_outputs`` names the outputs in the
        bar's R² (see :func:`_status_line`).
        """
        store = open_store(cache, cache_key, value_function, self.plan.n_features)
        runner = QueryRunner(
            value_function,
            batch_size,
            show_progress,
            store,
            executor,
            max_retries,
            on_batch,
            self.method.progress_label,
        )
        query = StatsQuery(runner)
        tap = AnchorTap(query)
        norm = Normaliser(tap)
        n_anchor_queries = self.n_anchor_queries  # queried first, before any build()

        def build(res: MethodResult) -> Interactions:
            terms, coefs, errors, diag = norm.restore(res)
            squeeze = coefs.shape[1] == 1
            residuals = None
            if tap.complete and all(np.all(np.isfinite(v)) for v in [coefs, *tap.values]):
                gap = anchor_residuals(terms, coefs, *tap.values)
                if np.any(gap):
                    residuals = gap[:, 0] if squeeze else gap
                for key, value in (
                    ("value_full", tap.values[0]),
                    ("value_baseline", tap.values[1]),
                    ("anchor_gap_full", gap[0]),
                    ("anchor_gap_baseline", gap[1]),
                ):
                    diag[key] = float(value[0]) if value.size == 1 else value.tolist()
            diag["n_anchor_queries"] = n_anchor_queries
            if not tap.complete:  # the budget had no room for them
                diag["anchors"] = (
                    "not queried: n_samples is the method's minimum, with no room for the "
                    "full input and the baseline; the surrogate may miss them"
                )
            diag.update(query.stats)
            if diagnostics is not None:
                diag.update(diagnostics(diag, res.n_queries))
            return Interactions(
                self.plan.n_features,
                terms,
                coefs[:, 0] if squeeze else coefs,
                n_queries=res.n_queries + n_anchor_queries,
                max_degree=res.max_degree if res.max_degree is not None else self.plan.max_degree,
                feature_names=feature_names,
                diagnostics=diag,
                anchor_residuals=residuals,
                method=self.method_name,
                standard_errors=None if errors is None else (errors[:, 0] if squeeze else errors),
            )

        def report(res: MethodResult) -> None:
            runner.status = _status_line(res, status_outputs, n_anchor_queries)
            if on_status is not None and runner.status:
                on_status(runner.status)

        plan = self.plan
        user_on_round = plan.options.get("on_round")
        if "on_round" in plan.options:  # each round: the bars, then the user's Interactions

            def on_round(res: MethodResult) -> None:
                report(res)
                if user_on_round is not None:
                    user_on_round(build(res))

            plan = dataclasses.replace(plan, options={**plan.options, "on_round": on_round})
        try:
            if self.anchors is not None:
                tap(self.anchors)
            with announcing(show_progress or announce):
                res = self.method.run(plan, norm, show_progress)
        finally:
            if store is not None:
                store.close()
        report(res)
        return build(res)


def _status_line(
    res: MethodResult, outputs: tuple[str, str] = ("output 0", "outputs"), extra: int = 0
) -> str:
    """``"R² 0.873 at 2,000 queries"``, or "" without an estimate. With several outputs, the
    first output's, named ``outputs[0]``, and the lowest of all (``outputs[1]``):
    ``"R² 0.954 whole answer (lowest of 6 outputs: 0.924) at 1,000 queries"``. The queries
    count the ``extra`` anchor queries too, as ``Interactions.n_queries`` does."""
    r2 = np.atleast_1d(np.asarray(res.diagnostics.get("r2_estimate", np.nan), dtype=np.float64))
    if not np.all(np.isfinite(r2)):
        return ""
    where = f"at {res.n_queries + extra:,} queries"
    if r2.size == 1:
        return f"R² {float(r2[0]):.3f} {where}"
    first, every = outputs
    return (
        f"R² {float(r2[0]):.3f} {first} (lowest of {r2.size} {every}: "
        f"{float(r2.min()):.3f}) {where}"
    )


def prepare_run(
    n_features: int,
    n_samples: int,
    max_degree: int,
    seed: int,
    method: str = DEFAULT_METHOD,
    options: Mapping[str, Any] | None = None,
    caller: str = "spex",
) -> PreparedRun:
    """Check the budget, import what the method needs and build its plan: everything that
    can fail before the first query. Arguments are validated by the caller; ``options``
    are the output of :func:`check_method_options`.
    """
    max_degree = min(max_degree, n_features)
    impl = method_for(method, n_features, n_samples)
    impl.check_budget(n_features, n_samples, max_degree, caller)
    impl.require()
    plan, anchors = _plan_with_anchors(
        impl, n_features, n_samples, max_degree, seed, options, caller
    )
    if anchors is not None:
        plan = dataclasses.replace(plan, n_before=int(anchors.shape[0]))
    return PreparedRun(method, impl, plan, anchors)


def _plan_with_anchors(
    impl: Method,
    n_features: int,
    n_samples: int,
    max_degree: int,
    seed: int,
    options: Mapping[str, Any] | None,
    caller: str,
) -> tuple[Plan, np.ndarray | None]:
    """The method's plan and the anchor masks it lacks, all within the budget.

    The anchors (full input, baseline) come out of the budget (the masks' memory cap counts
    them too). The method first plans for one query less: the SPEX design holds the
    baseline, so it plans once. A plan that fills its budget and lacks both (uniform
    masks) is planned again for two less, one that holds both (dense small designs) for
    the whole budget; a plan with room to spare is final. Without room for them (the
    method's minimum budget) they are left out, and the result says so. The exact
    transform holds both.
    """

    def plan_for(budget: int) -> Plan:
        return impl.plan(n_features, budget, max_degree, seed, dict(options or {}))

    if impl.name == "exact":
        return plan_for(n_samples), None
    budget = usable_budget(n_samples, n_features)
    best: tuple[int, Plan, np.ndarray | None] | None = None
    for spare in (1, 2, 0):
        try:
            impl.check_budget(n_features, budget - spare, max_degree, caller)
        except ValueError:
            continue
        plan = plan_for(budget - spare)
        anchors = _missing_anchors(impl, plan)
        planned = impl.planned_queries(plan)
        total = planned + (0 if anchors is None else anchors.shape[0])
        if total <= budget and (best is None or total > best[0]):
            best = (total, plan, anchors)
        if total == budget or planned < budget - spare:  # full, or more would not help
            break
    if best is None:
        return plan_for(n_samples), None
    return best[1], best[2]


def _missing_anchors(impl: Method, plan: Plan) -> np.ndarray | None:
    """The anchor masks (full input, baseline) that the plan does not query itself."""
    if impl.name == "exact":
        return None  # all 2^n masks (built block by block beyond 2^20): both are there
    masks = anchor_masks(plan.n_features)
    held = [bool(plan.masks.all(axis=1).any()), bool((~plan.masks.any(axis=1)).any())]
    missing = masks[[not h for h in held]]
    return missing if missing.shape[0] else None


def planned_queries(
    n_features: int, n_samples: int, max_degree: int, seed: int, method: str = DEFAULT_METHOD
) -> int:
    """The number of masks ``spex()`` will evaluate with these arguments (the anchors
    included)."""
    return prepare_run(n_features, n_samples, max_degree, seed, method).planned_queries


def spex(
    value_function: ValueFunction,
    n_features: int,
    *,
    n_samples: int,
    max_degree: int = 5,
    seed: int = 0,
    show_progress: bool = False,
    decoder: Literal["soft", "hard"] = "soft",
    batch_size: int = 4096,
    feature_names: list[str] | None = None,
    cache: str | os.PathLike[str] | None = None,
    cache_key: str | None = None,
    executor: Executor | None = None,
    max_retries: int = 2,
    on_batch: Callable[[int], None] | None = None,
    method: str = DEFAULT_METHOD,
    n_terms: int | None = None,
    target_r2: float | None = None,
    max_seconds: float | None = None,
    on_round: Callable[[Interactions], None] | None = None,
) -> Interactions:
    """Explain a set function by its sparse Fourier (Walsh-Hadamard) interactions with SPEX.

    SPEX (Kang et al., ICML 2025, https://arxiv.org/abs/2502.13870) queries the function on
    masks chosen by a sparse Fourier transform design (random subsampling + BCH-coded
    delays), decodes the significant interactions by peeling, and refits them by least
    squares on every query. ``method="proxy"`` runs ProxySPEX instead (boosted trees on
    uniform random masks, see :func:`captum_spex.engine.proxy.proxy_spex`).

    Parameters
    ----------
    value_function : callable
        Maps a bool array ``(N, n_features)``, True = feature kept, to values of shape
        ``(N,)`` or ``(N, n_outputs)`` (numpy, lists or torch tensors).
    n_features : int
        Number of features ``n >= 1``.
    n_samples : int
        Budget: the largest number of masks ever evaluated (each mask at most once). Two
        of them are the input itself and the baseline (all features kept, none kept),
        unless the method's masks hold them, so that the result is exact there
        (``diagnostics["n_anchor_queries"]``; at the method's minimum budget they are
        left out). When ``2^n <= n_samples`` the exact transform of all ``2^n`` masks is
        computed instead.
    max_degree : int, default 5
        Largest interaction order to recover (the BCH code corrects ``t = max_degree``).
        In exact mode (``2^n <= n_samples``) with at most 16 features every order is
        returned, so that all indices are exact.
    seed : int, default 0
        Seed of the query design; the same seed gives the same masks and result.
    show_progress : bool, default False
        Show tqdm progress bars for querying and decoding.
    decoder : {"soft", "hard"}, default "soft"
        "soft" runs Chase decoding over the least reliable delay signs; "hard" only the
        algebraic BCH decoder.
    batch_size : int, default 4096
        Masks per call of ``value_function``.
    feature_names : list of str, optional
        Names stored on the result.
    cache : str or os.PathLike, optional
        SQLite file of finished queries (see :class:`captum_spex.store.QueryStore`). Each
        batch is committed as it finishes; a rerun with the same seed and arguments reads
        them back and queries only the missing masks. ``None`` (default) keeps nothing.
    cache_key : str, optional
        Identity of the explained function inside ``cache``. Defaults to a fingerprint of
        the value function's qualified name and ``n_features``: give distinct keys when one
        cache serves different functions of the same name (e.g. one per explained input).
    executor : concurrent.futures.Executor, optional
        Evaluate the batches of masks on an executor: a thread or process pool, Dask's
        ``distributed.Client(...).get_executor()``, or anything with ``submit``. Batches go
        out as bit-packed masks and come back as float values, are gathered in mask order
        and committed to ``cache`` as each finishes; the result is bit-identical to a
        serial run. The value function must be picklable for process-based executors; wrap
        models in :class:`captum_spex.distributed.ModelFactory` so each worker builds its
        model once.
    max_retries : int, default 2
        With an executor, how many times a failed batch is resubmitted before giving up.
    on_batch : callable, optional
        Called in the caller's process with the number of masks of every finished batch
        (for the progress bars of front ends).
    method : str, default "auto"
        A registered method (:func:`captum_spex.engine.methods.available_methods`).
        "auto" (the default): the SPEX design when the budget affords it (uniform masks
        below its minimum, down to 32 queries), then candidates from the peeling decoder,
        a first-order/pair screen and boosted trees, and one sparse fit chosen by
        cross-validation: never less faithful than a regression on the same queries, and
        as faithful as SPEX on Fourier-sparse functions.
        "spex": the sparse Fourier design and decoder alone. "proxy": ProxySPEX, LightGBM trees
        fitted on ``n_samples`` uniform masks and read off exactly (needs the ``proxy``
        extra; far fewer queries when interactions are hierarchical, AND-like). Whatever
        the method, the exact transform runs when ``2^n <= n_samples``.
    n_terms : int, optional
        ProxySPEX only: the number of terms kept for the refit (default: validated).
    target_r2 : float, optional
        Default method only: query in rounds of doubling size over a stream of uniform
        masks (64, 128, 256, ... up to ``n_samples``, the hard cap), refit after each, and
        stop as soon as the cross-validated R² estimate (of the first output, with several)
        reaches ``target_r2``, or when two
        rounds in a row no longer raise it beyond its own noise. Every round's queries are
        kept (and stored with ``cache``): stopping and continuing later costs nothing, and
        a stopped run equals a run capped at ``n_samples`` = the queries it used.
        ``diagnostics["r2_curve"]`` holds the learning curve, ``["stopped"]`` why it
        stopped, and a missed target warns with budget advice.
    max_seconds : float, optional
        Default method only: rounds as with ``target_r2``; no round starts that would not
        finish within this many seconds (queries and fits) from the start.
    on_round : callable, optional
        Default method, with ``target_r2`` or ``max_seconds``: called with the current
        :class:`~captum_spex.Interactions` after every round (to show top terms live).

    Returns
    -------
    Interactions
        The sparse Fourier coefficients; ``n_queries`` is the number of masks the
        explanation rests on (``diagnostics["n_from_cache"]`` of them read from ``cache``).
        ``diagnostics["r2_estimate"]`` estimates the faithfulness on held-out uniform masks.

    Raises
    ------
    ValueError, TypeError
        On a bad argument (named in the message), before any query; on value-function
        output of the wrong shape, or NaN/Inf values.
    SpexQueryError
        When the value function raises; it tells how many masks were done (and stored).

    Warns
    -----
    SpexFitWarning
        When the estimated R² is poor: the function may not be sparse at this budget.

    Examples
    --------
    >>> import numpy as np
    >>> from captum_spex import spex
    >>> def f(masks):  # feature 3 and feature 7 matter only together
    ...     return 2.0 * (masks[:, 3] & masks[:, 7]) + 0.5 * masks[:, 1]
    >>> result = spex(f, 40, n_samples=3000, max_degree=3, seed=0)
    >>> result.n_queries <= 3000
    True
    >>> sorted(k for k, v in result.fourier().items() if abs(v) > 1e-6)
    [(), (1,), (3,), (3, 7), (7,)]
    """
    params = check_params(
        "spex",
        SPEX_PARAMS,
        value_function=value_function,
        n_features=n_features,
        n_samples=n_samples,
        max_degree=max_degree,
        seed=seed,
        batch_size=batch_size,
        method=method,
        show_progress=show_progress,
        cache=cache,
        cache_key=cache_key,
        executor=executor,
        max_retries=max_retries,
        on_batch=on_batch,
    )
    options = check_method_options(
        params["method"],
        "spex",
        decoder=decoder,
        n_terms=n_terms,
        target_r2=target_r2,
        max_seconds=max_seconds,
        on_round=on_round,
    )
    n = params["n_features"]
    if feature_names is not None and len(feature_names) != n:
        raise param_error("spex", "feature_names", f"a list of n_features={n} names", feature_names)
    run = prepare_run(n, params["n_samples"], params["max_degree"], params["seed"], method, options)
    return run.execute(
        value_function,
        batch_size=params["batch_size"],
        show_progress=show_progress,
        cache=cache,
        cache_key=cache_key,
        executor=executor,
        max_retries=params["max_retries"],
        on_batch=on_batch,
        feature_names=feature_names,
    )
