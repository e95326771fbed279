"""Captum's argument forms, checked before any model call: inputs, baselines, feature masks
and targets, with errors that name the argument and the real caller."""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import torch
from torch import Tensor

from ._compat import _format_feature_mask, _is_mask_valid

__all__ = [
    "check_inputs",
    "check_baselines",
    "check_feature_mask",
    "check_target",
    "warn_if_no_batch_dim",
    "warn_if_training",
]


def check_inputs(inputs: Any, caller: str) -> tuple[bool, tuple[Tensor, ...], int]:
    """Return (is_tuple, inputs as a tuple, batch size)."""
    is_tuple = isinstance(inputs, tuple)
    tup = inputs if is_tuple else (inputs,)
    if len(tup) == 0 or not all(isinstance(t, Tensor) for t in tup):
        raise TypeError(
            f"The 'inputs' parameter of {caller} must be a Tensor or a "
            f"non-empty tuple of Tensors; got {type(inputs).__name__}."
        )
    if any(t.dim() == 0 for t in tup):
        raise ValueError(
            f"The 'inputs' parameter of {caller} needs a batch dimension: "
            "every tensor must have at least one dimension."
        )
    sizes = {int(t.shape[0]) for t in tup}
    if len(sizes) != 1 or 0 in sizes:
        raise ValueError(
            f"The 'inputs' parameter of {caller} must hold tensors with the "
            f"same, non-zero batch size (dim 0); got {[tuple(t.shape) for t in tup]}."
        )
    return is_tuple, tup, sizes.pop()


def check_baselines(baselines: Any, inputs: tuple[Tensor, ...], caller: str) -> Any:
    """Validate the Captum baseline forms; 0-d tensors become Python scalars."""
    if baselines is None:
        return None
    forms = baselines if isinstance(baselines, tuple) else (baselines,)
    if len(forms) != len(inputs):
        raise ValueError(
            f"The 'baselines' parameter of {caller} must give one baseline "
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
                f"The 'baselines' parameter of {caller} must hold Tensors "
                f"or numbers; got {type(base).__name__} for input {j}."
            )
        if base.shape[1:] != inp.shape[1:] or base.shape[0] not in (1, inp.shape[0]):
            raise ValueError(
                f"The 'baselines' parameter of {caller}: the baseline of "
                f"input {j} must have the input's shape {tuple(inp.shape)} or batch size 1; "
                f"got {tuple(base.shape)}."
            )
        out.append(base)
    return tuple(out) if isinstance(baselines, tuple) else out[0]


def check_feature_mask(
    feature_mask: Any, inputs: tuple[Tensor, ...], batch: int, caller: str
) -> tuple[Tensor, ...]:
    """Return one integer mask per input, with the input's number of dims, on its device."""
    if feature_mask is None:
        return _format_feature_mask(None, inputs)
    masks = feature_mask if isinstance(feature_mask, tuple) else (feature_mask,)
    if not all(isinstance(m, Tensor) for m in masks):
        raise TypeError(
            f"The 'feature_mask' parameter of {caller} must be a Tensor or "
            f"a tuple of Tensors; got {type(feature_mask).__name__}."
        )
    if len(masks) != len(inputs):
        raise ValueError(
            f"The 'feature_mask' parameter of {caller} must give one mask "
            f"per input tensor ({len(inputs)}); got {len(masks)}."
        )
    out = []
    for j, (mask, inp) in enumerate(zip(masks, inputs)):
        if mask.dtype == torch.bool or mask.is_complex():
            raise TypeError(
                f"The 'feature_mask' parameter of {caller} must hold integer "
                f"feature ids; mask {j} has dtype {mask.dtype}."
            )
        if mask.is_floating_point():  # Captum accepts whole-number floats: so do we
            whole = torch.isfinite(mask) & (mask == torch.round(mask))
            if not bool(whole.all()) or bool((mask.abs() >= 2.0**53).any()):
                raise ValueError(
                    f"The 'feature_mask' parameter of {caller} must hold integer feature "
                    f"ids; mask {j} ({mask.dtype}) holds values that are not whole numbers."
                )
            mask = mask.to(torch.int64)
        if not _is_mask_valid(mask, inp):
            raise ValueError(
                f"The 'feature_mask' parameter of {caller}: mask {j} of shape "
                f"{tuple(mask.shape)} does not broadcast to its input of shape "
                f"{tuple(inp.shape)} (its first dim must be 1 or the batch size {batch})."
            )
        mask = mask.reshape((1,) * (inp.dim() - mask.dim()) + tuple(mask.shape))
        out.append(mask.to(inp.device))
    return tuple(out)


def warn_if_training(forward_func: Any, caller: str) -> None:
    """Warn when the model (or the module of a bound method) is in training mode with
    dropout or batch-norm layers: its outputs change from call to call, and no explanation
    of a random function is faithful."""
    module = forward_func if isinstance(forward_func, torch.nn.Module) else None
    if module is None and isinstance(getattr(forward_func, "__self__", None), torch.nn.Module):
        module = forward_func.__self__
    if module is None:
        return
    random_layers = (torch.nn.modules.dropout._DropoutNd, torch.nn.modules.batchnorm._BatchNorm)
    active = [
        name or type(m).__name__
        for name, m in module.named_modules()
        if m.training and isinstance(m, random_layers)
    ]
    if active:
        warnings.warn(
            f"{caller}: the model is in training mode, so its dropout / batch-norm layers "
            f"({', '.join(active[:3])}{', ...' if len(active) > 3 else ''}) change its "
            "output from call to call and the explanation cannot be faithful. Call "
            "model.eval() first.",
            UserWarning,
            stacklevel=4,
        )


def warn_if_no_batch_dim(inputs: tuple[Tensor, ...], feature_mask: Any, caller: str) -> None:
    """Warn when every input is 1-D: dim 0 is the batch (Captum's convention), so each
    example would be one scalar, explained as a single feature."""
    if feature_mask is None and all(t.dim() == 1 for t in inputs) and inputs[0].shape[0] > 1:
        size = int(inputs[0].shape[0])
        warnings.warn(
            f"The 'inputs' parameter of {caller} is 1-D: dim 0 is the batch, so this explains "
            f"{size} examples of one feature each. To explain one example of {size} "
            "features, pass inputs.unsqueeze(0).",
            UserWarning,
            stacklevel=4,
        )


def _index(value: numbers.Integral, where: str) -> int:
    """An int that fits a torch index (int64)."""
    value = int(value)
    if not -(1 << 63) <= value < (1 << 63):
        raise ValueError(f"{where}: index {value} does not fit in int64.")
    return value


def check_target(target: Any, batch: int, caller: str) -> Any:
    """Validate Captum's target forms; NumPy integers become Python ints."""
    where = f"The 'target' parameter of {caller}"
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
