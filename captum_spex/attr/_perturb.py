"""The perturbation game behind ``SpexInteractions``: which input elements form each feature,
and the value function that sets removed features to their baselines and runs the forward."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ._compat import _expand_additional_forward_args, _expand_target, _run_forward, _select_targets

__all__ = [
    "Game",
    "PerturbedValueFunction",
    "aggregate_mode",
    "attr_dtype",
    "example_games",
    "forward_select",
    "joint_game",
]

_NO_FUTURES = "SpexInteractions does not support forward functions that return Futures."


@dataclass
class Game:
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


def attr_dtype(inp: Tensor) -> torch.dtype:
    if inp.is_floating_point():
        return torch.promote_types(inp.dtype, torch.float32)
    return torch.float32


class PerturbedValueFunction:
    """The value function handed to ``spex()``: masks -> forward outputs, ppe masks a call."""

    def __init__(
        self, forward_func: Callable, game: Game, ppe: int, report: Callable[[int], None] | None
    ) -> None:
        self.forward_func = forward_func
        self.game = game
        self.ppe = ppe
        self.report = report
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
            out = forward_select(self.forward_func, tuple(perturbed), target, args)
            self.n_forwards += 1
            if self.report is not None:
                self.report(1)
            values.append(_forward_values(out, k, self.ppe))
        return torch.cat(values).cpu().numpy()


def forward_select(
    forward_func: Any,
    inputs: tuple[Tensor, ...],
    target: Any,
    args: Any,
    caller: str = "SpexInteractions.attribute",
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
            f"The 'target' parameter of {caller} ({target!r}) does not index "
            f"the forward's output of shape {tuple(out.shape)}: {exc}"
        ) from exc


def _forward_values(out: Any, k: int, ppe: int) -> Tensor:
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


def aggregate_mode(
    forward_func: Any,
    inputs: tuple[Tensor, ...],
    target: Any,
    args: Any,
    batch: int,
    ppe: int,
    caller: str,
) -> bool:
    """One forward on the unperturbed batch: one scalar per batch, or per example?"""
    out = forward_select(forward_func, inputs, target, args, caller)
    if isinstance(out, torch.futures.Future):
        raise TypeError(_NO_FUTURES)
    numel = 1 if isinstance(out, numbers.Real) else getattr(out, "numel", lambda: -1)()
    if numel == 1:
        if ppe != 1:
            raise ValueError(
                f"The 'perturbations_per_eval' parameter of {caller} "
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


def joint_game(
    inputs: tuple[Tensor, ...],
    baselines: tuple[Tensor, ...],
    masks: tuple[Tensor, ...],
    target: Any,
    args: tuple[Any, ...] | None,
    caller: str,
) -> Game:
    """The whole batch as one set function (a forward that aggregates the batch)."""
    if any(m.shape[0] != 1 for m in masks):
        raise ValueError(
            f"The 'feature_mask' parameter of {caller} must have first "
            "dim 1 (shared by all examples) when forward_func returns one scalar for the "
            "whole batch."
        )
    groups, ids = _groups(masks, inputs)
    return Game(inputs, baselines, groups, ids, target, args, None)


def example_games(
    inputs: tuple[Tensor, ...],
    baselines: tuple[Tensor, ...],
    masks: tuple[Tensor, ...],
    target: Any,
    args: tuple[Any, ...] | None,
    batch: int,
) -> list[Game]:
    """One set function per example."""
    games = []
    for i in range(batch):
        xs = tuple(x[i : i + 1] for x in inputs)
        groups, ids = _groups(tuple(m[i : i + 1] if m.shape[0] > 1 else m for m in masks), xs)
        games.append(
            Game(
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
