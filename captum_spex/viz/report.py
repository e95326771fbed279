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

from captum_spex.indices import ORDERED_INDICES
from captum_spex.viz._common import (
    NEGATIVE,
    POSITIVE,
    check_int,
    check_interactions,
    check_tokens,
    display_names,
    index_title,
    per_feature,
    ranked_terms,
    require_pyplot,
    resolve_output,
    shown_token,
    term_label,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from captum_spex.indices import IndexName
    from captum_spex.interactions import Interactions

__all__ = ["html_report", "json_for_script"]

#: Interactions (order >= 2) available to the hover panel, at least.
_N_HOVER = 40

_CSS = """
:root { --pos: %(pos)s; --neg: %(neg)s; --ink: #1f2328; --muted: #656d76; --line: #d8dee4; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f8fa; color: var(--ink);
  font: 15px/1.5 -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 20px 24px 40px; }
h1 { font-size: 24px; margin: 4px 0 2px; }
h2 { font-size: 17px; margin: 0 0 10px; }
.meta { color: var(--muted); margin: 0 0 16px; font-size: 13px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 14px 18px; margin: 14px 0; }
.hint { color: var(--muted); font-size: 13px; margin: -6px 0 10px; }
.textview { display: grid; grid-template-columns: minmax(0, 2fr) minmax(220px, 1fr); gap: 16px; }
.tokens { line-height: 2.3; font-size: 16px; }
.tok { display: inline-block; padding: 0 5px; margin: 0 2px; border-radius: 4px;
  border: 1px solid transparent; line-height: 1.6; cursor: default; white-space: pre; }
.tok:focus { outline: none; }
.tok.focus { border-color: var(--ink); box-shadow: 0 0 0 2px #ffd33d; }
.tok.partner { border-color: var(--ink); border-style: dashed; }
#spex-detail { border-left: 3px solid var(--line); padding: 2px 0 2px 12px; font-size: 14px;
  min-height: 80px; align-self: start; position: sticky; top: 12px; }
#spex-detail .dhead { font-weight: 600; margin-bottom: 6px; overflow-wrap: anywhere; }
#spex-detail ul { margin: 0; padding-left: 18px; }
#spex-detail li { overflow-wrap: anywhere; }
.pos { color: var(--pos); } .neg { color: var(--neg); }
table { border-collapse: collapse; width: 100%%; font-size: 14px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line);
  vertical-align: middle; }
th { color: var(--muted); font-weight: 600; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; text-align: right; }
td.term { overflow-wrap: anywhere; }
tr[data-f]:hover { background: #fff8c5; }
.barcell { width: 34%%; }
.bar { display: flex; height: 12px; }
.bar span { display: block; height: 12px; }
.bar .half { width: 50%%; display: flex; }
.bar .half.left { justify-content: flex-end; border-right: 1px solid var(--muted); }
figure { margin: 8px 0 14px; }
figure img { max-width: 100%%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 13px; }
.legend span.sw { display: inline-block; width: 12px; height: 12px; border-radius: 2px;
  vertical-align: -1px; margin: 0 4px 0 10px; }
dl.diag { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0;
  font-size: 14px; }
dl.diag dt { color: var(--muted); } dl.diag dd { margin: 0; overflow-wrap: anywhere; }
footer { color: var(--muted); font-size: 12px; text-align: center; margin-top: 18px; }
@media (max-width: 760px) { .textview { grid-template-columns: 1fr; } }
"""

_JS = r"""
(function () {
  "use strict";
  var root = document.getElementById("spex-report");
  var data = JSON.parse(document.getElementById("spex-data").textContent);
  var toks = Array.prototype.slice.call(document.querySelectorAll("#spex-tokens .tok"));
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-f]"));
  var detail = document.getElementById("spex-detail");
  var byTok = toks.map(function () { return []; });
  data.hover.forEach(function (t, j) {
    t.features.forEach(function (i) { if (byTok[i]) { byTok[i].push(j); } });
  });
  function fmt(v) {
    var s = Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toFixed(Math.abs(v) < 1 ? 3 : 2)
      : v.toExponential(2);
    return (v >= 0 ? "+" : "") + s;
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function clear() {
    toks.forEach(function (t) { t.classList.remove("focus", "partner"); });
  }
  function mark(features, focus) {
    features.forEach(function (f) {
      if (toks[f]) { toks[f].classList.add(f === focus ? "focus" : "partner"); }
    });
  }
  function showToken(i) {
    clear();
    if (detail) {
      while (detail.firstChild) { detail.removeChild(detail.firstChild); }
      detail.appendChild(el("div", "dhead",
        data.tokens[i] + " \u00b7 Shapley " + fmt(data.shapley[i])));
    }
    toks[i].classList.add("focus");
    var list = byTok[i];
    if (!detail) { return; }
    if (!list.length) {
      detail.appendChild(el("div", "hint",
        "None of the top " + data.hover.length + " interactions involves this " + data.noun + "."));
      return;
    }
    detail.appendChild(el("div", "hint",
      "Interactions with this " + data.noun + " (" + data.index + "):"));
    var ul = el("ul");
    list.slice(0, 12).forEach(function (j) {
      var t = data.hover[j];
      var li = el("li", t.value >= 0 ? "pos" : "neg", t.label + "  " + fmt(t.value));
      ul.appendChild(li);
      mark(t.features, i);
    });
    detail.appendChild(ul);
  }
  toks.forEach(function (t, i) {
    t.tabIndex = 0;
    t.addEventListener("mouseenter", function () { showToken(i); });
    t.addEventListener("focus", function () { showToken(i); });
  });
  rows.forEach(function (r) {
    r.addEventListener("mouseenter", function () {
      clear();
      mark(r.getAttribute("data-f").split(" ").map(Number), -1);
    });
    r.addEventListener("mouseleave", clear);
  });
  var focus = /spex-focus=(\d+)/.exec(window.location.hash);
  if (focus && toks[Number(focus[1])]) { showToken(Number(focus[1])); }
  root.setAttribute("data-spex-ready", "1");
})();
"""


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
    interactions = check_interactions(interactions)
    k = check_int(k, "k", 1)
    if not isinstance(title, str):
        raise TypeError(f"The 'title' parameter must be a str. Got {title!r} instead.")
    if (image is None) != (feature_mask is None):
        raise ValueError("The 'image' and 'feature_mask' parameters must be given together.")
    if tokens is None:
        tokens = interactions.feature_names
    noun, heading = ("word", "Text") if tokens is not None else ("feature", "Features")
    words = (
        [str(i) for i in range(interactions.n_features)]
        if tokens is None
        else check_tokens(tokens, interactions.n_features, "tokens")
    )
    shown = [shown_token(w) for w in words]
    names = display_names(interactions, shown)
    column = resolve_output(interactions, output)
    resolved = order
    if resolved is None and index in ORDERED_INDICES:
        resolved = min(max(interactions.max_degree, 1), interactions.n_features)
    index_name = index_title(index, resolved)
    shapley = per_feature(interactions, "shapley", column)
    top = ranked_terms(interactions, k, index, order, column)
    hover = ranked_terms(interactions, max(4 * k, _N_HOVER), index, order, column, 2)
    esc = html.escape

    # ---- text
    phi_scale = float(np.abs(shapley).max()) if shapley.size else 0.0
    token_html = "".join(
        f'<span class="tok" data-i="{i}" style="background:{_rgba(float(v), phi_scale)}" '
        f'title="Shapley {_fmt(float(v))}">{esc(s)}</span> '
        for i, (s, v) in enumerate(zip(shown, shapley, strict=True))
    )
    # ---- table
    top_scale = max((abs(v) for _, v in top), default=0.0)
    rows = "".join(
        f'<tr data-f="{" ".join(str(i) for i in term)}"><td class="num">{r}</td>'
        f'<td class="term">{esc(term_label(term, names))}</td><td class="num">{len(term)}</td>'
        f'<td class="num {"pos" if v >= 0 else "neg"}">{_fmt(v)}</td>'
        f'<td class="barcell">{_bar(v, top_scale)}</td></tr>'
        for r, (term, v) in enumerate(top, start=1)
    )
    if not rows:
        rows = '<tr><td colspan="5">The explanation has no non-constant term.</td></tr>'
    # ---- plots
    figures: list[tuple[str, str]] = []
    if plots:
        from captum_spex.viz.image import plot_image_interactions
        from captum_spex.viz.plots import plot_interaction_heatmap, plot_top_interactions

        fig, _ = plot_top_interactions(
            interactions, k, index=index, order=order, output=column, feature_names=names
        )
        figures.append((_png_data_uri(fig), f"Top {len(top)} terms by |{index_name}|."))
        if interactions.n_features >= 2:
            m = min(10, interactions.n_features)
            fig, _ = plot_interaction_heatmap(interactions, m, output=column, feature_names=names)
            figures.append(
                (
                    _png_data_uri(fig),
                    f"Pairwise FSII (order 2) among the {m} features of largest |Shapley|; "
                    "the diagonal is left blank.",
                )
            )
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
    plots_html = "".join(
        f'<figure><img src="{uri}" alt="{esc(cap)}"><figcaption>{esc(cap)}</figcaption></figure>'
        for uri, cap in figures
    )
    # ---- diagnostics
    diag = {
        "method": interactions.method,
        "n_features": interactions.n_features,
        "n_terms": len(interactions),
        "n_queries": interactions.n_queries,
        "max_degree": interactions.max_degree,
        "n_outputs": interactions.n_outputs,
    }
    diag.update(interactions.diagnostics)
    diag_html = "".join(
        f"<dt>{esc(str(key))}</dt><dd>{esc(text)}</dd>"
        for key, value in diag.items()
        if (text := _diag_value(value)) is not None
    )
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

    payload = {
        "tokens": shown,
        "shapley": [float(v) for v in shapley],
        "index": index_name,
        "noun": noun,
        "hover": [
            {"features": list(term), "value": v, "label": term_label(term, names)}
            for term, v in hover
        ],
        "top": [
            {"features": list(term), "value": v, "label": term_label(term, names)}
            for term, v in top
        ],
    }
    import captum_spex

    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="captum-spex {esc(captum_spex.__version__)}">
<title>{esc(title)}</title>
<style>{_CSS % {"pos": POSITIVE, "neg": NEGATIVE}}</style>
</head>
<body>
<main id="spex-report" data-spex-ready="0">
<header><h1>{esc(title)}</h1><p class="meta">{esc(" · ".join(meta))}</p></header>
<section id="spex-text"><h2>{heading}</h2>
<p class="hint legend">Each {noun} is tinted by its Shapley value
<span class="sw" style="background:{POSITIVE}"></span>positive
<span class="sw" style="background:{NEGATIVE}"></span>negative.
Hover a {noun} to list its interactions and outline the {noun}s it interacts with.</p>
<div class="textview"><div class="tokens" id="spex-tokens">{token_html}</div>
<aside id="spex-detail">Hover a {noun} to see its interactions.</aside></div>
</section>
<section id="spex-top"><h2>Top {len(top)} terms by |{esc(index_name)}|</h2>
<p class="hint">Hover a row to outline its {noun}s above.</p>
<table><thead><tr><th>#</th><th>Term</th><th>Order</th><th>Value</th><th></th></tr></thead>
<tbody>{rows}</tbody></table>
</section>
{f'<section id="spex-plots"><h2>Plots</h2>{plots_html}</section>' if plots_html else ""}
<section id="spex-diagnostics"><h2>Diagnostics</h2><dl class="diag">{diag_html}</dl></section>
<footer>Generated by captum-spex. Self-contained: this page loads nothing from the
network.</footer>
</main>
<script type="application/json" id="spex-data">{json_for_script(payload)}</script>
<script>{_JS}</script>
</body>
</html>
"""
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page
