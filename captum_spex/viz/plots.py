"""Interaction plots Captum lacks: a pairwise heatmap and a top-k interactions bar chart.

Both follow Captum's plot conventions: matplotlib is imported lazily, they return
``(fig, ax)``, and call ``plt.show()`` (returning None) only with ``show=True``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from captum_spex._validation import Instance, Optional, param_error
from captum_spex.indices import INDICES
from captum_spex.viz._common import (
    LABEL_CHARS,
    NEGATIVE,
    POSITIVE,
    Numbers,
    check_interactions,
    check_tokens,
    check_view_params,
    column_of,
    display_names,
    diverging_cmap,
    finish,
    index_title,
    isolate,
    per_feature,
    plain_text,
    plain_ticks,
    ranked_terms,
    require_pyplot,
    shorten,
    top_title,
    view_title,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from captum_spex.indices import IndexName
    from captum_spex.interactions import Interactions

__all__ = ["pairwise_matrix", "plot_interaction_heatmap", "plot_top_interactions"]

# 'title' of the plots: a str, or None for the default
_TITLE = {"title": Optional(Instance(str, "a str"))}


def pairwise_matrix(
    interactions: Interactions,
    m: int = 10,
    *,
    index: IndexName = "fsii",
    output: int | None = None,
    rank_by: str = "shapley",
    features: Sequence[int] | None = None,
) -> tuple[list[int], np.ndarray]:
    """The order-2 values among the top-``m`` features, as a symmetric matrix.

    Parameters
    ----------
    interactions : Interactions
        The explanation (``n_features >= 2``).
    m : int, default 10
        Number of features kept: the ``m`` largest by ``|rank_by|`` value.
    index : str, default "fsii"
        Any index name of ``Interactions.index``. Ordered indices ("fsii", "stii",
        "k-sii", "fbii") are taken at order 2: their pair values and main effects then
        form the best order-2 summary. "mobius" gives the pure pairwise Möbius terms.
    output : int, optional
        Output shown for a multi-output explanation (default 0, the total).
    rank_by : {"shapley", "banzhaf"}, default "shapley"
        Per-feature value that picks the features.
    features : sequence of int, optional
        Explicit feature ids (in this order) instead of the top-``m``.

    Returns
    -------
    features : list of int
        The feature ids of the rows and columns.
    matrix : numpy.ndarray
        ``(m, m)`` float64: ``matrix[a, b]`` is the value of the pair
        ``{features[a], features[b]}``; the diagonal holds the order-1 values.

    Examples
    --------
    >>> from captum_spex import Interactions
    >>> # f(m) = 2 * amazon * river + is, on kept-masks m (Möbius: {(1,): 1, (0, 2): 2})
    >>> inter = Interactions(3, [(), (0,), (1,), (2,), (0, 2)], [1.0, -0.5, -0.5, -0.5, 0.5],
    ...                      feature_names=["amazon", "is", "river"])
    >>> feats, mat = pairwise_matrix(inter, m=3, index="mobius")
    >>> feats, mat.tolist()
    ([0, 1, 2], [[0.0, 0.0, 2.0], [0.0, 1.0, 0.0], [2.0, 0.0, 0.0]])
    """
    return _pairwise_matrix(interactions, m, index, output, rank_by, features, "pairwise_matrix")


def _pairwise_matrix(
    interactions: Interactions,
    m: int,
    index: str,
    output: int | None,
    rank_by: str,
    features: Sequence[int] | None,
    caller: str,
) -> tuple[list[int], np.ndarray]:
    interactions = check_interactions(interactions, caller)
    n = interactions.n_features
    if n < 2:
        raise param_error(
            caller, "interactions", "an explanation with n_features >= 2", interactions
        )
    checked = {"index": index, "output": output, "rank_by": rank_by}
    if features is None:  # 'm' only counts without explicit features
        checked["m"] = m
    params = check_view_params(caller, interactions, **checked)
    column = column_of(params["output"])
    if features is None:
        m = params["m"]
        score = np.abs(per_feature(interactions, rank_by, column))
        feats = [int(i) for i in np.argsort(-score, kind="stable")[: min(m, n)]]
    else:
        feats = [int(i) for i in features]
        if len(feats) < 1 or len(set(feats)) != len(feats) or not all(0 <= i < n for i in feats):
            must = f"distinct feature ids in [0, {n - 1}]"
            raise param_error(caller, "features", must, features)
    order = 2 if INDICES[index].ordered else None
    res = interactions.index_arrays(index, order)
    values = res.values if res.values.ndim == 1 else res.values[:, column]
    position = np.full(n + 1, -1, dtype=np.int64)  # index n absorbs the -1 padding
    position[feats] = np.arange(len(feats))
    matrix = np.zeros((len(feats), len(feats)))
    for degree in (1, 2):
        rows = np.flatnonzero(res.degrees == degree)
        if rows.size == 0:  # e.g. a constant-only explanation
            continue
        a = position[res.indices[rows, 0]]
        b = position[res.indices[rows, degree - 1]]
        keep = (a >= 0) & (b >= 0)
        matrix[a[keep], b[keep]] = values[rows[keep]]
        matrix[b[keep], a[keep]] = values[rows[keep]]
    return feats, matrix


def plot_interaction_heatmap(
    interactions: Interactions,
    m: int = 10,
    *,
    index: IndexName = "fsii",
    output: int | None = None,
    rank_by: str = "shapley",
    features: Sequence[int] | None = None,
    diagonal: bool = False,
    annotate: bool | None = None,
    feature_names: Sequence[str] | None = None,
    title: str | None = None,
    ax: Axes | None = None,
    show: bool = False,
) -> tuple[Figure, Axes] | None:
    """Heatmap of the pairwise interactions among the top-``m`` features.

    Rows and columns are the ``m`` features with the largest ``|Shapley|`` value (see
    :func:`pairwise_matrix`), labelled with the feature names (plain text, cut to 24
    characters with "…"). The colormap is diverging
    and symmetric about 0 (negative red, positive blue, as Captum's ``plot_seq_attr``).

    Parameters
    ----------
    interactions : Interactions
        The explanation (``n_features >= 2``).
    m : int, default 10
        Number of features shown.
    index : str, default "fsii"
        See :func:`pairwise_matrix`.
    output : int, optional
        Output shown for a multi-output explanation (default 0).
    rank_by : {"shapley", "banzhaf"}, default "shapley"
        Per-feature value that picks the features.
    features : sequence of int, optional
        Explicit feature ids instead of the top-``m``.
    diagonal : bool, default False
        Show the order-1 values on the diagonal. When False the diagonal is blank and the
        colour scale covers the pairs only, so strong main effects do not wash them out.
    annotate : bool, optional
        Write each value in its cell; default when at most 12 features are shown.
    feature_names : sequence of str, optional
        Labels; default ``interactions.feature_names`` (else the feature ids).
    title : str, optional
        The axes title (drawn as plain text). By default it names the view, "Pairwise FSII
        (order 2) among the top 10 features", with the method and the queries when they
        are known ("(auto, 1,000 queries)"), under a first line that says what was
        explained when the diagnostics say it (an LLM explanation: "Log-probability of
        the answer “Philip Rivers”").
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when None.
    show : bool, default False
        Call ``plt.show()`` and return None (Captum's convention).

    Returns
    -------
    (matplotlib.figure.Figure, matplotlib.axes.Axes) or None

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from captum_spex import Interactions
    >>> # f(m) = 2 * amazon * river + is, on kept-masks m (Möbius: {(1,): 1, (0, 2): 2})
    >>> inter = Interactions(3, [(), (0,), (1,), (2,), (0, 2)], [1.0, -0.5, -0.5, -0.5, 0.5],
    ...                      feature_names=["amazon", "is", "river"])
    >>> fig, ax = plot_interaction_heatmap(inter, m=3, index="mobius")
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['amazon', 'is', 'river']
    >>> matplotlib.pyplot.close(fig)
    """
    caller = "plot_interaction_heatmap"
    plt = require_pyplot()
    feats, matrix = _pairwise_matrix(interactions, m, index, output, rank_by, features, caller)
    title = check_view_params(caller, interactions, _TITLE, title=title)["title"]
    names = _names(interactions, feature_names, caller)
    labels = [names[i] for i in feats]
    size = len(feats)
    shown = matrix.copy()
    if not diagonal:
        np.fill_diagonal(shown, np.nan)
    finite = np.abs(shown[np.isfinite(shown)])
    vmax = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    axes_given = ax is not None
    if ax is None:
        side = min(max(4.8, 0.55 * size + 2.5), 14.0)
        fig, ax = plt.subplots(figsize=(side + 1.2, side))
    else:
        fig = ax.figure
    cmap = diverging_cmap().with_extremes(bad="#eeeeee")
    im = ax.imshow(np.ma.masked_invalid(shown), cmap=cmap, vmin=-vmax, vmax=vmax)
    labels = [shorten(s, 24) for s in labels]
    ax.set_xticks(np.arange(size), labels=labels)
    ax.set_yticks(np.arange(size), labels=labels)
    ax.tick_params(top=True, bottom=False, labeltop=True, labelbottom=False)
    plain_ticks(ax.xaxis, ax.yaxis)
    plt.setp(ax.get_xticklabels(), rotation=40, ha="left", rotation_mode="anchor")
    ax.grid(False)
    label = index_title(interactions, index, 2 if INDICES[index].ordered else None)
    cbar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    cbar.ax.set_ylabel(f"{label} pair value", rotation=-90, va="bottom")
    if annotate is None:
        annotate = size <= 12
    if annotate:
        fmt = Numbers(vmax)
        for a in range(size):
            for b in range(size):
                if np.isfinite(shown[a, b]) and abs(shown[a, b]) > 1e-3 * vmax:
                    strong = abs(shown[a, b]) > 0.6 * vmax
                    ax.text(
                        b,
                        a,
                        fmt.plain(shown[a, b]),
                        ha="center",
                        va="center",
                        fontsize=8,
                        color="white" if strong else "black",
                    )
    if title is None:
        what = f"Pairwise {label} among the top {size} features"
        title = view_title(interactions, what, column_of(output))
    plain_text([ax.set_title(title, pad=12)])
    fig.set_facecolor("white")
    if not axes_given:
        fig.tight_layout()
    return finish(fig, ax, show)


def plot_top_interactions(
    interactions: Interactions,
    k: int = 10,
    *,
    index: IndexName = "mobius",
    order: int | None = None,
    output: int | None = None,
    min_order: int = 1,
    feature_names: Sequence[str] | None = None,
    sep: str = " × ",
    title: str | None = None,
    ax: Axes | None = None,
    show: bool = False,
) -> tuple[Figure, Axes] | None:
    """Horizontal bar chart of the ``k`` largest-magnitude interactions, largest on top.

    Each bar is labelled with its features' names (``"amazon × river"``, drawn as plain
    text: no mathtext) and its value; positive bars are blue and negative bars red, as in
    Captum's ``plot_seq_attr``. When the explanation carries standard errors, each bar has
    its 95% interval as an error line, and a bar whose interval covers zero is pale. A label
    longer than 40 characters (sentence units) puts one
    name a line, each cut to 40 characters with "…", so the figure keeps its width.

    Parameters
    ----------
    interactions : Interactions
        The explanation.
    k : int, default 10
        Number of terms shown.
    index : str, default "mobius"
        Any index name of ``Interactions.index``.
    order : int, optional
        The index order, see ``Interactions.index``.
    output : int, optional
        Output shown for a multi-output explanation (default 0).
    min_order : int, default 1
        Smallest term size shown; 2 shows only genuine interactions.
    feature_names : sequence of str, optional
        Labels; default ``interactions.feature_names`` (else the feature ids).
    sep : str, default " × "
        Separator between the names of a term.
    title : str, optional
        The axes title (drawn as plain text). By default it names the view, "Top 10 terms
        by |Möbius|", with the method and the queries when they are known ("(auto, 1,000
        queries)"), under a first line that says what was explained when the diagnostics
        say it (an LLM explanation: "Log-probability of the answer “Philip Rivers”", or of
        one answer token).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when None.
    show : bool, default False
        Call ``plt.show()`` and return None (Captum's convention).

    Returns
    -------
    (matplotlib.figure.Figure, matplotlib.axes.Axes) or None

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from captum_spex import Interactions
    >>> # f(m) = 2 * amazon * river + is, on kept-masks m (Möbius: {(1,): 1, (0, 2): 2})
    >>> inter = Interactions(3, [(), (0,), (1,), (2,), (0, 2)], [1.0, -0.5, -0.5, -0.5, 0.5],
    ...                      feature_names=["amazon", "is", "river"])
    >>> fig, ax = plot_top_interactions(inter, k=2)
    >>> [t.get_text() for t in ax.get_yticklabels()], ax.get_title()
    (['amazon × river', 'is'], 'Top 2 terms by |Möbius|')
    >>> matplotlib.pyplot.close(fig)
    """
    caller = "plot_top_interactions"
    plt = require_pyplot()
    from matplotlib.colors import to_rgba

    interactions = check_interactions(interactions, caller)
    title = check_view_params(
        caller,
        interactions,
        _TITLE,
        k=k,
        index=index,
        order=order,
        output=output,
        min_order=min_order,
        title=title,
    )["title"]
    top = ranked_terms(interactions, k, index, order, output, min_order)
    names = _names(interactions, feature_names, caller)
    labels = [_bar_label(term, names, sep) for term, _ in top]
    lines = sum(label.count("\n") for label in labels)
    values = np.array([v for _, v in top], dtype=np.float64)
    axes_given = ax is not None
    if ax is None:
        fig, ax = plt.subplots(figsize=(8.0, max(2.4, 0.42 * len(top) + 0.2 * lines + 1.3)))
    else:
        fig = ax.figure
    ypos = np.arange(len(top))
    half = _half_intervals(top)  # 1.96 standard errors, zeros without errors
    unsure = [t.covers_zero is True for t in top]
    ax.barh(
        ypos,
        values,
        color=[
            to_rgba(POSITIVE if v >= 0 else NEGATIVE, 0.4 if u else 1.0)
            for v, u in zip(values, unsure, strict=True)
        ],
        height=0.7,
    )
    if half.any():
        ax.errorbar(values, ypos, xerr=half, fmt="none", ecolor="#333333", elinewidth=1, capsize=3)
    ax.set_yticks(ypos, labels=labels)
    plain_ticks(ax.yaxis)
    ax.invert_yaxis()
    ax.axvline(0.0, color="#444444", linewidth=0.8)
    reach = np.abs(values) + half
    span = float(reach.max()) if len(values) else 1.0
    span = span if span > 0 else 1.0
    fmt = Numbers(span)
    for y, v, h in zip(ypos, values, half, strict=True):
        ax.text(
            v + (1 if v >= 0 else -1) * (h + 0.02 * span),
            y,
            fmt(v),
            va="center",
            ha="left" if v >= 0 else "right",
            fontsize=8,
        )
    low = min(0.0, float((values - half).min()) if len(values) else 0.0)
    high = max(0.0, float((values + half).max()) if len(values) else 0.0)
    pad = 0.18 * span
    ax.set_xlim(low - (pad if low < 0 else 0.05 * span), high + (pad if high > 0 else 0.05 * span))
    note = " (lines: 95% intervals; pale bars: interval covers 0)" if half.any() else ""
    ax.set_xlabel(f"{index_title(interactions, index, order)} value{note}")
    if title is None:
        what = top_title(interactions, index, order, len(top), min_order)
        title = view_title(interactions, what, column_of(output))
    plain_text([ax.set_title(title)])
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.set_facecolor("white")
    if not axes_given:
        fig.tight_layout()
    return finish(fig, ax, show)


def _half_intervals(top: Sequence[Any]) -> np.ndarray:
    """Half-widths of the 95% intervals of ``top`` (``TopTerm.interval``; 0 without one)."""
    return np.array([0.0 if t.interval is None else t.interval[1] - t.value for t in top])


def _bar_label(term: tuple[int, ...], names: list[str], sep: str) -> str:
    """A bar's label: ``"amazon × river"`` on one line when it fits in
    :data:`LABEL_CHARS`, else one name a line, each cut to fit (sentence units); the
    names of a pair or more are isolated (:func:`isolate`) from each other."""
    if len(term) == 1:  # nothing is drawn after it: the name as it is
        return shorten(names[term[0]])
    label = sep.join(isolate(names[i]) for i in term) if term else "∅"
    if len(label) <= LABEL_CHARS:
        return label
    lead = sep.lstrip()
    width = LABEL_CHARS - len(lead)
    lines = (isolate(shorten(names[i], width)) for i in term)
    return "\n".join((lead if n else "") + line for n, line in enumerate(lines))


def _names(interactions: Interactions, names: Sequence[str] | None, caller: str) -> list[str]:
    """The labels of the features: ``names`` (checked) or the explanation's."""
    if names is not None:
        names = check_tokens(names, interactions.n_features, "feature_names", caller)
    return display_names(interactions, names)
