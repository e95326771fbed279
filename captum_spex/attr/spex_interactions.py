"""``SpexInteractions``: SPEX as a Captum perturbation attribution method.

The class holds Captum's contract (arguments, output shapes); the argument checks live in
:mod:`._captum_args`, the perturbation game in :mod:`._perturb` and the run itself (budget,
progress, cache key, errors) in :mod:`._runner`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any, Literal

import torch
from captum.attr import PerturbationAttribution
from torch import Tensor

from .._validation import check_params
from ..engine.methods import DEFAULT_METHOD
from ..interactions import Interactions
from ..store import Part
from ._captum_args import (
    check_baselines,
    check_feature_mask,
    check_inputs,
    check_target,
    warn_if_no_batch_dim,
    warn_if_training,
)
from ._compat import (
    BaselineType,
    TargetType,
    TensorOrTupleOfTensorsGeneric,
    _format_additional_forward_args,
    _format_input_baseline,
    _format_output,
    _tensorize_baseline,
    log_usage,
)
from ._perturb import (
    Game,
    PerturbedValueFunction,
    aggregate_mode,
    attr_dtype,
    example_games,
    joint_game,
)
from ._runner import FRONT_PARAMS, Job, Runner, model_identity

__all__ = ["SpexInteractions"]

# Masks handed to one value-function call of spex() (rounded to a multiple of ppe).
_MASKS_PER_CALL = 4096


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
    >>> [(t.names, t.value) for t in inter.top(2)]  # largest Möbius (Harsanyi) terms
    [(('feature 0', 'feature 1'), 2.0), (('feature 2',), 1.0)]
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
        method: str = DEFAULT_METHOD,
        cache: str | os.PathLike[str] | None = None,
        cache_key: str | None = None,
        target_r2: float | None = None,
        max_seconds: float | None = None,
        executor: Executor | None = None,
        max_retries: int = 2,
        feature_names: Sequence[str] | Mapping[int, str] | None = None,
        return_convergence_delta: bool = False,
    ) -> TensorOrTupleOfTensorsGeneric | tuple[TensorOrTupleOfTensorsGeneric, Tensor]:
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
            distinct masks, the input itself and the baseline among them (so that the
            surrogate is exact there). When ``2^n <= n_samples`` for ``n`` features (and
            ``n <= 30``) the exact transform of all ``2^n`` masks is computed. None picks
            the exact transform when it costs no more than the default sparse design, else
            the budget of a design
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
            f(baseline)`` exactly: the surrogate is exact at the input and the baseline,
            which every run queries) or Banzhaf values (the average removal effect over all
            contexts; they need not sum to it).
        method, cache, cache_key, executor, max_retries, feature_names
            The method, the crash-safe query store, scale-out and names; see
            :meth:`attribute_interactions`.
        return_convergence_delta : bool, default False
            Also return Captum's convergence delta: per example, the sum of the
            attributions minus ``f(x) - f(baseline)`` (both values queried). Shapley values
            give a delta at rounding level; Banzhaf values are not efficient.

        Returns
        -------
        Tensor or tuple of Tensor
            Attributions with the inputs' shapes (a tuple exactly when ``inputs`` is a tuple):
            every element carries the value of its feature. When the forward returns one
            scalar for the whole batch the first dim is 1. The dtype is floating (at least
            float32) and the device is the inputs'. With ``return_convergence_delta``, the
            pair ``(attributions, delta)``, ``delta`` a float64 tensor of one value per
            explained example (one for a batch-aggregating forward).

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
        >>> attr, delta = SpexInteractions(model).attribute(
        ...     (a, b), feature_mask=mask, return_convergence_delta=True)
        >>> bool(delta.abs().max() < 1e-9)  # they sum to f(x) - f(baseline)
        True
        """
        check_params("SpexInteractions.attribute", FRONT_PARAMS, attribution=attribution)
        if not isinstance(return_convergence_delta, bool):
            raise TypeError(
                "The 'return_convergence_delta' parameter of SpexInteractions.attribute must "
                f"be a bool; got {type(return_convergence_delta).__name__}."
            )
        is_tuple, games, results = self._explain(
            "SpexInteractions.attribute",
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
            {"method": method, "cache": cache, "executor": executor, "max_retries": max_retries}
            | {"cache_key": cache_key}
            | {"options": {"target_r2": target_r2, "max_seconds": max_seconds}},
            feature_names,
        )
        per_input: list[list[Tensor]] = [[] for _ in games[0].inputs]
        deltas: list[float] = []
        for game, inter in zip(games, results):
            values = inter.shapley_values() if attribution == "shapley" else inter.banzhaf_values()
            d = inter.diagnostics
            deltas.append(float(values.sum()) - (d["value_full"] - d["value_baseline"]))
            for j, (x, group) in enumerate(zip(game.inputs, game.groups)):
                vals = torch.as_tensor(values, dtype=attr_dtype(x), device=x.device)
                per_input[j].append(vals[group].reshape((1,) + tuple(x.shape[1:])))
        attrs = tuple(torch.cat(parts, dim=0) for parts in per_input)
        out = _format_output(is_tuple, attrs)
        if return_convergence_delta:
            device = games[0].inputs[0].device
            return out, torch.tensor(deltas, dtype=torch.float64, device=device)
        return out

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
        method: str = DEFAULT_METHOD,
        cache: str | os.PathLike[str] | None = None,
        cache_key: str | None = None,
        target_r2: float | None = None,
        max_seconds: float | None = None,
        executor: Executor | None = None,
        max_retries: int = 2,
        feature_names: Sequence[str] | Mapping[int, str] | None = None,
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
        method : str, default "auto"
            A registered method, as in :func:`captum_spex.spex`: "auto" (the SPEX design,
            a low-order screen and boosted trees, one cross-validated sparse fit), "spex"
            (the SPEX decoder alone) or "proxy" (ProxySPEX: boosted trees on uniform masks).
        cache : str or os.PathLike, optional
            SQLite file of finished model queries, keyed by the content of the model (code,
            closure, parameters, buffers, attributes, train/eval mode), the example, its
            baselines, target, extra arguments (by value) and feature groups, and the mask.
            Each batch is committed as it finishes; a rerun resumes and makes only the
            missing model calls. A forward whose content cannot be proven raises a
            ``ValueError`` that asks for ``cache_key``. See :func:`captum_spex.spex`.
        cache_key : str, optional
            Your name for what the cache cannot prove (e.g. ``"resnet-v3"``); change it
            whenever the model or anything it reads changes. Everything provable still
            counts, so another input or a changed model still misses the store.
        executor : concurrent.futures.Executor, optional
            Spread the batches of forward calls over an executor (thread/process pool,
            ``distributed.Client(...).get_executor()``). Results are bit-identical to a serial
            run. Wrap the model in :class:`captum_spex.distributed.ModelFactory` so each
            worker builds it once.
        target_r2, max_seconds : float, optional
            Anytime explanations with the default method: query in doubling rounds and stop
            at this cross-validated R² estimate (or before a round that would overrun
            ``max_seconds``); see :func:`captum_spex.spex`. ``n_samples`` stays the cap.
        max_retries : int, default 2
            With an executor, how often a failed batch is resubmitted.
        feature_names : sequence of str or mapping of int to str, optional
            Names of the features for the result, its ``top()`` terms and plots: one per
            feature in the order of the sorted feature-mask ids, or a mapping from
            feature-mask id to name (ids it lacks keep ``"feature <id>"``). By default
            each feature is named after its id, ``"feature <id>"``.

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
            "SpexInteractions.attribute_interactions",
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
            {"method": method, "cache": cache, "executor": executor, "max_retries": max_retries}
            | {"cache_key": cache_key}
            | {"options": {"target_r2": target_r2, "max_seconds": max_seconds}},
            feature_names,
        )
        return results[0] if len(results) == 1 else results

    # ------------------------------------------------------------------ the shared run
    def _explain(
        self,
        caller: str,
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
        feature_names: Any = None,
    ) -> tuple[bool, list[Game], list[Interactions]]:
        is_tuple, inputs_tuple, batch = check_inputs(inputs, caller)
        names = _check_names(feature_names, caller)
        scale = dict(scale)
        options = scale.pop("options", {})
        p = check_params(
            caller,
            FRONT_PARAMS,
            max_degree=max_degree,
            perturbations_per_eval=perturbations_per_eval,
            seed=seed,
            n_samples=n_samples,
            show_progress=show_progress,
            **scale,
        )
        baselines = check_baselines(baselines, inputs_tuple, caller)
        target = check_target(target, batch, caller)
        masks = check_feature_mask(feature_mask, inputs_tuple, batch, caller)
        warn_if_no_batch_dim(inputs_tuple, feature_mask, caller)
        warn_if_training(self.forward_func, caller)
        args = _format_additional_forward_args(additional_forward_args)
        ppe = p["perturbations_per_eval"]
        runner = Runner.from_params(
            caller,
            p,
            options=options,
            batch_size=ppe * max(1, _MASKS_PER_CALL // ppe),
            desc=f"{self.get_name()} attribution",
            masks_per_unit=ppe,
        )
        with torch.no_grad():
            inputs_tuple, base = _format_input_baseline(inputs_tuple, baselines)
            base = tuple(
                b.to(device=x.device, dtype=x.dtype)
                for b, x in zip(_tensorize_baseline(inputs_tuple, base), inputs_tuple)
            )
            games = example_games(inputs_tuple, base, masks, target, args, batch)
            for game in games:  # every budget is checked before the first model call
                if game.n_features == 0:
                    raise ValueError(
                        f"The 'inputs' parameter of {caller} has no elements to attribute "
                        "(every input tensor is empty)."
                    )
                runner.prepare(game.n_features)
                _game_names(names, game.feature_ids, caller)  # a wrong length fails here
            n_initial = 0
            if batch > 1:  # find the output mode, as Captum's perturbation methods do
                n_initial = 1
                if aggregate_mode(
                    self.forward_func, inputs_tuple, target, args, batch, ppe, caller
                ):
                    games = [joint_game(inputs_tuple, base, masks, target, args, caller)]
            jobs = [self._job(game, ppe, runner.batch_size, names, caller) for game in games]
            results = runner.run(jobs, n_initial)
        return is_tuple, games, results

    def _job(self, game: Game, ppe: int, batch_size: int, names: Any, caller: str) -> Job:
        """The runner's job for one game."""

        def value_function(report: Callable[[int], None] | None) -> PerturbedValueFunction:
            return PerturbedValueFunction(self.forward_func, game, ppe, report)

        def diagnostics(run: Mapping[str, Any], n_queries: int) -> dict[str, Any]:
            # forward calls: the fresh masks go out in blocks of batch_size, ppe per call
            fresh = n_queries - int(run.get("n_from_cache", 0))
            full, rest = divmod(fresh, batch_size)
            calls = full * (batch_size // ppe) + -(-rest // ppe)
            return {
                "feature_ids": list(game.feature_ids),
                "example_index": game.example_index,
                "n_forward_calls": calls,
            }

        identity = (  # by content; perturbations_per_eval cannot change a value
            "SpexInteractions",
            model_identity(self.forward_func),
            game.inputs,
            game.baselines,
            game.groups,
            Part("target", game.target),
            Part("additional_forward_args", game.additional_forward_args),
            game.example_index is None,
        )
        return Job(
            game.n_features,
            value_function,
            identity,
            feature_names=_game_names(names, game.feature_ids, caller),
            diagnostics=diagnostics,
        )


def _check_names(names: Any, caller: str) -> Sequence[str] | Mapping[int, str] | None:
    """``feature_names`` as given, its type and items checked (lengths per game later)."""
    if names is None:
        return None
    where = f"The 'feature_names' parameter of {caller}"
    if isinstance(names, Mapping):
        for key, value in names.items():
            if isinstance(key, bool) or not isinstance(key, int) or not isinstance(value, str):
                raise TypeError(
                    f"{where} must map int feature-mask ids to str names; got {key!r}: {value!r}."
                )
        return dict(names)
    if isinstance(names, (str, bytes)) or not isinstance(names, Sequence):
        raise TypeError(
            f"{where} must be a sequence of str or a mapping of id to str; got "
            f"{type(names).__name__}."
        )
    if not all(isinstance(v, str) for v in names):
        raise TypeError(f"{where} must hold str names only.")
    return list(names)


def _game_names(names: Any, ids: Sequence[int], caller: str) -> list[str]:
    """One name per feature of a game, in sorted-id order."""
    if names is None:
        return [f"feature {i}" for i in ids]
    if isinstance(names, dict):
        return [names.get(int(i), f"feature {i}") for i in ids]
    if len(names) != len(ids):
        raise ValueError(
            f"The 'feature_names' parameter of {caller} must give one name per feature "
            f"({len(ids)}, in the order of the sorted feature-mask ids); got {len(names)}."
        )
    return list(names)
