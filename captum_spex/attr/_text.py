"""Captum's text inputs (``TextTemplateInput``, ``TextTokenInput``) as SPEX features: the
masked prompts, the feature labels, and what identifies an input for the query store."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch
from captum.attr import TextTemplateInput, TextTokenInput
from torch import Tensor

__all__ = ["feature_labels", "masked_prompts"]


def masked_prompts(
    inp: TextTemplateInput | TextTokenInput, masks: np.ndarray | None, tokenizer: Any
) -> list[Tensor]:
    """The token ids of the prompt under each mask row (None: the full prompt)."""
    if isinstance(inp, TextTokenInput):
        perturbed = None if masks is None else torch.as_tensor(masks, dtype=torch.long)
        ids = inp.to_model_input(perturbed)
        return list(ids.detach().cpu())
    rows = [None] if masks is None else [torch.as_tensor(m[None]) for m in masks]
    prompts = []
    for row in rows:  # TextTemplateInput.to_model_input reads row 0 only
        text = inp.to_model_input(row)
        if isinstance(text, str):
            ids = tokenizer.encode(text, return_tensors="pt")
        elif isinstance(text, Tensor):
            ids = text
        else:
            raise TypeError(
                "The template of 'inp' must produce a str (or a tensor of token ids); got "
                f"{type(text).__name__}."
            )
        ids = ids.reshape(-1)
        if ids.numel() == 0:
            raise ValueError(
                "A masked prompt is empty (every feature removed and no fixed text): add "
                "fixed text or a BOS token to the template of 'inp'."
            )
        prompts.append(ids)
    return prompts


def feature_labels(inp: TextTemplateInput | TextTokenInput) -> tuple[list[str], list[Any]]:
    """Feature names (the text of each interpretable feature) and their mask ids."""
    n = int(inp.n_itp_features)
    if isinstance(inp, TextTokenInput):
        return [str(v) for v in inp.values], list(range(n))
    keys = list(getattr(inp, "dict_keys", []) or [])
    labels = keys if keys else [str(v).strip() for v in inp.values]
    mask = getattr(inp, "mask", None)
    if mask is None:
        return labels, list(range(n))
    formatted = list(inp.formatted_mask)
    members: list[list[str]] = [[] for _ in range(n)]
    ids: list[Any] = [None] * n
    for raw_i, itp in enumerate(formatted):
        members[itp].append(labels[raw_i])
        mid = mask[raw_i]
        ids[itp] = int(mid) if isinstance(mid, numbers.Integral) else str(mid)
    sep = "+" if keys else " "
    return [sep.join(m) for m in members], ids
