"""Plumbing shared by the language-model code: token ids, the model's device, its forward's
keyword arguments and the pieces of its output."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = ["as_ids", "forward_params", "get_cache", "get_logits", "model_device"]


def as_ids(ids: Any, name: str, where: str, *, allow_empty: bool) -> Tensor:
    """A 1-D int64 CPU tensor of token ids, from a tensor, array or sequence of ints."""
    if isinstance(ids, Tensor):
        t = ids.detach().cpu()
    else:
        try:
            t = torch.as_tensor(np.asarray(ids))
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"The '{name}' parameter of {where} must hold token ids (ints); got "
                f"{type(ids).__name__}."
            ) from exc
    if t.dim() == 2 and t.shape[0] == 1:
        t = t[0]
    if t.dim() != 1:
        raise ValueError(
            f"The '{name}' parameter of {where} must be a 1-D sequence of token ids (or shape "
            f"(1, L)); got shape {tuple(t.shape)}."
        )
    if t.numel() and (t.dtype.is_floating_point or t.dtype.is_complex or t.dtype == torch.bool):
        raise TypeError(
            f"The '{name}' parameter of {where} must hold integer token ids; got dtype {t.dtype}."
        )
    if not allow_empty and t.numel() == 0:
        raise ValueError(f"The '{name}' parameter of {where} must not be empty.")
    return t.to(torch.int64)


def model_device(model: Any) -> torch.device:
    dev = getattr(model, "device", None)
    if isinstance(dev, torch.device):
        return dev
    try:
        return next(model.parameters()).device
    except (AttributeError, StopIteration):
        return torch.device("cpu")


def forward_params(model: Any) -> set[str]:
    try:
        return set(inspect.signature(model.forward).parameters)
    except (TypeError, ValueError, AttributeError):
        return set()


def get_logits(out: Any) -> Tensor:
    logits = out.logits if hasattr(out, "logits") else out[0]
    if logits.dim() == 4:  # (B, 1, L, V) from heads with several returns (Llama 4, Medusa)
        logits = logits[:, 0]
    return logits


def get_cache(out: Any) -> Any:
    if isinstance(out, Mapping):
        for key in ("cache", "past_key_values"):
            if out.get(key) is not None:
                return out[key]
    return None
