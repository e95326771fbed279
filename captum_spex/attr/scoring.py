"""Batched, teacher-forced scoring of a fixed target under many (masked) prompts.

Perturbation explanations of a language model query the same model on thousands of masked
prompts and need, for each, the log-probability of one fixed target continuation. Captum's
``LLMAttribution`` does that one prompt per model call (and, by default, one call per target
token, on a KV-cache path that is wrong with transformers 5). :class:`TeacherForcedScorer`
scores many prompts per forward pass instead:

- each sequence is ``prompt + target``; sequences of different lengths (removed words make
  prompts shorter) are right-padded with an explicit attention mask, so every real token keeps
  its position and sees exactly the tokens it would see alone;
- only the logits that predict target tokens are computed (``logits_to_keep``), never the
  full ``(batch, length, vocabulary)`` tensor;
- the prompts of a batch usually share a prefix (chat template, system prompt, text before
  the first removed word): it is run once, and its KV cache is repeated over the batch;
- prompts are sorted so that a batch shares a long prefix and has little padding, and batches
  are bounded by a token budget, which bounds memory;
- everything runs under ``torch.inference_mode`` with the model's own dtype and device; the
  log-softmax is taken in float32 (at least) and returned as float64.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .._validation import Bool, Int, check_params
from ._generate import DEFAULT_GEN_ARGS, generate_target
from ._lm import as_ids as _as_ids
from ._lm import forward_params as _forward_params
from ._lm import get_cache as _get_cache
from ._lm import get_logits as _get_logits
from ._lm import model_device as _model_device

__all__ = ["TeacherForcedScorer", "score_log_probs", "generate_target", "DEFAULT_GEN_ARGS"]

_SCORER_PARAMS = {
    "batch_size": Int(1),
    "max_batch_tokens": Int(1),
    "share_prefix": Bool(),
    "sort": Bool(),
}
# a shared prefix shorter than this is not worth a separate forward call
_MIN_SHARED_PREFIX = 8


class TeacherForcedScorer:
    r"""Log-probabilities of a fixed target continuation under many prompts, batched.

    For every prompt ``p`` (a sequence of token ids) the scorer computes, in one
    teacher-forced pass over ``p + target``, the log-probability of each target token given
    the prompt and the target tokens before it, and their sum:
    ``[log p(target | p), log p(t_1 | p), ..., log p(t_T | p, t_1..t_{T-1})]``. These are the
    numbers Captum's ``LLMAttribution`` computes one prompt at a time (with
    ``use_cached_outputs=False``), for many prompts per model call.

    Parameters
    ----------
    model : torch.nn.Module
        A causal language model with the Hugging Face interface: ``model(input_ids=...,
        attention_mask=...)`` returns an object with ``.logits`` of shape ``(B, L, V)``.
        ``logits_to_keep`` and a KV cache (``cache`` in transformers 5, ``past_key_values``
        before) are used when the forward accepts them. It is used as it is: put it in eval
        mode (dropout makes the scores random).
    target_ids : Tensor or sequence of int
        The target continuation, ``T >= 1`` token ids.
    batch_size : int, default 32
        The most prompts in one forward call.
    max_batch_tokens : int, default 8192
        The most token positions (rows times padded length) in one forward call; this, and
        the logits kept, bound the activation memory.
    share_prefix : bool, default True
        Run the prefix that all prompts of a batch share once and reuse its KV cache for the
        whole batch. The scores are the same up to float rounding (about 1e-6 in fp32).
    sort : bool, default True
        Reorder the prompts by length, then lexicographically (results are returned in the
        input order), so that batches have little padding and share long prefixes.

    Attributes
    ----------
    n_forward_calls : int
        Model forward calls made so far (prefix passes included).
    n_token_positions : int
        Token positions processed so far (padding included), a proxy for FLOPs.

    Examples
    --------
    >>> import torch
    >>> from captum_spex.attr.scoring import TeacherForcedScorer
    >>> class Uniform(torch.nn.Module):  # a "language model" that predicts uniformly over 4 ids
    ...     def forward(self, input_ids, attention_mask=None):
    ...         return type("Out", (), {"logits": torch.zeros(*input_ids.shape, 4)})()
    >>> scorer = TeacherForcedScorer(Uniform(), target_ids=[1, 2])
    >>> scorer([[0, 3, 3], [0]]).round(4)  # [total, token 1, token 2] per prompt
    array([[-2.7726, -1.3863, -1.3863],
           [-2.7726, -1.3863, -1.3863]])
    """

    def __init__(
        self,
        model: Any,
        target_ids: Tensor | Sequence[int],
        *,
        batch_size: int = 32,
        max_batch_tokens: int = 8192,
        share_prefix: bool = True,
        sort: bool = True,
    ) -> None:
        where = "TeacherForcedScorer"
        if not callable(model):
            raise TypeError(f"The 'model' parameter of {where} must be a callable torch module.")
        self.model = model
        self.target_ids = _as_ids(target_ids, "target_ids", where, allow_empty=False)
        p = check_params(
            where,
            _SCORER_PARAMS,
            batch_size=batch_size,
            max_batch_tokens=max_batch_tokens,
            share_prefix=share_prefix,
            sort=sort,
        )
        self.batch_size = p["batch_size"]
        self.max_batch_tokens = p["max_batch_tokens"]
        params = _forward_params(model)
        self._keep_logits = "logits_to_keep" in params
        self._cache_kw = next((k for k in ("cache", "past_key_values") if k in params), None)
        self.share_prefix = share_prefix and self._cache_kw is not None
        self.sort = sort
        self.device = _model_device(model)
        self._target_dev = self.target_ids.to(self.device)
        self.n_forward_calls = 0
        self.n_token_positions = 0

    # ------------------------------------------------------------------ public
    def __call__(
        self,
        prompts: Sequence[Tensor | Sequence[int]],
        on_batch: Callable[[int], Any] | None = None,
    ) -> np.ndarray:
        """Score ``target_ids`` after each prompt.

        Parameters
        ----------
        prompts : sequence of (Tensor or sequence of int)
            ``N`` prompts, each a non-empty 1-D sequence of token ids (or shape ``(1, L)``);
            lengths may differ.
        on_batch : callable, optional
            Called with the number of prompts after each batch is scored (e.g. a progress
            bar's ``update``).

        Returns
        -------
        numpy.ndarray
            Float64, shape ``(N, 1 + T)``: the total log-probability of the target, then the
            log-probability of each target token.
        """
        where = "TeacherForcedScorer.__call__"
        if isinstance(prompts, (Tensor, np.ndarray)) and prompts.ndim == 2:
            prompts = list(prompts)
        if isinstance(prompts, (str, bytes)) or not isinstance(prompts, Sequence):
            raise TypeError(
                f"The 'prompts' parameter of {where} must be a sequence of token-id sequences; "
                f"got {type(prompts).__name__}."
            )
        ids = [_as_ids(p, "prompts", where, allow_empty=False) for p in prompts]
        out = np.empty((len(ids), 1 + self.target_ids.numel()), dtype=np.float64)
        if not ids:
            return out
        with torch.inference_mode():
            for batch in self._batches(ids):
                out[batch] = self._score_batch([ids[i] for i in batch])
                if on_batch is not None:
                    on_batch(len(batch))
        return out

    # ------------------------------------------------------------------ batching
    def _batches(self, ids: list[Tensor]) -> list[list[int]]:
        n_target = self.target_ids.numel()
        order = list(range(len(ids)))
        if self.sort:
            # by length (little padding), then lexicographically (long shared prefixes)
            keys = [(p.numel(), p.tolist()) for p in ids]
            order.sort(key=keys.__getitem__)
        batches: list[list[int]] = []
        cur: list[int] = []
        cur_max = 0
        for i in order:
            length = ids[i].numel() + n_target
            new_max = max(cur_max, length)
            if cur and (
                len(cur) >= self.batch_size or (len(cur) + 1) * new_max > self.max_batch_tokens
            ):
                batches.append(cur)
                cur, new_max = [], length
            cur.append(i)
            cur_max = new_max
        if cur:
            batches.append(cur)
        return batches

    # ------------------------------------------------------------------ one forward
    def _score_batch(self, prompts: list[Tensor]) -> np.ndarray:
        target = self.target_ids
        n_target = target.numel()
        lengths = [p.numel() for p in prompts]
        n_rows = len(prompts)
        shared = 0
        if self.share_prefix and n_rows > 1:
            shared = _common_prefix(prompts, max(0, min(lengths) - 1))
        cache = None
        if shared >= _MIN_SHARED_PREFIX:
            cache = self._prefix_cache(prompts[0][:shared], n_rows)
        if cache is None:
            shared = 0

        # right-padded suffixes: prompt[shared:] + target, padded with the first target id
        suffix_lens = [n - shared + n_target for n in lengths]
        width = max(suffix_lens)
        pad = int(target[0])
        input_ids = torch.full((n_rows, width), pad, dtype=torch.int64)
        attn = torch.zeros((n_rows, shared + width), dtype=torch.int64)
        attn[:, :shared] = 1
        for r, p in enumerate(prompts):
            s = suffix_lens[r]
            input_ids[r, : s - n_target] = p[shared:]
            input_ids[r, s - n_target : s] = target
            attn[r, shared : shared + s] = 1

        # the logit at suffix position P_r - shared - 1 + j predicts target token j
        first = [n - shared - 1 for n in lengths]
        lo, hi = min(first), max(first) + n_target
        kwargs: dict[str, Any] = {
            "input_ids": input_ids.to(self.device),
            "attention_mask": attn.to(self.device),
        }
        if self._keep_logits:
            kwargs["logits_to_keep"] = torch.arange(lo, hi, device=self.device)
            offset = lo
        else:
            offset = 0
        if cache is not None:
            kwargs[self._cache_kw] = cache
            kwargs["use_cache"] = True
        elif self._cache_kw is not None:
            kwargs["use_cache"] = False
        logits = _get_logits(self.model(**kwargs))
        self.n_forward_calls += 1
        self.n_token_positions += n_rows * width

        rows = torch.arange(n_rows, device=logits.device)[:, None]
        cols = torch.tensor(first, device=logits.device)[:, None] - offset
        cols = cols + torch.arange(n_target, device=logits.device)[None, :]
        picked = logits[rows, cols]  # (B, T, V)
        if picked.dtype not in (torch.float32, torch.float64):
            picked = picked.float()
        log_probs = torch.log_softmax(picked, dim=-1)
        tok = log_probs.gather(-1, self._target_dev.to(logits.device).expand(n_rows, -1)[..., None])
        tok = tok[..., 0].double().cpu().numpy()
        return np.concatenate([tok.sum(axis=1, keepdims=True), tok], axis=1)

    def _prefix_cache(self, prefix: Tensor, n_rows: int) -> Any:
        """The KV cache of ``prefix``, repeated ``n_rows`` times; None if unsupported."""
        kwargs: dict[str, Any] = {
            "input_ids": prefix[None].to(self.device),
            "attention_mask": torch.ones(
                (1, prefix.numel()), dtype=torch.int64, device=self.device
            ),
            "use_cache": True,
        }
        if self._keep_logits:
            kwargs["logits_to_keep"] = 1
        out = self.model(**kwargs)
        self.n_forward_calls += 1
        self.n_token_positions += prefix.numel()
        cache = _get_cache(out)
        if cache is None or not hasattr(cache, "batch_repeat_interleave"):
            self.share_prefix = False  # e.g. a legacy tuple cache: do not try again
            return None
        cache.batch_repeat_interleave(n_rows)
        return cache


def _common_prefix(prompts: list[Tensor], limit: int) -> int:
    """Length of the longest prefix shared by all prompts, at most ``limit``."""
    if limit <= 0:
        return 0
    ref = prompts[0][:limit]
    same = torch.ones(limit, dtype=torch.bool)
    for p in prompts[1:]:
        same &= p[:limit] == ref
    diff = torch.nonzero(~same)
    return int(diff[0, 0]) if diff.numel() else limit


def score_log_probs(
    model: Any,
    prompts: Sequence[Tensor | Sequence[int]],
    target_ids: Tensor | Sequence[int],
    *,
    batch_size: int = 32,
    max_batch_tokens: int = 8192,
    share_prefix: bool = True,
) -> np.ndarray:
    """Log-probabilities of ``target_ids`` after each prompt; see :class:`TeacherForcedScorer`.

    Parameters
    ----------
    model : torch.nn.Module
        A Hugging Face style causal language model.
    prompts : sequence of (Tensor or sequence of int)
        ``N`` non-empty prompts of token ids; lengths may differ.
    target_ids : Tensor or sequence of int
        The ``T >= 1`` target token ids.
    batch_size, max_batch_tokens, share_prefix
        As in :class:`TeacherForcedScorer`.

    Returns
    -------
    numpy.ndarray
        Float64 ``(N, 1 + T)``: total log-probability, then one column per target token.

    Examples
    --------
    >>> import torch
    >>> from captum_spex.attr.scoring import score_log_probs
    >>> class Bigram(torch.nn.Module):  # next-token logits depend on the current token only
    ...     def forward(self, input_ids, attention_mask=None):
    ...         logits = torch.nn.functional.one_hot(input_ids, 3).float() * 2.0
    ...         return type("Out", (), {"logits": logits})()
    >>> score_log_probs(Bigram(), [[0], [1, 2]], [2]).round(3)
    array([[-2.24, -2.24],
           [-0.24, -0.24]])
    """
    scorer = TeacherForcedScorer(
        model,
        target_ids,
        batch_size=batch_size,
        max_batch_tokens=max_batch_tokens,
        share_prefix=share_prefix,
    )
    return scorer(prompts)
