"""Text view: the words of each top interaction highlighted in context, one row each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from captum_spex.viz._common import (
    NEGATIVE,
    POSITIVE,
    Numbers,
    check_interactions,
    check_tokens,
    check_view_params,
    display_names,
    finish,
    ranked_terms,
    require_pyplot,
    short_term_label,
    shown_token,
    top_title,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from captum_spex.indices import IndexName
    from captum_spex.interactions import Interactions

__all__ = ["plot_text_interactions"]

_PAD = 3.0  # points of box padding on each side of a token
_GAP = 4.0  # points between two tokens
_MARGIN = 14.0  # points around the page


def _tint(color: str, strength: float) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    rgb = np.asarray(to_rgb(color))
    return tuple(float(c) for c in 1.0 - strength * (1.0 - rgb))


def _visible(n: int, term: Sequence[int], context: int | None) -> list[int | None]:
    """Token positions to draw for one row; None marks an elided gap."""
    if context is None:
        return list(range(n))
    keep = np.zeros(n, dtype=bool)
    for p in term:
        keep[max(0, p - context) : p + context + 1] = True
    out: list[int | None] = []
    for i in range(n):
        if keep[i]:
            out.append(i)
        elif not out or out[-1] is not None:
            out.append(None)
    return out


def plot_text_interactions(
    interactions: Interactions,
    tokens: Sequence[str] | None = None,
    *,
    k: int = 5,
    index: IndexName = "mobius",
    order: int | None = None,
    output: int | None = None,
    min_order: int = 1,
    context: int | None = None,
    width: float = 10.0,
    fontsize: float = 11.0,
    show: bool = False,
) -> tuple[Figure, Axes] | None:
    """The text once per top interaction, with that interaction's words highlighted.

    Each row has a header (rank, ``"amazon × river"``, value) and the tokens, wrapped to
    the figure width. The interaction's tokens sit in coloured boxes (blue for a positive
    value, red for a negative one, the stronger the more saturated); the other tokens are
    grey. Every token is drawn as plain text (no mathtext: ``$$`` and ``$5`` stay as they
    are), and a token longer than a line (a sentence) wraps at its spaces.

    Parameters
    ----------
    interactions : Interactions
        The explanation; feature ``i`` is token ``i``.
    tokens : sequence of str, optional
        One token per feature; defaults to ``interactions.feature_names``. Surrounding
        whitespace is not drawn.
    k : int, default 5
        Number of rows (the ``k`` largest-magnitude terms).
    index : str, default "mobius"
        Any index name of ``Interactions.index``.
    order : int, optional
        The index order, see ``Interactions.index``.
    output : int, optional
        Output shown for a multi-output explanation (default 0).
    min_order : int, default 1
        Smallest term size shown; 2 shows only genuine interactions.
    context : int, optional
        Show only ``context`` tokens either side of the highlighted ones ("…" marks the
        rest); the whole text when None.
    width : float, default 10.0
        Figure width in inches; the height follows from the text.
    fontsize : float, default 11.0
        Font size of the tokens in points.
    show : bool, default False
        Call ``plt.show()`` and return None (Captum's convention).

    Returns
    -------
    (matplotlib.figure.Figure, matplotlib.axes.Axes) or None
        The axes spans the figure with its frame hidden; every token is a ``Text``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from captum_spex import Interactions
    >>> inter = Interactions(4, [(), (0, 3), (1,)], [0.0, 1.5, -0.5])
    >>> fig, ax = plot_text_interactions(inter, ["The", "amazon", "is", "long"], k=2)
    >>> len(ax.texts)  # a title, 2 headers and 2 rows of 4 tokens
    11
    >>> matplotlib.pyplot.close(fig)
    """
    caller = "plot_text_interactions"
    plt = require_pyplot()
    interactions = check_interactions(interactions, caller)
    check_view_params(
        caller,
        interactions,
        k=k,
        index=index,
        order=order,
        output=output,
        min_order=min_order,
        context=context,
    )
    if tokens is None:
        tokens = interactions.feature_names
        if tokens is None:
            tokens = [str(i) for i in range(interactions.n_features)]
    words = check_tokens(tokens, interactions.n_features, "tokens", caller)
    top = ranked_terms(interactions, k, index, order, output, min_order)
    labels = display_names(interactions, [shown_token(w) for w in words])
    title = top_title(interactions, index, order, len(top), min_order)
    items, height = _layout(words, labels, top, title, context, width, fontsize)
    fig = plt.figure(figsize=(width, max(height, 40.0) / 72.0))
    fig.set_facecolor("white")
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_axis_off()
    _draw(fig, ax, items, fontsize)
    return finish(fig, ax, show)


# One laid-out text: (x, y) in points from the top-left corner, the text, its kind
# ("title", "head", "member" or "other") and its signed strength in [-1, 1].
_Item = tuple[float, float, str, str, float]


def _layout(
    words: list[str],
    labels: list[str],
    top: Sequence[tuple[tuple[int, ...], float]],
    title: str,
    context: int | None,
    width: float,
    fontsize: float,
) -> tuple[list[_Item], float]:
    """Place the title, then per term a header and its (wrapped) tokens; the page height."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    prop = FontProperties(size=fontsize)
    measure = RendererAgg(1, 1, 72)  # at 72 dpi one pixel is one point
    scale = max((abs(v) for _, v in top), default=0.0) or 1.0
    line_h = fontsize * 1.9
    page_w = width * 72.0
    fmt = Numbers(scale)
    items: list[_Item] = [(_MARGIN, _MARGIN, title, "title", 0.0)]
    y = _MARGIN + line_h * 1.3
    for rank, (term, value) in enumerate(top, start=1):
        members = set(term)
        label = short_term_label(term, labels, width=int(page_w / fontsize))
        items.append((_MARGIN, y, f"{rank}.  {label}   {fmt(value)}", "head", value / scale))
        y += line_h
        x = _MARGIN
        for pos in _visible(len(words), term, context):
            s = "…" if pos is None else shown_token(words[pos])
            kind = "member" if pos in members else "other"
            for piece in _pieces(s, prop, measure, page_w - 2 * (_MARGIN + _PAD)):
                w = measure.get_text_width_height_descent(piece, prop, ismath=False)[0] + 2 * _PAD
                if x > _MARGIN and x + w > page_w - _MARGIN:
                    x = _MARGIN
                    y += line_h
                items.append((x + _PAD, y, piece, kind, value / scale))
                x += w + _GAP
        y += line_h * 1.45
    if not top:
        items.append((_MARGIN, y, "No terms to show.", "other", 0.0))
        y += line_h
    return items, y + _MARGIN - line_h * 0.45


def _pieces(text: str, prop: Any, measure: Any, max_w: float) -> list[str]:
    """``text`` as it is when it fits on a line, else cut at spaces into pieces that do
    (a sentence-long token wraps instead of running off the page)."""

    def width(s: str) -> float:
        return measure.get_text_width_height_descent(s, prop, ismath=False)[0]

    if width(text) <= max_w:
        return [text]
    pieces: list[str] = []
    for word in text.split(" "):
        if pieces and width(pieces[-1] + " " + word) <= max_w:
            pieces[-1] += " " + word
        else:
            pieces.append(word)
    return [p for p in pieces if p]


def _draw(fig: Figure, ax: Axes, items: list[_Item], fontsize: float) -> None:
    """Draw the laid-out texts on a full-figure axes."""
    from matplotlib.font_manager import FontProperties

    prop = FontProperties(size=fontsize)
    fonts = {
        "title": FontProperties(size=fontsize * 1.15, weight="bold"),
        "head": FontProperties(size=fontsize, weight="bold"),
        "member": prop,
        "other": prop,
    }
    fig_h = fig.get_figheight() * 72.0
    for x, y, s, kind, strength in items:
        base = POSITIVE if strength >= 0 else NEGATIVE
        style: dict = {"color": {"title": "#222222", "head": base}.get(kind, "#6b6b6b")}
        if kind == "member":
            level = 0.3 + 0.7 * abs(strength)
            style["color"] = "white" if level > 0.6 else "black"
            style["bbox"] = {
                "boxstyle": f"round,pad={_PAD / fontsize:.3f}",
                "facecolor": _tint(base, level),
                "edgecolor": base,
                "linewidth": 1.0,
            }
        ax.text(
            x / 72.0,
            (fig_h - y - fontsize) / 72.0,
            s,
            transform=fig.dpi_scale_trans,
            fontproperties=fonts[kind],
            parse_math=False,
            **style,
        )
