"""The interface every explanation method implements, and the plan it hands the runner.

A method turns a budget into the masks to query (:meth:`Method.plan`, no model call), then
turns the values of those masks into sparse Fourier terms (:meth:`Method.run`). The engine
(:func:`captum_spex.spex`) and every front end drive any registered method the same way:

    method.check_budget(...)   # before anything else: a clear error naming the minimum
    method.require()           # heavy optional imports, before any (expensive) query
    plan = method.plan(...)    # the query design, built once
    method.planned_queries(plan)  # progress bars know the total before the first query
    result = method.run(plan, query, show_progress)

``query(masks)`` evaluates masks through the query loop (store, executor, retries) and
returns their ``(N, n_outputs)`` values. A plan is never mutated by ``run``: one plan may
serve several examples.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..._validation import Constraint

__all__ = ["Method", "MethodResult", "Plan", "Query"]

Query = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True, eq=False)
class Plan:
    """What a method will query, decided before any query.

    Attributes
    ----------
    n_features, n_samples, max_degree, seed : int
        The run's arguments (``max_degree`` already capped at ``n_features``).
    masks : numpy.ndarray
        ``(N, n_features)`` bool: every mask the method will query, in order.
    options : dict
        The method's own options (e.g. ``decoder``), validated.
    state : Any
        Method-private data (a design, a random state); read-only.
    n_before : int
        Queries the run makes before the method's own (the anchors): a method that reports
        query counts as it goes (rounds, learning curves, advice) adds them, so that its
        counts are the run's.
    """

    n_features: int
    n_samples: int
    max_degree: int
    seed: int
    masks: np.ndarray
    options: dict = field(default_factory=dict)
    state: Any = None
    n_before: int = 0


@dataclass
class MethodResult:
    """What :meth:`Method.run` returns: Fourier terms and how they were found.

    Attributes
    ----------
    terms : list of tuple of int
        Fourier supports (``()`` is the constant).
    coefficients : numpy.ndarray
        ``(K, n_outputs)`` Fourier coefficients.
    n_queries : int
        Masks the result rests on.
    diagnostics : dict
        Method-specific diagnostics; should hold ``mode`` and ``r2_estimate``.
    max_degree : int, optional
        The largest order the result may hold, when it differs from the plan's.
    standard_errors : numpy.ndarray, optional
        ``(K, n_outputs)`` standard errors of the coefficients, when the fit gives them.
    """

    terms: list[tuple[int, ...]]
    coefficients: np.ndarray
    n_queries: int
    diagnostics: dict
    max_degree: int | None = None
    standard_errors: np.ndarray | None = None


class Method(abc.ABC):
    """One explanation method. Subclass it, then register an instance (see
    :func:`captum_spex.engine.methods.register_method`).

    Class attributes
    ----------------
    name : str
        The ``method=`` value users pass.
    description : str
        One line for ``--help`` texts and error messages.
    selectable : bool
        Whether users may ask for it by name (the exact transform is chosen automatically).
    options : mapping of str to (Constraint, default)
        The method's own keyword options with their declared constraints and defaults;
        giving another method's option a non-default value is an error.
    progress_label : str
        The label of the query progress bar.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    selectable: ClassVar[bool] = True
    options: ClassVar[Mapping[str, tuple[Constraint, Any]]] = {}
    progress_label: ClassVar[str] = "queries"

    def check_budget(
        self, n_features: int, n_samples: int, max_degree: int, caller: str = "spex"
    ) -> None:
        """Raise ``ValueError`` (naming ``caller`` and the minimum) when ``n_samples`` is
        too small for this method. The default accepts any budget."""
        return None

    def require(self) -> None:
        """Import optional dependencies, raising an ``ImportError`` that names the extra to
        install; called before any query. The default needs nothing."""
        return None

    @abc.abstractmethod
    def plan(
        self, n_features: int, n_samples: int, max_degree: int, seed: int, options: dict
    ) -> Plan:
        """Decide the masks to query (no model call)."""

    def planned_queries(self, plan: Plan) -> int:
        """How many masks :meth:`run` will evaluate (for progress bars)."""
        return int(plan.masks.shape[0])

    @abc.abstractmethod
    def run(self, plan: Plan, query: Query, show_progress: bool) -> MethodResult:
        """Query the plan's masks with ``query`` and fit the terms."""
