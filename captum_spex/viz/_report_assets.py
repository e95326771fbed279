"""The static parts of the HTML report: its stylesheet and script (inline, no network).

The script reads the JSON of ``<script type="application/json" id="spex-data">``: the
tokens, their Shapley values, the index title, the noun ("word" or "feature") and the
``hover`` and ``top`` term lists (``features``, ``value``, ``label``).
"""

CSS = """
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

JS = r"""
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
