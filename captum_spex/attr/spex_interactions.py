"""``SpexInteractions``: SPEX as a Captum perturbation attribution method."""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

import numpy as np
import torch
from captum.attr import PerturbationAttribution
from torch import Tensor

from ..distributed import ModelFactory
from ..engine import SpexQueryError, spex
from ..engine._common import _check_executor
from ..engine.bch import bch_code
from ..engine.design import design_cost, holdout_size
from ..engine.spex import check_budget, planned_queries, uses_exact
from ..interactions import Interactions
from ..store import fingerprint, qualified_name
from ._compat import (
    BaselineType,
    NullProgress,
    TargetType,
    TensorOrTupleOfTensorsGeneric,
    _expand_additional_forward_args,
    _expand_target,
    _format_additional_forward_args,
    _format_feature_mask,
    _format_input_baseline,
    _format_output,
    _is_mask_valid,
    _run_forward,
    _select_targets,
    _tensorize_baseline,
    log_usage,
    progress,
)

__all__ = ["SpexInteractions"]

# The default sparse budget: a design with 2^7 = 128 buckets in three groups.
_DEFAULT_B = 7
_DEFAULT_GROUPS = 3
# Masks handed to one value-function call of spex() (rounded to a multiple of ppe).
_MASKS_PER_CALL = 4096
_ATTRIBUTIONS = ("shapley", "banzhaf")
_NO_FUTURES = "SpexInteractions does not support forward functions that return Futures."


# ---------------------------------------------------------------------- budget helpers
def _default_n_samples(n_features: int, max_degree: int) -> int:
    """The default budget: all ``2^n`` masks when that is cheaper than the sparse design.

    Otherwise the cost of a design with ``2^7`` buckets in three groups, plus the held-out
    slice of uniform masks that ``spex()`` uses for its R² estimate.
    """
    code = bch_code(n_features, min(max_degree, n_features))
    design = design_cost(code.n_parity, _DEFAULT_B, _DEFAULT_GROUPS)
    if uses_exact(n_features, design):
        return 1 << n_features
    return design + holdout_size(design, design)


# ---------------------------------------------------------------------- validation
def _check_int(value: Any, name: str, method: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"The '{name}' parameter of SpexInteractions.{method} must be an int; got "
            f"{value!r} of type {type(value).__name__} instead."
        )
    value = int(value)
    if value < low:
        raise ValueError(
            f"The '{name}' parameter of SpexInteractions.{method} must be an int >= {low}; "
            f"got {value}."
        )
    return value


def _check_inputs(inputs: Any, method: str) -> tuple[bool, tuple[Tensor, ...], int]:
    """Return (is_tuple, inputs as a tuple, batch size)."""
    is_tuple = isinstance(inputs, tuple)
    tup = inputs if is_tuple else (inputs,)
    if len(tup) == 0 or not all(isinstance(t, Tensor) for t in tup):
        raise TypeError(
            f"The 'inputs' parameter of SpexInteractions.{method} must be a Tensor or a "
            f"non-empty tuple of Tensors; got {type(inputs).__name__}."
        )
    if any(t.dim() == 0 for t in tup):
        raise ValueError(
            f"The 'inputs' parameter of SpexInteractions.{method} needs a batch dimension: "
            "every tensor must have at least one dimension."
        )
    sizes = {int(t.shape[0]) for t in tup}
    if len(sizes) != 1 or 0 in sizes:
        raise ValueError(
            f"The 'inputs' parameter of SpexInteractions.{method} must hold tensors with the "
            f"same, non-zero batch size (dim 0); got {[tuple(t.shape) for t in tup]}."
        )
    return is_tuple, tup, sizes.pop()


def _check_baselines(baselines: Any, inputs: tuple[Tensor, ...], method: str) -> Any:
    """Validate the Captum baseline forms; 0-d tensors become Python scalars."""
    if baselines is None:
        return None
    forms = baselines if isinstance(baselines, tuple) else (baselines,)
    if len(forms) != len(inputs):
        raise ValueError(
            f"The 'baselines' parameter of SpexInteractions.{method} must give one baseline "
            f"per input tensor ({len(inputs)}); got {len(forms)}."
        )
    out = []
    for j, (base, inp) in enumerate(zip(forms, inputs)):
        if isinstance(base, Tensor) and base.dim() == 0:
            base = base.item()
        if isinstance(base, numbers.Number) and not isinstance(base, complex):
            out.append(base if isinstance(base, (bool, int, float)) else float(base))
            continue
        if not isinstance(base, Tensor):
            raise TypeError(
                f"The 'baselines' parameter of SpexInteractions.{method} must hold Tensors "
                f"or numbers; got {type(base).__name__} for input {j}."
            )
        if base.shape[1:] != inp.shape[1:] or base.shape[0] not in (1, inp.shape[0]):
            raise ValueError(
                f"The 'baselines' parameter of SpexInteractions.{method}: the baseline of "
                f"input {j} must have the input's shape {tuple(inp.shape)} or batch size 1; "
                f"got {tuple(base.shape)}."
            )
        out.append(base)
    return tuple(out) if isinstance(baselines, tuple) else out[0]


def _check_feature_mask(
    feature_mask: Any, inputs: tuple[Tensor, ...], batch: int, method: str
) -> tuple[Tensor, ...]:
    """Return one integer mask per input, with the input's number of dims, on its device."""
    if feature_mask is None:
        return _format_feature_mask(None, inputs)
    masks = feature_mask if isinstance(feature_mask, tuple) else (feature_mask,)
    if not all(isinstance(m, Tensor) for m in masks):
        raise TypeError(
            f"The 'feature_mask' parameter of SpexInteractions.{method} must be a Tensor or "
            f"a tuple of Tensors; got {type(feature_mask).__name__}."
        )
    if len(masks) != len(inputs):
        raise ValueError(
            f"The 'feature_mask' parameter of SpexInteractions.{method} must give one mask "
            f"per input tensor ({len(inputs)}); got {len(masks)}."
        )
    out = []
    for j, (mask, inp) in enumerate(zip(masks, inputs)):
        if mask.dtype == torch.bool or mask.is_floating_point() or mask.is_complex():
            raise TypeError(
                f"The 'feature_mask' parameter of SpexInteractions.{method} must hold integer "
                f"feature ids; mask {j} has dtype {mask.dtype}."
            )
        if not _is_mask_valid(mask, inp):
            raise ValueError(
                f"The 'feature_mask' parameter of SpexInteractions.{method}: mask {j} of shape "
                f"{tuple(mask.shape)} does not broadcast to its input of shape "
                f"{tuple(inp.shape)} (its first dim must be 1 or the batch size {batch})."
            )
        mask = mask.reshape((1,) * (inp.dim() - mask.dim()) + tuple(mask.shape))
        out.append(mask.to(inp.device))
    return tuple(out)


def _index(value: numbers.Integral, where: str) -> int:
    """An int that fits a torch index (int64)."""
    value = int(value)
    if not -(1 << 63) <= value < (1 << 63):
        raise ValueError(f"{where}: index {value} does not fit in int64.")
    return value


def _check_target(target: Any, batch: int, method: str) -> Any:
    """Validate Captum's target forms; NumPy integers become Python ints."""
    where = f"The 'target' parameter of SpexInteractions.{method}"
    if target is None:
        return None
    if isinstance(target, bool):
        raise TypeError(f"{where} must be an int, a tuple, a Tensor or a list; got a bool.")
    if isinstance(target, numbers.Integral):
        return _index(target, where)
    if isinstance(target, tuple):
        if not all(isinstance(t, numbers.Integral) and not isinstance(t, bool) for t in target):
            raise TypeError(f"{where}: a tuple target must hold ints; got {target!r}.")
        return tuple(_index(t, where) for t in target)
    if isinstance(target, Tensor):
        if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
            raise TypeError(f"{where} must hold integer indices; got dtype {target.dtype}.")
        if target.numel() > 1 and (target.dim() != 1 or target.shape[0] != batch):
            raise ValueError(
                f"{where}: a tensor target must be a single index or 1-D with one index per "
                f"example ({batch}); got shape {tuple(target.shape)}."
            )
        return target
    if isinstance(target, list):
        if len(target) != batch:
            raise ValueError(
                f"{where}: a list target must have one entry per example ({batch}); got "
                f"{len(target)}."
            )
        if all(isinstance(t, numbers.Integral) and not isinstance(t, bool) for t in target):
            return [_index(t, where) for t in target]
        if all(isinstance(t, tuple) for t in target):
            return [tuple(int(i) for i in t) for t in target]
        raise TypeError(f"{where}: a list target must hold only ints or only tuples.")
    raise TypeError(
        f"{where} must be None, an int, a tuple, a Tensor or a list; got {type(target).__name__}."
    )


# ---------------------------------------------------------------------- the games
@dataclass
class _Game:
    """One set function to explain: a batch of ``rows`` examples perturbed jointly."""

    inputs: tuple[Tensor, ...]  # each (rows, *shape)
    baselines: tuple[Tensor, ...]  # same shapes and dtypes as inputs
    groups: tuple[Tensor, ...]  # each (prod(shape),) long: the feature index of every element
    feature_ids: list[int]  # original mask id of feature index i
    target: Any
    additional_forward_args: tuple[Any, ...] | None
    example_index: int | None  # None when the forward aggregates the whole batch

    @property
    def n_features(self) -> int:
        return len(self.feature_ids)


def _groups(masks: tuple[Tensor, ...], inputs: tuple[Tensor, ...]) -> tuple[tuple, list[int]]:
    """Map the mask ids of one example (masks with first dim 1) to 0..n-1, sorted by id."""
    flat = [m.expand((1,) + tuple(x.shape[1:])).reshape(-1) for m, x in zip(masks, inputs)]
    ids, inverse = torch.unique(torch.cat(flat), sorted=True, return_inverse=True)
    groups = torch.split(inverse, [f.numel() for f in flat])
    return tuple(g.contiguous() for g in groups), [int(i) for i in ids.tolist()]


def _example(arg: Any, i: int, batch: int) -> Any:
    """The part of a target or of one additional argument that belongs to example ``i``."""
    if isinstance(arg, list) and len(arg) == batch:
        return arg[i : i + 1]
    if isinstance(arg, Tensor) and arg.dim() > 0 and arg.numel() > 1 and arg.shape[0] == batch:
        return arg[i : i + 1]
    return arg


def _attr_dtype(inp: Tensor) -> torch.dtype:
    if inp.is_floating_point():
        return torch.promote_types(inp.dtype, torch.float32)
    return torch.float32


def _raise_forward_error(err: SpexQueryError) -> NoReturn:
    """Re-raise the forward's own exception, as Captum's methods let it through, with a
    note of how many masks were done (and stored, with a cache)."""
    cause = err.__cause__
    if cause is None:
        raise err
    if hasattr(cause, "add_note"):
        cause.add_note(f"captum-spex: {err}")
    raise cause from None


def _model_identity(forward_func: Any) -> Any:
    """What identifies a forward for the query store: a ModelFactory's key, a module's class
    and parameters, or a function's qualified name."""
    if isinstance(forward_func, ModelFactory):
        return forward_func.key
    if isinstance(forward_func, torch.nn.Module):
        state = forward_func.state_dict()
        return [type(forward_func).__qualname__, sorted(state), list(state.values())]
    return qualified_name(forward_func)


def _args_identity(game: _Game) -> Any:
    args = game.additional_forward_args
    return [] if args is None else [a if isinstance(a, Tensor) else repr(a) for a in args]


class _ValueFunction:
    """The value function handed to ``spex()``: masks -> forward outputs, ppe masks a call."""

    def __init__(self, forward_func: Callable, game: _Game, ppe: int, bar: Any) -> None:
        self.forward_func = forward_func
        self.game = game
        self.ppe = ppe
        self.bar = bar
        self.device = game.inputs[0].device
        self.n_forwards = 0

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        game = self.game
        kept = torch.from_numpy(np.ascontiguousarray(masks, dtype=bool)).to(self.device)
        values = []
        for start in range(0, kept.shape[0], self.ppe):
            block = kept[start : start + self.ppe]
            k = block.shape[0]
            perturbed = []
            for x, base, group in zip(game.inputs, game.baselines, game.groups):
                shape = tuple(x.shape[1:])
                sel = block[:, group].reshape((k, 1) + shape)
                pert = torch.where(sel, x.unsqueeze(0), base.unsqueeze(0))
                perturbed.append(pert.reshape((k * x.shape[0],) + shape))
            target = game.target
            args = game.additional_forward_args
            if k > 1:
                target = _expand_target(target, k)
                if args is not None:
                    args = _expand_additional_forward_args(args, k)
            out = _forward_select(self.forward_func, tuple(perturbed), target, args)
            self.n_forwards += 1
            if self.bar is not None:
                self.bar.update()
            values.append(_as_values(out, k, self.ppe))
        return torch.cat(values).cpu().numpy()


def _forward_select(
    forward_func: Any,
    inputs: tuple[Tensor, ...],
    target: Any,
    args: Any,
    method: str = "attribute",
) -> Any:
    """Run the forward, then select ``target`` as Captum does, naming a target that does
    not index the output (Captum would raise an IndexError or AssertionError)."""
    out = _run_forward(forward_func, inputs, None, args)
    if target is None or not isinstance(out, Tensor):
        return out
    try:
        return _select_targets(out, target)
    except (IndexError, AssertionError, RuntimeError) as exc:
        raise ValueError(
            f"The 'target' parameter of SpexInteractions.{method} ({target!r}) does not index "
            f"the forward's output of shape {tuple(out.shape)}: {exc}"
        ) from exc


def _as_values(out: Any, k: int, ppe: int) -> Tensor:
    if isinstance(out, torch.futures.Future):
        raise TypeError(_NO_FUTURES)
    if isinstance(out, numbers.Real):
        out = torch.tensor([float(out)], dtype=torch.float64)
    if not isinstance(out, Tensor):
        raise TypeError(f"forward_func must return a Tensor or a number; got {type(out).__name__}.")
    if out.numel() != k:
        hint = (
            " A forward that returns one scalar per batch needs perturbations_per_eval=1."
            if out.numel() == 1 and ppe > 1
            else " Select one output per example with `target`."
        )
        raise ValueError(
            f"forward_func returned {out.numel()} values (shape {tuple(out.shape)}) for a "
            f"batch of {k} perturbed inputs after target selection; SpexInteractions needs "
            f"one scalar per example.{hint}"
        )
    return out.detach().reshape(-1).to(dtype=torch.float64)


# ---------------------------------------------------------------------- the class
class SpexInteractions(PerturbationAttribution):
    r"""SPEX: sparse Fourier interaction attribution, as a Captum perturbation method.

    SPEX (Kang et al., "SPEX: Scaling Feature Interaction Explanations for LLMs", ICML 2025,
    https://arxiv.org/abs/2502.13870) explains a model by the sparse Fourier (Walsh-Hadamard)
    transform of its output as a function of which feature groups are kept. It queries the
    model on masks chosen by a sparse Fourier transform design, decodes the few significant
    interactions (up to ``max_degree`` features each) by peeling BCH-coded bucket signatures,
    and refits them by least squares. Every interaction index follows from the recovered
    transform: Shapley and Banzhaf values, Möbius coefficients, Shapley-Taylor, Faith-Shap, ...

    It is a drop-in for :class:`captum.attr.ShapleyValueSampling`: :meth:`attribute` takes the
    same arguments and returns first-order attributions (Shapley values by default) in the
    input's shape, while :meth:`attribute_interactions` returns the interactions themselves as
    :class:`~captum_spex.Interactions`.

    A feature is a group of input elements that share an id in ``feature_mask`` (by default
    every scalar of an example is its own feature). Keeping a feature leaves its elements at
    the input's value; removing it sets them to the baseline. Ids may be any integers: feature
    index ``i`` of the resulting :class:`~captum_spex.Interactions` is the ``i``-th distinct id
    in sorted order (as ``torch.unique`` orders them, like
    :class:`~captum.attr.FeatureAblation`); an id that appears in several input tensors is one
    feature across all of them.

    Examples of a batch are explained one by one, each with its own SPEX run (the same query
    design for every example, from ``seed``). A forward function that returns one scalar for
    the whole batch is explained as one set function of the batch instead, as Captum's
    perturbation methods do: the feature mask must then be shared by all examples (first dim
    1) and ``perturbations_per_eval`` must be 1.

    Cost: each example spends at most ``n_samples`` evaluations of distinct masks (exactly
    ``Interactions.n_queries``), stacked ``perturbations_per_eval`` to a forward call; a batch
    of ``B > 1`` examples costs one more forward, on the unperturbed batch, which tells a
    per-example output from a per-batch one. All forwards run under ``torch.no_grad()`` on the
    inputs' device. Only one output per example is explained at a time: select it with
    ``target``.

    Parameters
    ----------
    forward_func : callable
        The model or any function of the inputs. It must return one scalar per example after
        ``target`` selection (e.g. a ``(B,)`` tensor, or a ``(B, C)`` tensor with a
        ``target``), or one scalar for the whole batch.

    Examples
    --------
    >>> import torch
    >>> from captum_spex.attr import SpexInteractions
    >>> def model(x):  # features 0 and 1 only act together; feature 2 acts alone
    ...     return 2.0 * x[:, 0] * x[:, 1] + x[:, 2]
    >>> explainer = SpexInteractions(model)
    >>> x = torch.ones(1, 4)
    >>> explainer.attribute(x, max_degree=2)  # Shapley values: the pair shares its 2
    tensor([[1., 1., 1., 0.]])
    >>> inter = explainer.attribute_interactions(x, max_degree=2)
    >>> inter.top(2)  # largest Möbius (Harsanyi) terms
    [TopTerm(term=(0, 1), value=2.0), TopTerm(term=(2,), value=1.0)]
    """

    def __init__(self, forward_func: Callable[..., Any]) -> None:
        PerturbationAttribution.__init__(self, forward_func)

    @log_usage(part_of_slo=True)
    def attribute(
        self,
        inputs: TensorOrTupleOfTensorsGeneric,
        baselines: BaselineType = None,
        target: TargetType = None,
        additional_forward_args: Any = None,
        feature_mask: Tensor | tuple[Tensor, ...] | None = None,
        n_samples: int | None = None,
        max_degree: int = 5,
        perturbations_per_eval: int = 1,
        show_progress: bool = False,
        seed: int = 0,
        attribution: Literal["shapley", "banzhaf"] = "shapley",
        *,
        method: Literal["spex", "proxy"] = "spex",
        cache: str | os.PathLike[str] | None = None,
        executor: Executor | None = None,
        max_retries: int = 2,
    ) -> TensorOrTupleOfTensorsGeneric:
        r"""First-order attributions (Shapley or Banzhaf values) from the SPEX transform.

        Parameters
        ----------
        inputs : Tensor or tuple of Tensor
            The input(s) to explain; dim 0 is the batch (the same size in every tensor).
            The forward function is called as ``forward_func(*inputs,
            *additional_forward_args)``.
        baselines : scalar, Tensor or tuple of (scalar or Tensor), default None
            The values that replace removed features: a number, a tensor of the input's shape
            or with batch size 1, or one of those per input tensor. None means 0 (False for
            bool inputs).
        target : int, tuple, Tensor or list, default None
            Which output to explain, with Captum's semantics: an int (or one-element tensor)
            indexes the last output dim of every example; a tuple indexes the trailing dims;
            a list or 1-D tensor of length ``B`` gives one index (or index tuple) per example.
            None when the forward already returns one scalar per example.
        additional_forward_args : Any, default None
            Extra arguments passed after the inputs (a tuple for several). A tensor whose dim
            0 is the batch size is split per example, and repeated for
            ``perturbations_per_eval`` stacked perturbations; anything else is passed as is.
        feature_mask : Tensor or tuple of Tensor, default None
            Integer feature ids, one mask per input, each broadcastable to its input, with
            first dim 1 (shared by all examples) or ``B``. Elements with the same id form one
            feature, across tensors too; ids need not be consecutive. None makes every scalar
            of an example its own feature.
        n_samples : int, default None
            The query budget per example: SPEX makes at most this many forward evaluations of
            distinct masks. When ``2^n <= n_samples`` for ``n`` features (and ``n <= 30``) the
            exact transform of all ``2^n`` masks is computed. None picks the exact transform
            when it costs no more than the default sparse design, else the budget of a design
            with ``2^7`` buckets in three groups, which grows with ``n`` and ``max_degree``
            (e.g. 4,966 queries for 40 features with ``max_degree=2``, 13,752 with 5).
        max_degree : int, default 5
            The largest interaction order recovered; Shapley and Banzhaf values are exact when
            the model's masked output has no interaction above this order.
        perturbations_per_eval : int, default 1
            How many perturbed copies of an example are stacked into one forward call. Must
            be 1 when the forward returns one scalar for the whole batch.
        show_progress : bool, default False
            Show a progress bar ("Spex Interactions attribution") over the forward calls.
        seed : int, default 0
            Seed of the query design; the same seed gives the same masks and attributions.
        attribution : {"shapley", "banzhaf"}, default "shapley"
            The first-order index returned: Shapley values (they sum to ``f(x) -
            f(baseline)``) or Banzhaf values (the average removal effect over all contexts).
        method, cache, executor, max_retries
            ProxySPEX, the crash-safe query store and scale-out; see
            :meth:`attribute_interactions`.

        Returns
        -------
        Tensor or tuple of Tensor
            Attributions with the inputs' shapes (a tuple exactly when ``inputs`` is a tuple):
            every element carries the value of its feature. When the forward returns one
            scalar for the whole batch the first dim is 1. The dtype is floating (at least
            float32) and the device is the inputs'.

        Raises
        ------
        TypeError, ValueError
            For an invalid argument, with the argument's name; or when the forward does not
            return one scalar per example (use ``target``) or per batch.

        Examples
        --------
        >>> import torch
        >>> from captum_spex.attr import SpexInteractions
        >>> def model(a, b):  # sums a group that spans both tensors
        ...     return (a.sum(1) * b.sum(1)).reshape(-1)
        >>> a, b = torch.ones(2, 2), torch.ones(2, 1)
        >>> mask = (torch.tensor([[0, 5]]), torch.tensor([[5]]))  # id 5 spans a and b
        >>> attr_a, attr_b = SpexInteractions(model).attribute((a, b), feature_mask=mask)
        >>> attr_a
        tensor([[0.5000, 1.5000],
                [0.5000, 1.5000]])
        >>> attr_b
        tensor([[1.5000],
                [1.5000]])
        """
        if attribution not in _ATTRIBUTIONS:
            raise ValueError(
                "The 'attribution' parameter of SpexInteractions.attribute must be 'shapley' "
                f"or 'banzhaf'; got {attribution!r}."
            )
        is_tuple, games, results = self._explain(
            "attribute",
            inputs,
            baselines,
            target,
            additional_forward_args,
            feature_mask,
            n_samples,
            max_degree,
            perturbations_per_eval,
            show_progress,
            seed,
            {"method": method, "cache": cache, "executor": executor, "max_retries": max_retries},
        )
        per_input: list[list[Tensor]] = [[] for _ in games[0].inputs]
        for game, inter in zip(games, results):
            values = inter.shapley_values() if attribution == "shapley" else inter.banzhaf_values()
            for j, (x, group) in enumerate(zip(game.inputs, game.groups)):
                vals = torch.as_tensor(values, dtype=_attr_dtype(x), device=x.device)
                per_input[j].append(vals[group].reshape((1,) + tuple(x.shape[1:])))
        attrs = tuple(torch.cat(parts, dim=0) for parts in per_input)
        return _format_output(is_tuple, attrs)

    @log_usage(part_of_slo=True)
    def attribute_interactions(
        self,
        inputs: TensorOrTupleOfTensorsGeneric,
        baselines: BaselineType = None,
        target: TargetType = None,
        additional_forward_args: Any = None,
        feature_mask: Tensor | tuple[Tensor, ...] | None = None,
        n_samples: int | None = None,
        max_degree: int = 5,
        perturbations_per_eval: int = 1,
        show_progress: bool = False,
        seed: int = 0,
        *,
        method: Literal["spex", "proxy"] = "spex",
        cache: str | os.PathLike[str] | None = None,
        executor: Executor | None = None,
        max_retries: int = 2,
    ) -> Interactions | list[Interactions]:
        r"""The sparse Fourier interactions of the feature groups, as ``Interactions``.

        The same SPEX run as :meth:`attribute`, returning the interactions themselves instead
        of one value per feature (see https://arxiv.org/abs/2502.13870).

        Parameters
        ----------
        inputs : Tensor or tuple of Tensor
            The input(s) to explain; dim 0 is the batch. See :meth:`attribute`.
        baselines : scalar, Tensor or tuple of (scalar or Tensor), default None
            The values of removed features (None means 0). See :meth:`attribute`.
        target : int, tuple, Tensor or list, default None
            The output to explain, with Captum's semantics. See :meth:`attribute`.
        additional_forward_args : Any, default None
            Extra forward arguments. See :meth:`attribute`.
        feature_mask : Tensor or tuple of Tensor, default None
            Integer feature ids (groups), shared across tensors; None makes every scalar a
            feature. See :meth:`attribute`.
        n_samples : int, default None
            Query budget per example; None picks the default of :meth:`attribute`.
        max_degree : int, default 5
            The largest interaction order recovered.
        perturbations_per_eval : int, default 1
            Perturbed copies of an example stacked into one forward call.
        show_progress : bool, default False
            Show a progress bar ("Spex Interactions attribution") over the forward calls.
        seed : int, default 0
            Seed of the query design.
        method : {"spex", "proxy"}, default "spex"
            "proxy" runs ProxySPEX (boosted trees on uniform masks; the ``proxy`` extra),
            which needs far fewer queries when interactions are hierarchical (AND-like).
        cache : str or os.PathLike, optional
            SQLite file of finished model queries, keyed by the identity of the model, the
            example, its baselines, target, extra arguments and feature groups, and the mask.
            Each batch is committed as it finishes; a rerun resumes and makes only the
            missing model calls. See :func:`captum_spex.spex`.
        executor : concurrent.futures.Executor, optional
            Spread the batches of forward calls over an executor (thread/process pool,
            ``distributed.Client(...).get_executor()``). Results are bit-identical to a serial
            run. Wrap the model in :class:`captum_spex.distributed.ModelFactory` so each
            worker builds it once.
        max_retries : int, default 2
            With an executor, how often a failed batch is resubmitted.

        Returns
        -------
        Interactions or list of Interactions
            For a batch of one example, or a forward that returns one scalar for the whole
            batch: one :class:`~captum_spex.Interactions`. For ``B > 1`` examples explained
            one by one: a list of ``B``, in batch order. Feature index ``i`` is the ``i``-th
            distinct feature-mask id in sorted order; ``diagnostics["feature_ids"]`` lists the
            original ids, ``feature_names`` reads ``"feature <id>"``, and
            ``diagnostics["example_index"]`` is the example's position in the batch (None
            for a batch-aggregating forward).

        Examples
        --------
        >>> import torch
        >>> from captum_spex.attr import SpexInteractions
        >>> def model(x):  # an XOR of the groups with ids 3 and 8
        ...     return torch.logical_xor(x[:, 0] > 0.5, x[:, 2] > 0.5).double()
        >>> mask = torch.tensor([[3, 1, 8, 1]])
        >>> inter = SpexInteractions(model).attribute_interactions(
        ...     torch.ones(1, 4), feature_mask=mask, max_degree=2)
        >>> inter.diagnostics["feature_ids"], inter.feature_names
        ([1, 3, 8], ('feature 1', 'feature 3', 'feature 8'))
        >>> inter.fourier()  # only the pair (ids 3 and 8) and the constant
        {(): 0.5, (1, 2): -0.5}
        """
        _, games, results = self._explain(
            "attribute_interactions",
            inputs,
            baselines,
            target,
            additional_forward_args,
            feature_mask,
            n_samples,
            max_degree,
            perturbations_per_eval,
            show_progress,
            seed,
            {"method": method, "cache": cache, "executor": executor, "max_retries": max_retries},
        )
        return results[0] if len(results) == 1 else results

    # ------------------------------------------------------------------ the shared run
    def _explain(
        self,
        method: str,
        inputs: Any,
        baselines: Any,
        target: Any,
        additional_forward_args: Any,
        feature_mask: Any,
        n_samples: Any,
        max_degree: Any,
        perturbations_per_eval: Any,
        show_progress: Any,
        seed: Any,
        scale: dict[str, Any],
    ) -> tuple[bool, list[_Game], list[Interactions]]:
        is_tuple, inputs_tuple, batch = _check_inputs(inputs, method)
        max_degree = _check_int(max_degree, "max_degree", method, 1)
        ppe = _check_int(perturbations_per_eval, "perturbations_per_eval", method, 1)
        seed = _check_int(seed, "seed", method, 0)
        if n_samples is not None:
            n_samples = _check_int(n_samples, "n_samples", method, 1)
        if not isinstance(show_progress, bool):
            raise TypeError(
                f"The 'show_progress' parameter of SpexInteractions.{method} must be a bool; "
                f"got {type(show_progress).__name__}."
            )
        baselines = _check_baselines(baselines, inputs_tuple, method)
        target = _check_target(target, batch, method)
        masks = _check_feature_mask(feature_mask, inputs_tuple, batch, method)
        args = _format_additional_forward_args(additional_forward_args)
        _check_executor(scale["executor"], scale["max_retries"], None, f"SpexInteractions.{method}")
        if scale["method"] not in ("spex", "proxy"):
            raise ValueError(
                f"The 'method' parameter of SpexInteractions.{method} must be 'spex' or "
                f"'proxy'; got {scale['method']!r}."
            )
        if scale["cache"] is not None and not isinstance(scale["cache"], (str, os.PathLike)):
            raise TypeError(
                f"The 'cache' parameter of SpexInteractions.{method} must be a path (str or "
                f"os.PathLike); got {type(scale['cache']).__name__}."
            )

        with torch.no_grad():
            inputs_tuple, base = _format_input_baseline(inputs_tuple, baselines)
            base = tuple(
                b.to(device=x.device, dtype=x.dtype)
                for b, x in zip(_tensorize_baseline(inputs_tuple, base), inputs_tuple)
            )
            games = self._games(inputs_tuple, base, masks, target, args, batch)
            budgets = [
                self._budget(g.n_features, n_samples, max_degree, method, scale["method"])
                for g in games
            ]
            n_initial = 0
            if batch > 1:  # find the output mode, as Captum's perturbation methods do
                n_initial = 1
                if self._aggregate_mode(inputs_tuple, target, args, batch, ppe, method):
                    games = [self._joint_game(inputs_tuple, base, masks, target, args, method)]
                    budgets = budgets[:1]  # the masks are shared: the same features
            if show_progress:
                total = n_initial + sum(
                    math.ceil(
                        planned_queries(g.n_features, b, max_degree, seed, scale["method"]) / ppe
                    )
                    for g, b in zip(games, budgets)
                )
                bar = progress(desc=f"{self.get_name()} attribution", total=total)
                bar.update(n_initial)
            else:
                bar = NullProgress()
            try:
                results = [
                    self._run_game(g, b, max_degree, ppe, seed, bar, scale)
                    for g, b in zip(games, budgets)
                ]
            finally:
                bar.close()
        return is_tuple, games, results

    def _aggregate_mode(
        self,
        inputs: tuple[Tensor, ...],
        target: Any,
        args: Any,
        batch: int,
        ppe: int,
        method: str,
    ) -> bool:
        """One forward on the unperturbed batch: one scalar per batch, or per example?"""
        out = _forward_select(self.forward_func, inputs, target, args, method)
        if isinstance(out, torch.futures.Future):
            raise TypeError(_NO_FUTURES)
        numel = 1 if isinstance(out, numbers.Real) else getattr(out, "numel", lambda: -1)()
        if numel == 1:
            if ppe != 1:
                raise ValueError(
                    f"The 'perturbations_per_eval' parameter of SpexInteractions.{method} "
                    "must be 1 when forward_func returns one scalar for the whole batch; got "
                    f"{ppe}."
                )
            return True
        if numel != batch:
            shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
            raise ValueError(
                f"forward_func returned an output of shape {shape} for a batch of {batch} "
                "after target selection; SpexInteractions needs one scalar per example (select "
                "one output with `target`) or one scalar for the whole batch."
            )
        return False

    @staticmethod
    def _joint_game(
        inputs: tuple[Tensor, ...],
        baselines: tuple[Tensor, ...],
        masks: tuple[Tensor, ...],
        target: Any,
        args: tuple[Any, ...] | None,
        method: str,
    ) -> _Game:
        """The whole batch as one set function (a forward that aggregates the batch)."""
        if any(m.shape[0] != 1 for m in masks):
            raise ValueError(
                f"The 'feature_mask' parameter of SpexInteractions.{method} must have first "
                "dim 1 (shared by all examples) when forward_func returns one scalar for the "
                "whole batch."
            )
        groups, ids = _groups(masks, inputs)
        return _Game(inputs, baselines, groups, ids, target, args, None)

    @staticmethod
    def _games(
        inputs: tuple[Tensor, ...],
        baselines: tuple[Tensor, ...],
        masks: tuple[Tensor, ...],
        target: Any,
        args: tuple[Any, ...] | None,
        batch: int,
    ) -> list[_Game]:
        """One set function per example."""
        games = []
        for i in range(batch):
            xs = tuple(x[i : i + 1] for x in inputs)
            groups, ids = _groups(tuple(m[i : i + 1] if m.shape[0] > 1 else m for m in masks), xs)
            games.append(
                _Game(
                    xs,
                    tuple(b[i : i + 1] for b in baselines),
                    groups,
                    ids,
                    _example(target, i, batch),
                    None if args is None else tuple(_example(a, i, batch) for a in args),
                    i,
                )
            )
        return games

    @staticmethod
    def _budget(
        n_features: int, n_samples: int | None, max_degree: int, method: str, algorithm: str
    ) -> int:
        if n_features == 0:
            raise ValueError(
                f"The 'inputs' parameter of SpexInteractions.{method} has no elements to "
                "attribute (every input tensor is empty)."
            )
        if n_samples is None:
            return _default_n_samples(n_features, max_degree)
        check_budget(n_features, n_samples, max_degree, f"SpexInteractions.{method}", algorithm)
        return n_samples

    def _run_game(
        self,
        game: _Game,
        n_samples: int,
        max_degree: int,
        ppe: int,
        seed: int,
        bar: Any,
        scale: dict[str, Any],
    ) -> Interactions:
        executor = scale["executor"]
        # workers cannot update the caller's bar: count finished batches here instead
        value_function = _ValueFunction(
            self.forward_func, game, ppe, None if executor is not None else bar
        )
        batch_size = ppe * max(1, _MASKS_PER_CALL // ppe)
        n_remote = [0]

        def on_batch(k: int) -> None:
            calls = math.ceil(k / ppe)
            n_remote[0] += calls
            bar.update(calls)

        cache_key = None
        if scale["cache"] is not None:
            cache_key = fingerprint(
                "SpexInteractions",
                _model_identity(self.forward_func),
                game.inputs,
                game.baselines,
                game.groups,
                repr(game.target),
                _args_identity(game),
                ppe,
            )
        try:
            raw = spex(
                value_function,
                game.n_features,
                n_samples=n_samples,
                max_degree=max_degree,
                seed=seed,
                batch_size=batch_size,
                cache=scale["cache"],
                cache_key=cache_key,
                executor=executor,
                max_retries=scale["max_retries"],
                method=scale["method"],
                on_batch=on_batch if executor is not None else None,
            )
        except SpexQueryError as err:
            _raise_forward_error(err)
        diagnostics = dict(raw.diagnostics)
        diagnostics["feature_ids"] = list(game.feature_ids)
        diagnostics["example_index"] = game.example_index
        diagnostics["n_forward_calls"] = value_function.n_forwards + n_remote[0]
        return Interactions(
            raw.n_features,
            raw.terms,
            raw.coefficients,
            n_queries=raw.n_queries,
            max_degree=raw.max_degree,
            feature_names=[f"feature {i}" for i in game.feature_ids],
            diagnostics=diagnostics,
            method=raw.method,
        )
