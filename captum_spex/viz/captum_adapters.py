"""Adapters from :class:`~captum_spex.Interactions` into Captum's own result types and views.

* :func:`to_llm_attribution_result` builds Captum's ``LLMAttributionResult``, so that its
  ``plot_seq_attr`` and ``plot_token_attr`` work unchanged.
* :func:`to_visualization_records` builds one ``VisualizationDataRecord`` per top
  interaction for ``captum.attr.visualization.visualize_text``.

Captum is imported inside the functions: importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from captum_spex._validation import param_error
from captum_spex.viz._common import (
    PerFeature,
    check_interactions,
    check_tokens,
    check_view_params,
    column_of,
    display_names,
    per_feature,
    ranked_terms,
    term_label,
)

if TYPE_CHECKING:
    from captum.attr import LLMAttributionResult
    from captum.attr.visualization import VisualizationDataRecord

    from captum_spex.indices import IndexName
    from captum_spex.interactions import Interactions

__all__ = ["to_llm_attribution_result", "to_visualization_records"]


def _input_tokens(
    interactions: Interactions, tokens: Sequence[str] | None, name: str, caller: str
) -> list[str]:
    if tokens is None:
        tokens = interactions.feature_names
        if tokens is None:
            must = "given when the Interactions has no feature_names"
            raise param_error(caller, name, must, tokens)
    return check_tokens(tokens, interactions.n_features, name, caller)


def to_llm_attribution_result(
    interactions: Interactions,
    input_tokens: Sequence[str] | None = None,
    output_tokens: Sequence[str] | None = None,
    *,
    values: PerFeature = "shapley",
    output_probs: Any = None,
    inp: Any = None,
) -> LLMAttributionResult:
    """Captum's ``LLMAttributionResult`` from an explanation, for Captum's own plots.

    ``seq_attr`` holds one value per input token: the Shapley (default) or Banzhaf value
    of each feature. For a per-output explanation (``n_outputs = 1 + T``: column 0 the
    total, e.g. the log-probability of the whole answer, and columns ``1..T`` one per
    target token), ``seq_attr`` comes from column 0 and ``token_attr`` ``(T, n_features)``
    from the other columns, so ``plot_token_attr`` works too.

    Parameters
    ----------
    interactions : Interactions
        The explanation; features are the input tokens.
    input_tokens : sequence of str, optional
        One token per feature; defaults to ``interactions.feature_names``.
    output_tokens : sequence of str, optional
        The target tokens. Required (``T`` of them) when ``n_outputs = 1 + T > 1``;
        otherwise defaults to ``[]`` (Captum's ``plot_seq_attr`` does not use them).
    values : {"shapley", "banzhaf"}, default "shapley"
        Which per-feature value becomes the attribution.
    output_probs : array_like, optional
        One probability per output token, passed through to Captum.
    inp : InterpretableInput, optional
        Passed through to Captum (``plot_image_heatmap`` needs an ``ImageMaskInput``).

    Returns
    -------
    captum.attr.LLMAttributionResult

    Raises
    ------
    ValueError
        If tokens are missing or of the wrong length, or ``values`` is not a valid name.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from captum_spex import Interactions
    >>> # f(m) = 2 * amazon * river + is, on kept-masks m (Möbius: {(1,): 1, (0, 2): 2})
    >>> inter = Interactions(3, [(), (0,), (1,), (2,), (0, 2)], [1.0, -0.5, -0.5, -0.5, 0.5],
    ...                      feature_names=["amazon", "is", "river"])
    >>> res = to_llm_attribution_result(inter)  # input tokens: the feature names
    >>> res.seq_attr.tolist()  # Shapley values
    [1.0, 1.0, 1.0]
    >>> fig, ax = res.plot_seq_attr()  # Captum's own plot, unchanged
    >>> matplotlib.pyplot.close(fig)
    """
    import torch
    from captum.attr import LLMAttributionResult

    caller = "to_llm_attribution_result"
    interactions = check_interactions(interactions, caller)
    tokens = _input_tokens(interactions, input_tokens, "input_tokens", caller)
    check_view_params(caller, interactions, values=values)
    n_out = interactions.n_outputs
    seq = per_feature(interactions, values, 0)
    token_attr = None
    if n_out > 1:
        if output_tokens is None:
            must = (
                f"given for a per-output explanation (n_outputs={n_out}: column 0 is the "
                f"total and columns 1..{n_out - 1} are {n_out - 1} target tokens)"
            )
            raise param_error(caller, "output_tokens", must, output_tokens)
        out_tokens = check_tokens(
            output_tokens, n_out - 1, "output_tokens", caller, "n_outputs - 1"
        )
        token_attr = torch.from_numpy(
            np.stack([per_feature(interactions, values, j) for j in range(1, n_out)])
        )
    else:
        out_tokens = [] if output_tokens is None else list(output_tokens)
    return LLMAttributionResult(
        input_tokens=tokens,
        output_tokens=out_tokens,
        seq_attr=torch.from_numpy(seq),
        token_attr=token_attr,
        output_probs=output_probs,
        inp=inp,
    )


def to_visualization_records(
    interactions: Interactions,
    tokens: Sequence[str] | None = None,
    *,
    k: int = 5,
    index: IndexName = "mobius",
    order: int | None = None,
    output: int | None = None,
    min_order: int = 1,
    pred_class: Any = "",
    pred_prob: float | None = None,
    true_class: Any = "",
) -> list[VisualizationDataRecord]:
    """One Captum ``VisualizationDataRecord`` per top interaction, for ``visualize_text``.

    The words of record ``r`` carry its interaction's value spread evenly on them
    (``value / |T|`` each, 0 on every other word), divided by the largest such share
    over the returned records, so the strongest interaction's words are at ±1 and every
    word importance lies in ``[-1, 1]`` (the range Captum's colours expect).
    ``attr_class`` is the interaction's label (``"amazon × river"``; a repeated word gets
    its occurrence number, ``"river[2]"`` for the second "river"), ``attr_score`` its
    value and ``convergence_score`` the run's ``diagnostics["r2_estimate"]`` (or None).

    Parameters
    ----------
    interactions : Interactions
        The explanation.
    tokens : sequence of str, optional
        One word per feature; defaults to ``interactions.feature_names``.
    k : int, default 5
        Number of records (the ``k`` largest ``|value|`` terms).
    index : str, default "mobius"
        Index to rank and colour by (any name ``Interactions.index`` accepts).
    order : int, optional
        The index order, see ``Interactions.index``.
    output : int, optional
        Output to show for a multi-output explanation (default 0, the total).
    min_order : int, default 1
        Smallest term size listed; 2 lists only genuine interactions.
    pred_class, true_class : str or int, default ""
        Shown in Captum's "Predicted Label" and "True Label" columns.
    pred_prob : float, optional
        Shown next to ``pred_class``; defaults to the surrogate's value of the full input
        (every feature kept) for ``output``.

    Returns
    -------
    list of captum.attr.visualization.VisualizationDataRecord

    Examples
    --------
    >>> from captum_spex import Interactions
    >>> # f(m) = 2 * amazon * river + is, on kept-masks m (Möbius: {(1,): 1, (0, 2): 2})
    >>> inter = Interactions(3, [(), (0,), (1,), (2,), (0, 2)], [1.0, -0.5, -0.5, -0.5, 0.5],
    ...                      feature_names=["amazon", "is", "river"])
    >>> recs = to_visualization_records(inter, k=2)
    >>> [(r.attr_class, r.attr_score) for r in recs]
    [('amazon × river', 2.0), ('is', 1.0)]
    >>> [r.word_attributions.tolist() for r in recs]  # 2 / 2 per word, then 1 / 1
    [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]

    Show them with Captum: ``from captum.attr import visualization as viz`` then
    ``viz.visualize_text(recs)`` (in a notebook; it needs IPython).
    """
    import torch
    from captum.attr import visualization as captum_viz

    caller = "to_visualization_records"
    interactions = check_interactions(interactions, caller)
    words = _input_tokens(interactions, tokens, "tokens", caller)
    check_view_params(
        caller, interactions, k=k, index=index, order=order, output=output, min_order=min_order
    )
    column = column_of(output)
    top = ranked_terms(interactions, k, index, order, column, min_order)
    labels = display_names(interactions, words)
    shares = [value / len(term) for term, value in top]
    scale = max((abs(s) for s in shares), default=0.0)
    if pred_prob is None:
        full = interactions.predict(np.ones(interactions.n_features, dtype=bool))
        pred_prob = float(np.atleast_1d(full[0])[column])
    r2 = interactions.diagnostics.get("r2_estimate")
    if isinstance(r2, list):
        r2 = r2[column] if column < len(r2) else None
    convergence = float(r2) if isinstance(r2, (int, float)) else None
    records = []
    for (term, value), share in zip(top, shares, strict=True):
        importance = np.zeros(len(words))
        if scale > 0:
            importance[list(term)] = share / scale
        records.append(
            captum_viz.VisualizationDataRecord(
                torch.from_numpy(importance),
                pred_prob,
                pred_class,
                true_class,
                term_label(term, labels),
                value,
                list(words),
                convergence,
            )
        )
    return records
