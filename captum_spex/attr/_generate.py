"""Generate the target answer to explain, greedily by default (as Captum's
``LLMAttribution`` does)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from .._validation import Int, check_param
from ._lm import as_ids, get_logits, model_device

__all__ = ["DEFAULT_GEN_ARGS", "generate_target"]

#: Greedy decoding of 25 new tokens, as Captum's ``LLMAttribution`` generates a target.
DEFAULT_GEN_ARGS: dict[str, Any] = {
    "max_new_tokens": 25,
    "do_sample": False,
    "temperature": None,
    "top_p": None,
}


def generate_target(
    model: Any,
    prompt_ids: Tensor | Sequence[int],
    gen_args: Mapping[str, Any] | None = None,
) -> Tensor:
    """Generate a target continuation of a prompt, greedily by default.

    Uses ``model.generate`` (Hugging Face) with :data:`DEFAULT_GEN_ARGS` updated by
    ``gen_args`` (25 new tokens, greedy, as Captum's ``LLMAttribution``), and returns the new
    tokens only. A model without ``generate`` gets a plain greedy loop without KV cache (only
    ``max_new_tokens`` of ``gen_args`` is used then); it stops after
    ``model.config.eos_token_id`` when there is one.

    Parameters
    ----------
    model : torch.nn.Module
        A causal language model.
    prompt_ids : Tensor or sequence of int
        The prompt, 1-D (or ``(1, L)``).
    gen_args : mapping, optional
        Keyword arguments for ``model.generate``, overriding the defaults.

    Returns
    -------
    torch.Tensor
        The generated token ids, 1-D int64 on the CPU (it may end with EOS).

    Examples
    --------
    >>> import torch
    >>> from captum_spex.attr.scoring import generate_target
    >>> class Next(torch.nn.Module):  # always predicts (current id + 1) mod 5
    ...     def forward(self, input_ids, attention_mask=None):
    ...         logits = torch.nn.functional.one_hot((input_ids + 1) % 5, 5).float()
    ...         return type("Out", (), {"logits": logits})()
    >>> generate_target(Next(), [0, 1], gen_args={"max_new_tokens": 3})
    tensor([2, 3, 4])
    """
    where = "generate_target"
    prompt = as_ids(prompt_ids, "prompt_ids", where, allow_empty=False)
    if gen_args is not None and not isinstance(gen_args, Mapping):
        raise TypeError(
            f"The 'gen_args' parameter of {where} must be a dict; got {type(gen_args).__name__}."
        )
    args = {**DEFAULT_GEN_ARGS, **(gen_args or {})}
    device = model_device(model)
    ids = prompt[None].to(device)
    with torch.inference_mode():
        if callable(getattr(model, "generate", None)):
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **args)
            return out[0, prompt.numel() :].detach().cpu().to(torch.int64)
        n_new = check_param(args.get("max_new_tokens", 25), "max_new_tokens", Int(1), where)
        eos = getattr(getattr(model, "config", None), "eos_token_id", None)
        eos_ids = set(eos if isinstance(eos, (list, tuple)) else [] if eos is None else [eos])
        new: list[int] = []
        for _ in range(n_new):
            logits = get_logits(model(input_ids=ids, attention_mask=torch.ones_like(ids)))
            nxt = int(logits[0, -1].argmax())
            new.append(nxt)
            if nxt in eos_ids:
                break
            ids = torch.cat([ids, torch.tensor([[nxt]], device=device)], dim=1)
    return torch.tensor(new, dtype=torch.int64)
