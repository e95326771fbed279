"""The result of :class:`~captum_spex.attr.llm.LLMSpexAttribution`: Captum's
``LLMAttributionResult`` plus the interactions behind it."""

from __future__ import annotations

from typing import Any

from captum.attr import LLMAttributionResult

from ..interactions import Interactions

__all__ = ["LLMSpexAttributionResult"]


# Diagnostics with one value per output (a list over the 1 + T outputs): the single-output
# explanation of output j keeps value j.
_PER_OUTPUT = (
    "r2_estimate",
    "noise_sd",
    "truncated_energy",
    "value_full",
    "value_baseline",
    "anchor_gap_full",
    "anchor_gap_baseline",
)


def _single_output(
    inter: Interactions, column: int, label: str, token: str | None = None
) -> Interactions:
    """One output of a multi-output ``Interactions`` as a single-output one: its
    coefficients, standard errors and anchor residuals (when present), its value of the
    per-output diagnostics (:data:`_PER_OUTPUT`), and diagnostics that name the output
    (``"output"``; ``"output_token"``, the answer token, for a token)."""
    diagnostics = dict(inter.diagnostics)
    for key in _PER_OUTPUT:
        value = diagnostics.get(key)
        if isinstance(value, list) and len(value) == inter.n_outputs:
            diagnostics[key] = value[column]
    diagnostics["output"] = label
    if token is not None:
        diagnostics["output_token"] = token
    errors, anchors = inter.standard_errors, inter.anchor_residuals
    return Interactions(
        inter.n_features,
        inter.terms,
        inter.coefficients[:, column],
        n_queries=inter.n_queries,
        max_degree=inter.max_degree,
        feature_names=inter.feature_names,
        diagnostics=diagnostics,
        method=inter.method,
        standard_errors=None if errors is None else errors[:, column],
        anchor_residuals=None if anchors is None else anchors[:, column],
    )


class LLMSpexAttributionResult(LLMAttributionResult):
    """Captum's ``LLMAttributionResult`` plus the SPEX interactions behind it.

    ``seq_attr``, ``token_attr``, ``input_tokens``, ``output_tokens`` and ``output_probs``
    are filled as Captum's :class:`~captum.attr.LLMAttribution` fills them, so
    ``plot_seq_attr`` and ``plot_token_attr`` work unchanged. The interactions are over the
    *interpretable* features (one per mask group of a ``TextTemplateInput``, one per token of
    a ``TextTokenInput``).

    Parameters
    ----------
    input_tokens, output_tokens, seq_attr, token_attr, output_probs, inp
        As in :class:`captum.attr.LLMAttributionResult`.
    raw_interactions : Interactions
        The multi-output SPEX result: output 0 is the whole target, output ``j`` (for
        ``j = 1..T``) is target token ``j``; all decoded from the same queries.

    Attributes
    ----------
    interactions : Interactions
        The interactions for the whole target (log-probability of the full answer, or its
        probability with ``attr_target="prob"``), with column 0 of the standard errors of
        ``raw_interactions`` when it carries them.
    token_interactions : tuple of Interactions
        One per target token, in order (no extra model call: same queries), each with its
        column of the standard errors and its token in ``diagnostics["output_token"]``.
        In both, a per-output diagnostic (``r2_estimate``, ``noise_sd``, ...) holds the
        value of that output.
    raw_interactions : Interactions
        The multi-output result (``n_outputs == 1 + T``), e.g. for ``save``.

    Examples
    --------
    >>> from captum_spex import Interactions
    >>> from captum_spex.attr.llm import LLMSpexAttributionResult
    >>> raw = Interactions(2, [(), (0, 1)], [[0.0, 0.0], [1.0, 1.0]], feature_names=["a", "b"])
    >>> res = LLMSpexAttributionResult(input_tokens=["a", "b"], output_tokens=["x"],
    ...     seq_attr=[0.5, 0.5], token_attr=[[0.5, 0.5]], raw_interactions=raw)
    >>> res.interactions.fourier(), len(res.token_interactions)
    ({(): 0.0, (0, 1): 1.0}, 1)
    """

    def __init__(
        self,
        *,
        input_tokens: list[str],
        output_tokens: list[str],
        seq_attr: Any,
        token_attr: Any = None,
        output_probs: Any = None,
        inp: Any = None,
        raw_interactions: Interactions,
    ) -> None:
        super().__init__(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            seq_attr=seq_attr,
            token_attr=token_attr,
            output_probs=output_probs,
            inp=inp,
        )
        if not isinstance(raw_interactions, Interactions):
            raise TypeError(
                "The 'raw_interactions' parameter of LLMSpexAttributionResult must be an "
                f"Interactions; got {type(raw_interactions).__name__}."
            )
        if raw_interactions.n_outputs != 1 + len(output_tokens):
            raise ValueError(
                "The 'raw_interactions' parameter of LLMSpexAttributionResult must have 1 + "
                f"len(output_tokens) = {1 + len(output_tokens)} outputs; got "
                f"{raw_interactions.n_outputs}."
            )
        self.raw_interactions = raw_interactions
        self._interactions: Interactions | None = None
        self._token_interactions: tuple[Interactions, ...] | None = None

    @property
    def interactions(self) -> Interactions:
        """The interactions for the whole target."""
        if self._interactions is None:
            self._interactions = _single_output(self.raw_interactions, 0, "total")
        return self._interactions

    @property
    def token_interactions(self) -> tuple[Interactions, ...]:
        """One :class:`~captum_spex.Interactions` per target token, in order."""
        if self._token_interactions is None:
            self._token_interactions = tuple(
                _single_output(self.raw_interactions, j + 1, f"token {j}: {tok}", tok)
                for j, tok in enumerate(self.output_tokens)
            )
        return self._token_interactions

    def __repr__(self) -> str:
        top = self.interactions.top(3)
        terms = ", ".join(f"{self.interactions.label(t)}: {v:+.3g}" for t, v in top)
        return (
            f"LLMSpexAttributionResult({len(self.input_tokens)} input features, "
            f"{len(self.output_tokens)} output tokens, {len(self.interactions)} terms; "
            f"top: {terms})"
        )
