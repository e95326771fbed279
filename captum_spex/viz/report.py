"""A self-contained HTML report of an explanation a reader understands without the docs:
what was asked of which model, what is explained, how good the fit is (in words), the
text with hover, the top terms with their meaning, one tab per answer token, the plots and
the labelled diagnostics.

The page has no external resources at all: CSS and JavaScript are inline, plots are PNG
data URIs, and the data the script reads is JSON inside a ``<script type="application/json">``
element with ``<``, ``>`` and ``&`` escaped, so no input can close the tag. Every token,
label and diagnostic is HTML-escaped, and every user string sits in its own ``<bdi>``.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from captum_spex._validation import Instance, Int, Optional, Options, param_error
from captum_spex._version import __version__
from captum_spex.indices import INDICES
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
    shorten,
    shown_token,
)
from captum_spex.viz._report_assets import CSS, JS
from captum_spex.viz._report_explain import Numbers, diagnostic_rows, fit_line, plural, quantity
from captum_spex.viz._report_html import (
    View,
    bdi,
    diagnostics_html,
    lede,
    summary_html,
    tabs_html,
    term_records,
    view_html,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from captum_spex.indices import IndexName
    from captum_spex.interactions import Interactions

__all__ = ["html_report", "json_for_script"]

#: Interactions (order >= 2) available to the hover panel, at least.
_N_HOVER = 40
#: Longest name (characters) in the tables and the hover panel; the text shows it whole.
_NAME_CHARS = 60
#: Beyond this many outputs only the open tab gets plots (each view's plots cost ~0.5 s).
_MAX_PLOTTED = 12
_UNITS = ("word", "sentence", "token", "feature", "segment")
_TEXT = Optional(Instance(str, "a str"))
_REPORT_PARAMS = {
    "k": Int(1),
    "unit": Optional(Options(_UNITS)),
    "question": _TEXT,
    "model": _TEXT,
    "target": _TEXT,
    "prompt_template": _TEXT,
}
_SHORT_QUANTITY = {"log_prob": "log-probability", "prob": "probability"}


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
    unit: str | None = None,
    question: str | None = None,
    model: str | None = None,
    target: str | None = None,
    prompt_template: str | None = None,
    output_tokens: Sequence[str] | None = None,
) -> str:
    """A self-contained HTML page explaining ``interactions``, readable without the docs.

    The page says what was asked of which model (``model``, ``question``, ``target``,
    ``prompt_template``, when given), what is explained and how well the surrogate fits,
    in words (e.g. "The surrogate explains 93% of the variance of the answer's
    log-probability on held-out masks (cross-validated; R² = 0.93): a good fit ...").
    Then, per output (one tab per output of a multi-output explanation: the whole answer
    and each answer token), the text with each ``unit`` tinted by its Shapley value (hovering
    one lists its interactions and outlines its partners) and the top-``k`` table with what
    each term means (tied values are pointed out, a repeated word's ``[k]`` suffix, its
    k-th occurrence, is explained), and its plots (top-k bars; a pairwise heatmap of the
    *same* index as the table; segment panels when ``image`` and ``feature_mask`` are
    given). Last, the labelled raw diagnostics in a closed ``<details>``. Every user string
    sits in a ``<bdi>``. It loads nothing from the network.

    Parameters
    ----------
    interactions : Interactions
        The explanation; a multi-output one (as ``LLMSpexAttributionResult.
        raw_interactions``: output 0 the whole answer, ``j`` answer token ``j``) gets
        one tab per output.
    tokens : sequence of str, optional
        One string per feature; default ``interactions.feature_names`` (else the ids).
    title : str, default "SPEX interactions"
        The page title (escaped).
    k : int, default 10
        Rows of each top-k table and bars of the bar chart.
    index : str, default "mobius"
        Index of the tables, the plots and the hover lists. With "mobius" each row says
        what the term means.
    order : int, optional
        The index order, see ``Interactions.index``.
    output : int, optional
        The output whose tab is open first (default 0). Every tab has its plots, up to 12
        outputs; beyond that only this one.
    plots : bool, default True
        Embed the matplotlib plots (needs the ``viz`` extra); the rest of the page does
        not need matplotlib.
    image, feature_mask : array_like, optional
        An image and its segment mask, to add :func:`plot_image_interactions` panels.
    path : str or path-like, optional
        Also write the page there (UTF-8).
    unit : {"word", "sentence", "token", "feature", "segment"}, optional
        What one feature is, for the page's words ("Hover a sentence"); default "word"
        with tokens, "segment" with an image, else "feature".
    question, model, target, prompt_template : str, optional
        The question asked, the model's name, the answer explained and the prompt around
        the features (e.g. with ``{passage}`` where the features go), shown in the summary.
    output_tokens : sequence of str, optional
        The answer's tokens, one per output after the first (``n_outputs - 1``): they name
        the tabs ("Token 2: Rivers").

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
    strings = {"question": question, "model": model, "target": target}
    params = check_view_params(
        caller,
        interactions,
        _REPORT_PARAMS,
        k=k,
        title=title,
        index=index,
        order=order,
        output=output,
        path=path,
        unit=unit,
        prompt_template=prompt_template,
        **strings,
    )
    if (image is None) != (feature_mask is None):
        missing, other = ("image", "feature_mask") if image is None else ("feature_mask", "image")
        raise param_error(caller, missing, f"given together with '{other}'", None)
    if tokens is None:
        tokens = interactions.feature_names
    n = interactions.n_features
    words = (
        [str(i) for i in range(n)] if tokens is None else check_tokens(tokens, n, "tokens", caller)
    )
    out_tokens = None
    if output_tokens is not None:
        count, per = "n_outputs - 1", "output after the first (one per answer token)"
        out_tokens = [
            shown_token(t)
            for t in check_tokens(
                output_tokens, interactions.n_outputs - 1, "output_tokens", caller, count, per
            )
        ]
    if unit is None:
        unit = "segment" if image is not None else "word" if tokens is not None else "feature"
    shown = [shown_token(w) for w in words]
    full = display_names(interactions, shown)
    names = display_names(interactions, [shorten(s, _NAME_CHARS) for s in shown])
    source = (
        "image" if image is not None else "passage" if _is_llm(interactions, question) else "input"
    )
    views = _views(interactions, k, index, order, names, shown, unit, out_tokens)
    selected = column_of(output)
    if plots:
        for view in views:
            if view.column == selected or len(views) <= _MAX_PLOTTED:
                figures = _figures(
                    interactions, k, index, order, view.column, names, image, feature_mask, unit
                )
                view.extra["plots"] = _plots_html(figures)
    page = _page(
        interactions=interactions,
        title=title,
        views=views,
        selected=selected,
        shown=shown,
        names=names,
        full=full,
        unit=unit,
        source=source,
        strings={**strings, "prompt_template": prompt_template},
        plots=plots,
    )
    if params.get("path") is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page


def _is_llm(interactions: Interactions, question: str | None) -> bool:
    return question is not None or "attr_target" in interactions.diagnostics


def _views(
    interactions: Interactions,
    k: int,
    index: str,
    order: int | None,
    names: list[str],
    shown: list[str],
    noun: str,
    out_tokens: list[str] | None,
) -> list[View]:
    """One view per output: its tab, quantity, fit, Shapley values and terms."""
    diag = interactions.diagnostics
    n = interactions.n_features
    index_name = index_title(interactions, index, order)
    ends = np.atleast_2d(interactions.predict(np.array([np.zeros(n), np.ones(n)], dtype=bool)))
    ends = ends.reshape(2, -1)
    short = _SHORT_QUANTITY.get(str(diag.get("attr_target")), "output")
    # the first repeated name, to explain the suffix: ("QB", "QB[2]")
    second = next((i for i, nm in enumerate(names) if nm.endswith("[2]") and nm != shown[i]), None)
    dup = None if second is None else (names[second][:-3], names[second])
    views = []
    for j in range(interactions.n_outputs):
        token = out_tokens[j - 1] if out_tokens and j else None
        what = quantity(diag, j, token)
        shapley = per_feature(interactions, "shapley", j)
        top = ranked_terms(interactions, k, index, order, j)
        hover = ranked_terms(interactions, max(4 * k, _N_HOVER), index, order, j, 2)
        scale = max([abs(v) for _, v in top] + [float(np.abs(shapley).max(initial=0.0))])
        fmt = Numbers(scale)
        if out_tokens is not None:
            tab = "Whole answer" if j == 0 else f"Token {j}: {bdi(token or '')}"
            tab_text = "whole answer" if j == 0 else f"answer token {j} “{token}”"
        else:
            tab, tab_text = f"Output {j}", f"output {j}"
        note = _index_note(
            index, index_name, what, noun, fmt, ends[:, j], _anchor_gaps(interactions, j)
        )
        extra = {
            "mobius": index == "mobius",
            "short_what": short,
            "tab_text": tab_text,
            "dup": dup,
        }
        fit = fit_line(interactions, j, what)
        views.append(View(j, tab, what, fit, shapley, top, hover, fmt, index_name, note, extra))
    return views


def _anchor_gaps(interactions: Interactions, column: int) -> np.ndarray:
    """What the terms alone miss with every feature removed, then kept (zeros without
    anchor residuals)."""
    r = interactions.anchor_residuals
    if r is None:
        return np.zeros(2)
    r = np.asarray(r, dtype=np.float64).reshape(2, -1)[:, column]
    return np.array([r[1], r[0]])


def _index_note(
    index: str,
    index_name: str,
    what: str,
    noun: str,
    fmt: Numbers,
    ends: np.ndarray,
    gaps: np.ndarray | None = None,
) -> str:
    """What the table's values are, in one or two sentences. ``ends`` are the surrogate's
    values with every feature removed, then kept (the model's own when it was anchored
    there), ``gaps`` what the terms alone miss at those two points."""
    if index != "mobius":
        return f"Values are the {INDICES[index].description} ({index_name}) of {what}."
    nouns = plural(noun)
    gaps = np.zeros(2) if gaps is None else gaps
    terms = ends - gaps
    if not np.any(gaps):
        return (
            f"Möbius terms add up: for any choice of kept {nouns}, the surrogate predicts "
            f"{what} as the constant ({fmt(float(terms[0]))}, every {noun} removed) plus "
            f"every term whose {nouns} are all kept (in all, {fmt(float(terms[1]))} with "
            f"every {noun} kept)."
        )
    return (
        f"Möbius terms add up: for any choice of kept {nouns}, the surrogate predicts {what} "
        f"as the constant ({fmt(float(terms[0]))}) plus every term whose {nouns} are all "
        f"kept. With every {noun} removed and with every {noun} kept it gives the model's "
        f"own values, {fmt(float(ends[0]))} and {fmt(float(ends[1]))} (both queried): the "
        f"terms alone would give {fmt(float(terms[0]))} and {fmt(float(terms[1]))}."
    )


def _figures(
    interactions: Interactions,
    k: int,
    index: str,
    order: int | None,
    column: int,
    names: list[str],
    image: Any,
    feature_mask: Any,
    noun: str,
) -> list[tuple[str, str]]:
    """The plots of one output as PNG data URIs, with their captions."""
    from captum_spex.viz.image import plot_image_interactions
    from captum_spex.viz.plots import plot_interaction_heatmap, plot_top_interactions

    index_name = index_title(interactions, index, order)
    fig, _ = plot_top_interactions(
        interactions, k, index=index, order=order, output=column, feature_names=names
    )
    figures = [(_png_data_uri(fig), f"The top terms by |{index_name}|, as in the table.")]
    if interactions.n_features >= 2:
        m = min(10, interactions.n_features)
        fig, _ = plot_interaction_heatmap(
            interactions, m, index=index, output=column, feature_names=names
        )
        spec = INDICES[index]
        caption = (
            f"Pairwise {spec.label(2) if spec.ordered else spec.title} values among the {m} "
            f"{plural(noun, m)} of largest |Shapley value|; the diagonal is left blank."
        )
        if spec.ordered and interactions.resolve_order(index, order) != 2:
            caption += (
                f" An ordered index changes with its order: at order 2 it folds the "
                f"higher-order effects into the pairs, so these values differ from the "
                f"table's {index_name}."
            )
        else:
            caption += " These are the same values as in the table."
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


def _page(
    *,
    interactions: Interactions,
    title: str,
    views: list[View],
    selected: int,
    shown: list[str],
    names: list[str],
    full: list[str],
    unit: str,
    source: str,
    strings: dict[str, str | None],
    plots: bool,
) -> str:
    """The HTML document around the prepared pieces."""
    esc = html.escape
    panels = "".join(view_html(v, shown, names, full, unit, source, plots) for v in views)
    tabs, tab_css = tabs_html(views, selected, panels)
    labels = [v.extra["tab_text"] for v in views]
    payload = {
        "tokens": shown,
        "names": names,
        "noun": unit,
        "selected": selected,
        "views": [
            {
                "output": v.column,
                "index": v.index_name,
                "decimals": v.fmt.decimals,
                "shapley": [float(x) for x in v.shapley],
                "hover": term_records(v.hover, names),
                "top": term_records(v.top, names),
            }
            for v in views
        ],
    }
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="captum-spex {esc(__version__)}">
<title>{esc(title)}</title>
<style>{CSS % {"pos": POSITIVE, "neg": NEGATIVE}}{tab_css}</style>
</head>
<body>
<main id="spex-report" data-spex-ready="0">
<header><h1>{esc(title)}</h1><p class="lede">{lede(interactions, views, unit, source)}</p>
</header>
<section id="spex-summary"><h2>What was explained</h2>
{summary_html(interactions, views, unit, source, strings)}</section>
<section id="spex-explanation"><h2>Explanation</h2>{tabs}</section>
<section id="spex-diagnostics"><h2>Run details</h2>
{diagnostics_html(diagnostic_rows(interactions, labels))}</section>
<footer>Generated by captum-spex {esc(__version__)}. Self-contained: this page loads nothing
from the network.</footer>
</main>
<script type="application/json" id="spex-data">{json_for_script(payload)}</script>
<script>{JS}</script>
</body>
</html>
"""
