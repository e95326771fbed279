"""A self-contained HTML report of an explanation: text with hover, top-k table, plots.

The page has no external resources at all: CSS and JavaScript are inline, plots are PNG
data URIs, and the data the script reads is JSON inside a ``<script type="application/json">``
element with ``<``, ``>`` and ``&`` escaped, so no input can close the tag. Every token,
label and diagnostic is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from captum_spex._validation import Int, param_error
from captum_spex._version import __version__
from captum_spex.viz._common import (
    NEGATIVE,
    POSITIVE,
    check_interactions,
    check_tokens,
    check_view_params,
    column_of,
    display_names,
    index_title,
    per_feature,
    ranked_terms,
    require_pyplot,
    shown_token,
    term_label,
)
from captum_spex.viz._report_assets import CSS, JS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from captum_spex.indices import IndexName
    from captum_spex.interactions import Interactions

__all__ = ["html_report", "json_for_script"]

#: Interactions (order >= 2) available to the hover panel, at least.
_N_HOVER = 40


def json_for_script(value: Any) -> str:
    """JSON safe to embed in a ``<script>`` element: ``<``, ``>``, ``&`` are escaped.

    Examples
    --------
    >>> json_for_script({"t": "</script><b>&"})
    '{"t": "\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e\\\\u0026"}'
    """
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    for char, code in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, code)
    return text


def _png_data_uri(fig: Figure) -> str:
    plt = require_pyplot()
    buf = io.BytesIO()
    try:
        # No Software metadata: the page must not hold a single external address.
        fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    finally:
        plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _rgba(value: float, scale: float) -> str:
    color = POSITIVE if value >= 0 else NEGATIVE
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    strength = 0.0 if scale <= 0 else min(abs(value) / scale, 1.0)
    return f"rgba({r}, {g}, {b}, {0.08 + 0.6 * strength:.3f})" if strength > 0 else "transparent"


def _fmt(value: float) -> str:
    return f"{value:+.4g}"


def _diag_value(value: Any) -> str | None:
    if value is None or isinstance(value, (bool, str, int)):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if (
        isinstance(value, list)
        and len(value) <= 16
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    ):
        return "[" + ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in value) + "]"
    return None


def _bar(value: float, scale: float) -> str:
    width = 0.0 if scale <= 0 else 100.0 * min(abs(value) / scale, 1.0)
    color = "var(--pos)" if value >= 0 else "var(--neg)"
    span = f'<span style="width:{width:.1f}%;background:{color}"></span>'
    left, right = ("", span) if value >= 0 else (span, "")
    return (
        f'<div class="bar"><div class="half left">{left}</div><div class="half">{right}</div></div>'
    )


def html_report(
    interactions: Interactions,
    tokens: Sequence[str] | None = None,
    title: str = "SPEX interactions",
    k: int = 10,
    *,
    index: IndexName = "mobius",
    order: int | None = None,
    output: int | None = None,
    plots: bool = True,
    image: Any = None,
    feature_mask: Any = None,
    path: str | os.PathLike[str] | None = None,
) -> str:
    """A self-contained HTML page explaining ``interactions``.

    The page shows the text (each word tinted by its Shapley value; hovering a word lists
    its interactions and outlines the words it interacts with), the top-``k`` table
    (hovering a row outlines its words), the plots as embedded PNGs (top-k bar chart,
    pairwise heatmap, and the segment panels when ``image`` and ``feature_mask`` are
    given) and the run's diagnostics. It loads nothing from the network.

    Parameters
    ----------
    interactions : Interactions
        The explanation.
    tokens : sequence of str, optional
        One word per feature; default ``interactions.feature_names`` (else the ids).
    title : str, default "SPEX interactions"
        The page title (escaped).
    k : int, default 10
        Rows of the top-k table and bars of the bar chart.
    index : str, default "mobius"
        Index of the table, the bar chart and the hover lists.
    order : int, optional
        The index order, see ``Interactions.index``.
    output : int, optional
        Output shown for a multi-output explanation (default 0, the total).
    plots : bool, default True
        Embed the matplotlib plots (needs the ``viz`` extra); the rest of the page does
        not need matplotlib.
    image, feature_mask : array_like, optional
        An image and its segment mask, to add :func:`plot_image_interactions` panels.
    path : str or path-like, optional
        Also write the page there (UTF-8).

    Returns
    -------
    str
        The HTML document.

    Examples
    --------
    >>> from captum_spex import Interactions
    >>> inter = Interactions(3, [(), (0, 2), (1,)], [0.0, 1.0, -0.5])
    >>> page = html_report(inter, ["amazon", "<is>", "river"], plots=False)
    >>> "&lt;is&gt;" in page and "<is>" not in page
    True
    """
    caller = "html_report"
    interactions = check_interactions(interactions, caller)
    check_view_params(
        caller,
        interactions,
        {"k": Int(1)},
        k=k,
        title=title,
        index=index,
        order=order,
        output=output,
        path=path,
    )
    if (image is None) != (feature_mask is None):
        missing, other = ("image", "feature_mask") if image is None else ("feature_mask", "image")
        raise param_error(caller, missing, f"given together with '{other}'", None)
    if tokens is None:
        tokens = interactions.feature_names
    noun, heading = ("word", "Text") if tokens is not None else ("feature", "Features")
    words = (
        [str(i) for i in range(interactions.n_features)]
        if tokens is None
        else check_tokens(tokens, interactions.n_features, "tokens", caller)
    )
    shown = [shown_token(w) for w in words]
    names = display_names(interactions, shown)
    column = column_of(output)
    index_name = index_title(interactions, index, order)
    shapley = per_feature(interactions, "shapley", column)
    top = ranked_terms(interactions, k, index, order, column)
    hover = ranked_terms(interactions, max(4 * k, _N_HOVER), index, order, column, 2)
    caption = f"Top {len(top)} terms by |{index_name}|."
    figures = (
        _figures(interactions, k, index, order, column, names, image, feature_mask, caption)
        if plots
        else []
    )
    payload = {
        "tokens": shown,
        "shapley": [float(v) for v in shapley],
        "index": index_name,
        "noun": noun,
        "hover": _term_records(hover, names),
        "top": _term_records(top, names),
    }
    page = _page(
        title=title,
        meta=_meta(interactions, column),
        heading=heading,
        noun=noun,
        tokens=_tokens_html(shown, shapley),
        n_top=len(top),
        index_name=index_name,
        rows=_rows_html(top, names),
        plots=_plots_html(figures),
        diagnostics=_diagnostics_html(interactions),
        payload=payload,
    )
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page


def _term_records(
    terms: Sequence[tuple[tuple[int, ...], float]], names: list[str]
) -> list[dict[str, Any]]:
    """The terms as the script reads them: features, value and label."""
    return [
        {"features": list(term), "value": v, "label": term_label(term, names)} for term, v in terms
    ]


def _tokens_html(shown: list[str], shapley: np.ndarray) -> str:
    """The text, each token tinted by its Shapley value."""
    scale = float(np.abs(shapley).max()) if shapley.size else 0.0
    return "".join(
        f'<span class="tok" data-i="{i}" style="background:{_rgba(float(v), scale)}" '
        f'title="Shapley {_fmt(float(v))}">{html.escape(s)}</span> '
        for i, (s, v) in enumerate(zip(shown, shapley, strict=True))
    )


def _rows_html(top: Sequence[tuple[tuple[int, ...], float]], names: list[str]) -> str:
    """The rows of the top-k table."""
    scale = max((abs(v) for _, v in top), default=0.0)
    rows = "".join(
        f'<tr data-f="{" ".join(str(i) for i in term)}"><td class="num">{r}</td>'
        f'<td class="term">{html.escape(term_label(term, names))}</td>'
        f'<td class="num">{len(term)}</td>'
        f'<td class="num {"pos" if v >= 0 else "neg"}">{_fmt(v)}</td>'
        f'<td class="barcell">{_bar(v, scale)}</td></tr>'
        for r, (term, v) in enumerate(top, start=1)
    )
    return rows or '<tr><td colspan="5">The explanation has no non-constant term.</td></tr>'


def _figures(
    interactions: Interactions,
    k: int,
    index: str,
    order: int | None,
    column: int,
    names: list[str],
    image: Any,
    feature_mask: Any,
    top_caption: str,
) -> list[tuple[str, str]]:
    """The plots as PNG data URIs, with their captions."""
    from captum_spex.viz.image import plot_image_interactions
    from captum_spex.viz.plots import plot_interaction_heatmap, plot_top_interactions

    fig, _ = plot_top_interactions(
        interactions, k, index=index, order=order, output=column, feature_names=names
    )
    figures = [(_png_data_uri(fig), top_caption)]
    if interactions.n_features >= 2:
        m = min(10, interactions.n_features)
        fig, _ = plot_interaction_heatmap(interactions, m, output=column, feature_names=names)
        caption = (
            f"Pairwise FSII (order 2) among the {m} features of largest |Shapley|; "
            "the diagonal is left blank."
        )
        figures.append((_png_data_uri(fig), caption))
    if image is not None and feature_mask is not None:
        fig, _ = plot_image_interactions(
            interactions,
            image,
            feature_mask,
            k=min(k, 8),
            index=index,
            order=order,
            output=column,
            segment_names=names,
        )
        figures.append((_png_data_uri(fig), "Segments of the top terms."))
    return figures


def _plots_html(figures: list[tuple[str, str]]) -> str:
    esc = html.escape
    return "".join(
        f'<figure><img src="{uri}" alt="{esc(cap)}"><figcaption>{esc(cap)}</figcaption></figure>'
        for uri, cap in figures
    )


def _diagnostics_html(interactions: Interactions) -> str:
    """The run's summary and diagnostics as ``<dt>``/``<dd>`` pairs."""
    diag = {
        "method": interactions.method,
        "n_features": interactions.n_features,
        "n_terms": len(interactions),
        "n_queries": interactions.n_queries,
        "max_degree": interactions.max_degree,
        "n_outputs": interactions.n_outputs,
    }
    diag.update(interactions.diagnostics)
    return "".join(
        f"<dt>{html.escape(str(key))}</dt><dd>{html.escape(text)}</dd>"
        for key, value in diag.items()
        if (text := _diag_value(value)) is not None
    )


def _meta(interactions: Interactions, column: int) -> str:
    """The line under the title: sizes, queries, method, estimated R², output."""
    r2 = interactions.diagnostics.get("r2_estimate")
    if isinstance(r2, list):
        r2 = r2[column] if column < len(r2) else None
    meta = [
        f"{interactions.n_features} features",
        f"{len(interactions)} Fourier terms",
        f"{interactions.n_queries} model queries",
        f"method {interactions.method}",
    ]
    if isinstance(r2, (int, float)) and math.isfinite(r2):
        meta.append(f"estimated R² {r2:.3f}")
    if interactions.n_outputs > 1:
        meta.append(f"output {column} of {interactions.n_outputs}")
    return " · ".join(meta)


def _page(
    *,
    title: str,
    meta: str,
    heading: str,
    noun: str,
    tokens: str,
    n_top: int,
    index_name: str,
    rows: str,
    plots: str,
    diagnostics: str,
    payload: Any,
) -> str:
    """The HTML document around the prepared pieces (``title``, ``meta`` are escaped here)."""
    esc = html.escape
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="captum-spex {esc(__version__)}">
<title>{esc(title)}</title>
<style>{CSS % {"pos": POSITIVE, "neg": NEGATIVE}}</style>
</head>
<body>
<main id="spex-report" data-spex-ready="0">
<header><h1>{esc(title)}</h1><p class="meta">{esc(meta)}</p></header>
<section id="spex-text"><h2>{heading}</h2>
<p class="hint legend">Each {noun} is tinted by its Shapley value
<span class="sw" style="background:{POSITIVE}"></span>positive
<span class="sw" style="background:{NEGATIVE}"></span>negative.
Hover a {noun} to list its interactions and outline the {noun}s it interacts with.</p>
<div class="textview"><div class="tokens" id="spex-tokens">{tokens}</div>
<aside id="spex-detail">Hover a {noun} to see its interactions.</aside></div>
</section>
<section id="spex-top"><h2>Top {n_top} terms by |{esc(index_name)}|</h2>
<p class="hint">Hover a row to outline its {noun}s above.</p>
<table><thead><tr><th>#</th><th>Term</th><th>Order</th><th>Value</th><th></th></tr></thead>
<tbody>{rows}</tbody></table>
</section>
{f'<section id="spex-plots"><h2>Plots</h2>{plots}</section>' if plots else ""}
<section id="spex-diagnostics"><h2>Diagnostics</h2><dl class="diag">{diagnostics}</dl></section>
<footer>Generated by captum-spex. Self-contained: this page loads nothing from the
network.</footer>
</main>
<script type="application/json" id="spex-data">{json_for_script(payload)}</script>
<script>{JS}</script>
</body>
</html>
"""
