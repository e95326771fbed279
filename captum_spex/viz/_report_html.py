"""The pieces of the HTML report: the text view, the top-k table, the tabs, the summary
and the diagnostics, as HTML strings.

Every user string (tokens, names, question, model, answer, template) is escaped here and
wrapped in ``<bdi>``, so that a right-to-left override inside one cannot reorder what
follows it.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from captum_spex.viz._common import NEGATIVE, POSITIVE
from captum_spex.viz._report_explain import Numbers, plural, term_meaning, tie_groups, tie_note

if TYPE_CHECKING:
    from captum_spex.interactions import Interactions

__all__ = [
    "View",
    "bdi",
    "diagnostics_html",
    "lede",
    "summary_html",
    "tabs_html",
    "term_records",
    "view_html",
]

Terms = Sequence[tuple[tuple[int, ...], float]]


@dataclass
class View:
    """One output shown in the report: its tab, its words and its terms."""

    column: int
    tab: str
    what: str
    fit: tuple[str, str]
    shapley: np.ndarray
    top: Terms
    hover: Terms
    fmt: Numbers
    index_name: str
    index_note: str
    extra: dict[str, Any] = field(default_factory=dict)


def bdi(text: str) -> str:
    """``text`` escaped and isolated: ``<bdi>text</bdi>``."""
    return f"<bdi>{html.escape(text)}</bdi>"


def _bdi_label(term: Sequence[int], names: Sequence[str]) -> str:
    return " × ".join(bdi(names[i]) for i in term) if term else "∅"


def _rgba(value: float, scale: float) -> str:
    color = POSITIVE if value >= 0 else NEGATIVE
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    strength = 0.0 if scale <= 0 else min(abs(value) / scale, 1.0)
    return f"rgba({r}, {g}, {b}, {0.08 + 0.6 * strength:.3f})" if strength > 0 else "transparent"


def _bar(value: float, scale: float) -> str:
    width = 0.0 if scale <= 0 else 100.0 * min(abs(value) / scale, 1.0)
    color = "var(--pos)" if value >= 0 else "var(--neg)"
    span = f'<span style="width:{width:.1f}%;background:{color}"></span>'
    left, right = ("", span) if value >= 0 else (span, "")
    return (
        f'<div class="bar"><div class="half left">{left}</div><div class="half">{right}</div></div>'
    )


def _tokens_html(shown: list[str], names: list[str], view: View) -> str:
    """The text, each token tinted by its Shapley value, each in its own ``<bdi>``."""
    scale = float(np.abs(view.shapley).max()) if view.shapley.size else 0.0
    esc = html.escape
    return "".join(
        f'<bdi class="tok" data-i="{i}" style="background:{_rgba(float(v), scale)}" '
        f'title="{esc(name)} · Shapley {view.fmt(float(v))}">{esc(s)}</bdi> '
        for i, (s, name, v) in enumerate(zip(shown, names, view.shapley, strict=True))
    )


def _rows_html(view: View, names: list[str], full: list[str], noun: str, mobius: bool) -> str:
    """The rows of the top-k table; ties carry a mark."""
    top, fmt = view.top, view.fmt
    values = [v for _, v in top]
    tied = {r for g in tie_groups(values) for r in g}
    scale = max((abs(v) for v in values), default=0.0)
    short = view.extra.get("short_what", "value")
    rows = []
    for r, (term, v) in enumerate(top):
        tip = html.escape(" × ".join(full[i] for i in term))
        mark = ' <span class="tie" title="tied value">=</span>' if r in tied else ""
        meaning = term_meaning(term, v, fmt, noun, short) if mobius else ""
        unsure = top[r].covers_zero is True
        rows.append(
            f'<tr data-f="{" ".join(str(i) for i in term)}"'
            + (' class="unsure"' if unsure else "")
            + f'><td class="num">{r + 1}</td>'
            f'<td class="term" title="{tip}">{_bdi_label(term, names)}</td>'
            f'<td class="num">{len(term)}</td>'
            f'<td class="num {"pos" if v >= 0 else "neg"}">{fmt(v)}{mark}'
            f"{_error_html(top[r], fmt)}</td>"
            f'<td class="barcell">{_bar(v, scale)}</td>'
            + (f'<td class="meaning">{html.escape(meaning)}</td>' if mobius else "")
            + "</tr>"
        )
    if not rows:
        return '<tr><td colspan="6">The explanation has no non-constant term.</td></tr>'
    return "".join(rows)


def _error_html(term: Any, fmt: Numbers) -> str:
    """``± stderr`` after a value, and a mark when its 95% interval covers zero."""
    if term.stderr is None:
        return ""
    out = f' <span class="se" title="standard error">±{fmt.plain(float(term.stderr))}</span>'
    if term.covers_zero:
        tip = "its 95% interval (value ± 1.96 standard errors) covers zero"
        out += f' <span class="zero" title="{tip}">○</span>'
    return out


def _errors_note(top: list[Any]) -> str:
    """The line under the table that says what ± and ○ mean (empty without errors)."""
    if not top or top[0].stderr is None:
        return ""
    unsure = sum(1 for t in top if t.covers_zero)
    told = (
        f" {unsure} of these {len(top)} terms (marked ○, greyed) have a 95% interval that "
        "covers zero: at this budget they are not told apart from zero."
        if unsure
        else " Every term shown has a 95% interval clear of zero."
    )
    return f'<p class="note errors">± is the standard error of each value.{told}</p>'


def view_html(
    view: View,
    shown: list[str],
    names: list[str],
    full: list[str],
    noun: str,
    source: str,
    plots: bool = False,
) -> str:
    """One output's panel: its fit, the tinted text with the hover panel, the top table."""
    esc = html.escape
    j = view.column
    mobius = view.extra.get("mobius", False)
    nouns = plural(noun)
    dup = view.extra.get("dup")
    dup_note = (
        f" A {noun} that occurs more than once carries its occurrence number: "
        f"{bdi(dup[1])} is the {_ordinal(2)} {bdi(dup[0])} of the {source}."
        if dup
        else ""
    )
    ties = tie_note(tie_groups([v for _, v in view.top]), [v for _, v in view.top], view.fmt)
    head = "<th>What it means</th>" if mobius else ""
    return f"""<div class="view" id="spex-view-{j}" data-output="{j}">
<p class="fit {esc(view.fit[1])}" id="spex-fit-{j}"><b>Fit:</b> {esc(view.fit[0])}</p>
<h3>The {esc(source)}, {esc(noun)} by {esc(noun)}</h3>
<p class="hint legend">Each {esc(noun)} is tinted by its Shapley value: its share of
every term it is in.
<span class="key"><span class="sw" style="background:{POSITIVE}"></span>raises</span>
<span class="key"><span class="sw" style="background:{NEGATIVE}"></span>lowers</span>
the {esc(view.extra.get("short_what", "output"))}. Hover a {esc(noun)} to list its interactions
and outline the {esc(nouns)} it interacts with.{dup_note}</p>
<div class="textview"><div class="tokens">{_tokens_html(shown, names, view)}</div>
<aside class="detail" id="spex-detail-{j}">Hover a {esc(noun)} to see its interactions.</aside>
</div>
<h3>Top {len(view.top)} terms by |{esc(view.index_name)}|</h3>
<p class="hint">{esc(view.index_note)} Hover a row to outline its {esc(nouns)} above.</p>
<table class="top"><thead><tr><th>#</th><th>Term</th><th>Order</th><th>Value</th><th></th>{head}
</tr></thead><tbody>{_rows_html(view, names, full, noun, mobius)}</tbody></table>
{_errors_note(view.top)}
{f'<p class="note ties">{esc(ties)}</p>' if ties else ""}
{_view_plots(view, plots)}
</div>"""


def _view_plots(view: View, plots: bool) -> str:
    if not plots:
        return ""
    figures = view.extra.get("plots")
    if figures is None:
        return (
            '<h3>Plots</h3><p class="hint">Plots are drawn for the tab opened first only '
            "(this explanation has many outputs).</p>"
        )
    return f'<h3>Plots</h3><div class="plots">{figures}</div>'


def _ordinal(n: int) -> str:
    return {1: "first", 2: "second", 3: "third"}.get(n, f"{n}th")


def tabs_html(views: list[View], selected: int, panels: str) -> tuple[str, str]:
    """The radio-button tabs around the panels (they work without script), and their
    CSS rules; a single view gets no tabs."""
    if len(views) == 1:
        return f'<div class="views single">{panels}</div>', ""
    inputs = "".join(
        f'<input type="radio" name="spex-tab" class="tabradio" id="spex-tab-{v.column}" '
        f'value="{v.column}"{" checked" if v.column == selected else ""}>'
        for v in views
    )
    labels = "".join(f'<label for="spex-tab-{v.column}" role="tab">{v.tab}</label>' for v in views)
    css = "".join(
        f"#spex-tab-{v.column}:checked ~ #spex-view-{v.column} {{ display: block; }}\n"
        f'#spex-tab-{v.column}:checked ~ .tablist label[for="spex-tab-{v.column}"] '
        "{ background: #fff; border-bottom-color: #fff; color: var(--ink); "
        "font-weight: 600; }\n"
        for v in views
    )
    body = f'<div class="views tabs">{inputs}<div class="tablist" role="tablist">{labels}</div>'
    return body + f"{panels}</div>", css


def facts_html(facts: list[tuple[str, str, str]]) -> str:
    """The summary as ``<dt>``/``<dd>`` pairs of (id, label, HTML)."""
    return "".join(
        f'<dt>{html.escape(label)}</dt><dd id="spex-{key}">{body}</dd>'
        for key, label, body in facts
    )


def diagnostics_html(rows: list[tuple[str, str, str]]) -> str:
    """The raw diagnostics, labelled, inside a closed ``<details>``."""
    esc = html.escape
    body = "".join(
        f"<tr><td>{esc(label)}</td><td><code>{esc(key)}</code></td><td>{esc(value)}</td></tr>"
        for label, key, value in rows
    )
    return (
        f"<details><summary>Raw diagnostics of the run ({len(rows)} entries)</summary>"
        '<table class="diag"><thead><tr><th>What</th><th>Key</th><th>Value</th></tr></thead>'
        f"<tbody>{body}</tbody></table></details>"
    )


def term_records(terms: Terms, names: list[str]) -> list[dict[str, Any]]:
    """The terms as the script reads them: features, value and label."""
    return [
        {"features": list(term), "value": v, "label": " × ".join(names[i] for i in term)}
        for term, v in terms
    ]


def summary_html(
    interactions: Interactions,
    views: list[View],
    unit: str,
    source: str,
    strings: dict[str, str | None],
) -> str:
    """What was asked of which model, what is explained, the budget and the fit."""
    esc = html.escape
    whole = views[0]
    nouns = plural(unit, interactions.n_features)
    facts = []
    for key, label in (("model", "Model"), ("question", "Question")):
        if strings[key] is not None:
            facts.append((key, label, bdi(str(strings[key]))))
    if strings["target"] is not None:
        body = f'{bdi(strings["target"])}<div class="sub">Explained: {esc(whole.what)}.</div>'
        facts.append(("target", "Answer explained", body))
    else:
        facts.append(("target", "Explained", esc(whole.what[:1].upper() + whole.what[1:])))
    removable = (
        "; removing one deletes it from the prompt, the question and the rest of the prompt "
        "stay as they are"
        if source == "passage"
        else ""
    )
    facts.append(
        (
            "features",
            "Features",
            esc(f"{interactions.n_features} {nouns} of the {source}{removable}."),
        )
    )
    budget = (
        f"{interactions.n_queries:,} model queries · interactions up to order "
        f"{interactions.max_degree} · method “{interactions.method}” · "
        f"{len(interactions)} terms in the surrogate"
    )
    facts.append(("budget", "Budget", esc(budget)))
    facts.append(
        ("fit", "Fit", f'<span class="fit-text {esc(whole.fit[1])}">{esc(whole.fit[0])}</span>')
    )
    template = strings["prompt_template"]
    shown = ""
    if template is not None:
        body = esc(template).replace("{passage}", "<mark>{passage}</mark>")
        shown = (
            '<details class="template" id="spex-template" open><summary>Prompt template'
            f" (the {plural(unit)} of the {source} fill the marked slot; the rest is fixed)"
            f"</summary><pre><bdi>{body}</bdi></pre></details>"
        )
    return f'<dl class="facts">{facts_html(facts)}</dl>{shown}'


def lede(interactions: Interactions, views: list[View], unit: str, source: str) -> str:
    nouns = plural(unit)
    what = views[0].what
    text = (
        f"How to read this page: SPEX queried the model {interactions.n_queries:,} times, each "
        f"time with some {nouns} of the {source} removed, and fitted a surrogate: a short sum "
        f"of terms that predicts {what} for any choice of kept {nouns}. A term of one {unit} "
        f"is its own effect; a term of several {nouns} is what they add only together (an "
        "interaction)."
    )
    if len(views) > 1:
        text += " Each tab below explains one output from the same queries" + (
            ": the whole answer, or one answer token." if views[1].tab.startswith("Token") else "."
        )
    return html.escape(text)
