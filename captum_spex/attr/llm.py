"""``LLMSpexAttribution``: SPEX interactions of a prompt's parts for a language model's answer."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from copy import copy
from typing import Any, Literal

import numpy as np
import torch
from captum.attr import (
    Attribution,
    LLMAttribution,
    TextTemplateInput,
    TextTokenInput,
)
from torch import Tensor

from .._validation import Int, check_params
from ..engine.methods import DEFAULT_METHOD
from ..store import Part
from ._compat import _convert_ids_to_pretty_tokens
from ._generate import generate_target
from ._lm import as_ids as _as_ids
from ._lm import model_device as _model_device
from ._runner import FRONT_PARAMS, Job, Runner, model_identity
from ._text import feature_labels, masked_prompts
from .llm_result import LLMSpexAttributionResult
from .scoring import TeacherForcedScorer
from .spex_interactions import SpexInteractions

__all__ = ["LLMSpexAttribution", "LLMSpexAttributionResult"]

_WHERE = "LLMSpexAttribution.attribute"
_PARAMS = {**FRONT_PARAMS, "max_batch_tokens": Int(1)}
# masks handed to the scorer at once (it sorts them by length within the chunk); with a
# cache, each chunk is committed when it finishes
_MASKS_PER_CALL = 1024


class LLMSpexAttribution(LLMAttribution):
    r"""SPEX interactions between the parts of a prompt, for a language model's answer.

    Explains the log-probability of a target answer (or a generated one) as a sparse set of
    interactions between the prompt's interpretable features: the values (or mask groups) of
    a :class:`~captum.attr.TextTemplateInput`, or the tokens of a
    :class:`~captum.attr.TextTokenInput`. Like Captum's :class:`~captum.attr.LLMAttribution`
    it returns an :class:`~captum.attr.LLMAttributionResult` (``seq_attr``, ``token_attr``,
    plots), here with first-order SPEX values (Shapley by default), plus the interactions
    themselves for the whole answer and for each of its tokens.

    It does not use Captum's forward: every masked prompt is built with
    ``inp.to_model_input`` (one mask row at a time for templates), tokenized as Captum does,
    and scored by :class:`~captum_spex.attr.scoring.TeacherForcedScorer`, which runs many
    prompts per forward pass with right padding, computes only the logits of the target
    positions and shares the prompts' common prefix through the KV cache. The scores equal
    those of ``LLMAttribution(...)`` with ``use_cached_outputs=False`` (up to float rounding).

    Parameters
    ----------
    attr_method : SpexInteractions
        ``SpexInteractions(model)`` with a Hugging Face style causal language model.
    tokenizer : TokenizerLike
        The model's tokenizer (``encode``, ``decode``, ``convert_ids_to_tokens``, ...); a
        fast tokenizer gives the nicest ``output_tokens``.
    attr_target : {"log_prob", "prob"}, default "log_prob"
        Explain the log-probability of the target, or its probability.

    Examples
    --------
    >>> import torch
    >>> from captum.attr import TextTemplateInput
    >>> from captum_spex.attr import SpexInteractions
    >>> from captum_spex.attr.llm import LLMSpexAttribution
    >>> from captum_spex.models import load_smollm2
    >>> model, tokenizer = load_smollm2()  # doctest: +SKIP
    >>> inp = TextTemplateInput("{} lives in {}. {} is the capital of", ["Paris", "France",
    ...                         "Paris"], mask=[0, 1, 0])
    >>> llm_spex = LLMSpexAttribution(SpexInteractions(model), tokenizer)  # doctest: +SKIP
    >>> res = llm_spex.attribute(inp, target=" France")  # doctest: +SKIP
    >>> res.seq_attr, res.interactions.top(3)  # doctest: +SKIP
    """

    SUPPORTED_METHODS = (SpexInteractions,)
    SUPPORTED_PER_TOKEN_ATTR_METHODS = (SpexInteractions,)
    SUPPORTED_INPUTS = (TextTemplateInput, TextTokenInput)

    def __init__(
        self,
        attr_method: SpexInteractions,
        tokenizer: Any,
        attr_target: Literal["log_prob", "prob"] = "log_prob",
    ) -> None:
        if not isinstance(attr_method, self.SUPPORTED_METHODS):
            raise TypeError(
                "The 'attr_method' parameter of LLMSpexAttribution must be a SpexInteractions "
                f"instance; got {type(attr_method).__name__}."
            )
        model = attr_method.forward_func
        if not isinstance(model, torch.nn.Module):
            raise TypeError(
                "The 'attr_method' parameter of LLMSpexAttribution must wrap a language model "
                f"(a torch.nn.Module), not {type(model).__name__}: it needs model.forward."
            )
        for name in ("encode", "decode", "convert_ids_to_tokens"):
            if not callable(getattr(tokenizer, name, None)):
                raise TypeError(
                    f"The 'tokenizer' parameter of LLMSpexAttribution must have a callable "
                    f"'{name}' method; got {type(tokenizer).__name__}."
                )
        if attr_target not in ("log_prob", "prob"):
            raise ValueError(
                "The 'attr_target' parameter of LLMSpexAttribution must be 'log_prob' or "
                f"'prob'; got {attr_target!r}."
            )
        # LLMAttribution.__init__ would replace attr_method's forward with Captum's
        # one-mask-per-call wrapper; the attributes it sets are set here directly.
        Attribution.__init__(self, model)
        self.model = model
        self.tokenizer = tokenizer
        self.device = _model_device(model)
        self.attr_method = copy(attr_method)
        self.include_per_token_attr = True
        self.attr_target = attr_target

    @classmethod
    def get_name(cls) -> str:
        """The name shown in progress bars: ``"LLM SPEX"``."""
        return "LLM SPEX"

    # ------------------------------------------------------------------ attribute
    def attribute(  # type: ignore[override]
        self,
        inp: TextTemplateInput | TextTokenInput,
        target: str | Tensor | Sequence[int] | None = None,
        n_samples: int | None = None,
        max_degree: int = 5,
        seed: int = 0,
        show_progress: bool = False,
        batch_size: int = 32,
        gen_args: Mapping[str, Any] | None = None,
        *,
        max_batch_tokens: int = 8192,
        attribution: Literal["shapley", "banzhaf"] = "shapley",
        cache: str | os.PathLike[str] | None = None,
        cache_key: str | None = None,
        target_r2: float | None = None,
        max_seconds: float | None = None,
        method: str = DEFAULT_METHOD,
        executor: Executor | None = None,
        max_retries: int = 2,
    ) -> LLMSpexAttributionResult:
        r"""Explain the target answer by SPEX over the prompt's interpretable features.

        Parameters
        ----------
        inp : TextTemplateInput or TextTokenInput
            The prompt. Its interpretable features (template values, or their ``mask``
            groups; or tokens, minus ``skip_tokens``) are the features; a removed feature
            takes its baseline (removal, ``""``, by default for templates; the baseline
            token id for ``TextTokenInput``).
        target : str, Tensor or sequence of int, optional
            The answer to explain: a string (encoded with ``add_special_tokens=False``, as
            Captum does) or token ids. None generates it from the full prompt with
            ``gen_args`` (greedy, 25 new tokens by default).
        n_samples : int, optional
            The query budget (model evaluations of distinct masks, the whole input and
            the baseline among them). With ``2^n <=
            n_samples`` for ``n`` features the exact transform is computed from all ``2^n``
            masks. None picks the exact transform when it costs no more than the default
            sparse design, else that design (e.g. 13,752 queries for 40 features with
            ``max_degree=5``; at a few masks per second on a CPU, pass a smaller budget).
        max_degree : int, default 5
            The largest interaction order recovered.
        seed : int, default 0
            Seed of the query design.
        show_progress : bool, default False
            Show a progress bar ("LLM SPEX attribution") over the masks scored.
        batch_size : int, default 32
            The most masked prompts in one model forward call.
        gen_args : mapping, optional
            Arguments of ``model.generate`` when ``target`` is None (they update the greedy
            defaults). Must be None when ``target`` is given.
        max_batch_tokens : int, default 8192
            The most token positions (prompts times padded length) in one forward call.
        attribution : {"shapley", "banzhaf"}, default "shapley"
            The first-order index reported in ``seq_attr`` and ``token_attr``.
        cache : str or os.PathLike, optional
            SQLite file of finished queries (see :func:`captum_spex.spex`), keyed by the
            content of the model (weights, buffers, attributes, mode), the tokenizer, the
            input (template, values, baselines, mask), the target and ``attr_target``. Masks
            are committed 1,024 at a time; a rerun after a crash scores only the missing
            ones.
        cache_key : str, optional
            Your name for what the cache cannot prove (a ``ValueError`` says when one is
            needed); change it whenever the model changes. Everything provable still counts.
        method : str, default "auto"
            A registered method, as in :func:`captum_spex.spex`: "auto" (the SPEX design,
            a low-order screen and boosted trees, one cross-validated sparse fit), "spex"
            (the SPEX decoder alone) or "proxy" (ProxySPEX).
        executor : concurrent.futures.Executor, optional
            Score the batches of masked prompts on an executor (see
            :func:`captum_spex.spex`). The scoring closure holds the model, so use a thread
            pool (several models on one machine: one explainer each) or, for processes and
            Dask, :class:`~captum_spex.attr.SpexInteractions` with a
            :class:`~captum_spex.distributed.ModelFactory`.
        target_r2, max_seconds : float, optional
            Anytime explanations with the default method: score masks in doubling rounds
            and stop at this cross-validated R² estimate of the whole answer's surrogate
            (or before a round that would overrun ``max_seconds``); see
            :func:`captum_spex.spex`. ``n_samples`` stays the cap.
        max_retries : int, default 2
            With an executor, how often a failed batch is resubmitted.

        Returns
        -------
        LLMSpexAttributionResult
            ``seq_attr`` (one value per input value of ``inp``, mask groups scattered back
            with ``inp.format_attr``), ``token_attr`` (``(T, n_values)``), ``output_probs``
            (the probability of each target token under the full prompt), ``interactions``
            (whole target), ``token_interactions`` (one per target token) and
            ``raw_interactions``. Feature ``i`` of the interactions is interpretable
            feature ``i`` of ``inp``; ``feature_names`` are its text (the values of its
            group joined, or the dict keys), ``diagnostics["feature_ids"]`` the mask ids.

        Raises
        ------
        TypeError, ValueError
            For an invalid argument, with the argument's name.
        """
        inp = self._check_inp(inp)
        n_features = int(inp.n_itp_features)
        if n_features < 1:
            raise ValueError(f"The 'inp' parameter of {_WHERE} has no interpretable features.")
        p = check_params(
            _WHERE,
            _PARAMS,
            n_samples=n_samples,
            max_degree=max_degree,
            seed=seed,
            batch_size=batch_size,
            max_batch_tokens=max_batch_tokens,
            show_progress=show_progress,
            attribution=attribution,
            cache=cache,
            cache_key=cache_key,
            method=method,
            executor=executor,
            max_retries=max_retries,
        )
        runner = Runner.from_params(
            _WHERE,
            p,
            options={"target_r2": target_r2, "max_seconds": max_seconds},
            batch_size=_MASKS_PER_CALL,
            desc=f"{self.get_name()} attribution",
            unit="mask",
        )
        runner.prepare(n_features)  # budget errors before any model call
        masked_prompts(inp, np.zeros((1, n_features), dtype=bool), self.tokenizer)  # not empty
        if getattr(self.model, "training", False):
            warnings.warn(
                "The model is in training mode: dropout makes the scores random. Call "
                "model.eval() first.",
                UserWarning,
                stacklevel=2,
            )
        target_ids = self._target_ids(inp, target, gen_args)
        scorer = TeacherForcedScorer(
            self.model,
            target_ids,
            batch_size=p["batch_size"],
            max_batch_tokens=p["max_batch_tokens"],
        )
        job, full_logp = self._job(inp, scorer, target_ids)
        (raw,) = runner.run([job])
        if "value" not in full_logp:  # the design did not include the full prompt
            full_logp["value"] = scorer(masked_prompts(inp, None, self.tokenizer))[0]
        n_out = raw.n_outputs
        if p["attribution"] == "shapley":
            per = [raw.shapley_values(output=j) for j in range(n_out)]
        else:
            per = [raw.banzhaf_values(output=j) for j in range(n_out)]
        attr = torch.tensor(np.stack(per), dtype=torch.float32, device=self.device)
        attr = inp.format_attr(attr)
        output_tokens = _convert_ids_to_pretty_tokens(target_ids, self.tokenizer)
        return LLMSpexAttributionResult(
            seq_attr=attr[0],
            token_attr=attr[1:],
            input_tokens=list(inp.values),
            output_tokens=output_tokens,
            output_probs=torch.tensor(np.exp(full_logp["value"][1:]), dtype=torch.float32),
            inp=inp,
            raw_interactions=raw,
        )

    def _job(
        self, inp: TextTemplateInput | TextTokenInput, scorer: TeacherForcedScorer, target_ids
    ) -> tuple[Job, dict[str, np.ndarray]]:
        """The runner's job, and where the full prompt's log-probs land when scored."""
        full_logp: dict[str, np.ndarray] = {}

        def make(report: Callable[[int], None] | None) -> Callable[[np.ndarray], np.ndarray]:
            def value_function(masks: np.ndarray) -> np.ndarray:
                vals = scorer(masked_prompts(inp, masks, self.tokenizer), on_batch=report)
                full = np.flatnonzero(masks.all(axis=1))
                if full.size:
                    full_logp["value"] = vals[full[0]]
                return np.exp(vals) if self.attr_target == "prob" else vals

            return value_function

        names, ids = feature_labels(inp)

        def diagnostics(run: Mapping[str, Any], n_queries: int) -> dict[str, Any]:
            return {
                "feature_ids": ids,
                "target_ids": target_ids.tolist(),
                "attr_target": self.attr_target,
                "n_forward_calls": scorer.n_forward_calls,
                "n_token_positions": scorer.n_token_positions,
            }

        identity = (
            "LLMSpexAttribution",
            model_identity(self.model),
            Part("inp", inp),
            Part("tokenizer", self.tokenizer),
            target_ids,
            self.attr_target,
        )
        outputs = ("whole answer", "outputs, the answer and each token")
        job = Job(int(inp.n_itp_features), make, identity, names, diagnostics, outputs)
        return job, full_logp

    # ------------------------------------------------------------------ helpers
    def _check_inp(self, inp: Any) -> TextTemplateInput | TextTokenInput:
        if not isinstance(inp, self.SUPPORTED_INPUTS):
            raise TypeError(
                f"The 'inp' parameter of {_WHERE} must be a TextTemplateInput or "
                f"TextTokenInput; got {type(inp).__name__}."
            )
        return inp

    def _target_ids(
        self,
        inp: TextTemplateInput | TextTokenInput,
        target: Any,
        gen_args: Mapping[str, Any] | None,
    ) -> Tensor:
        if target is None:
            prompt = masked_prompts(inp, None, self.tokenizer)[0]
            if gen_args is not None and not isinstance(gen_args, Mapping):
                raise TypeError(
                    f"The 'gen_args' parameter of {_WHERE} must be a dict; got "
                    f"{type(gen_args).__name__}."
                )
            ids = generate_target(self.model, prompt, gen_args)
            if ids.numel() == 0:
                raise ValueError("The model generated an empty target; pass 'target'.")
            return ids
        if gen_args is not None:
            raise ValueError(f"The 'gen_args' parameter of {_WHERE} must be None with a target.")
        if isinstance(target, str):
            ids = self.tokenizer.encode(target, add_special_tokens=False)
            if len(ids) == 0:
                raise ValueError(f"The 'target' parameter of {_WHERE} encodes to no tokens.")
            return _as_ids(ids, "target", _WHERE, allow_empty=False)
        if isinstance(target, (Tensor, np.ndarray, Sequence)):
            return _as_ids(target, "target", _WHERE, allow_empty=False)
        raise TypeError(
            f"The 'target' parameter of {_WHERE} must be a str, a Tensor of token ids or None; "
            f"got {type(target).__name__}."
        )
