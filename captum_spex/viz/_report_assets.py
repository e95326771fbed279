"""The static parts of the HTML report: its stylesheet and script (inline, no network).

The script reads the JSON of ``<script type="application/json" id="spex-data">``: the
tokens, their display names, the noun ("word", "sentence", ...), the output shown first,
and per view (one per output: ``#spex-view-J``) its index title, decimals, Shapley values
and ``hover`` and ``top`` term lists (``features``, ``value``, ``label``). Every name it
writes is text in its own ``<bdi>``. ``#spex-view=J`` opens tab J and ``#spex-focus=I``
shows token I's panel in the open tab (for screenshots and tests).
"""

CSS = """
:root { --pos: %(pos)s; --neg: %(neg)s; --ink: #1f2328; --muted: #59636e; --line: #d8dee4; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f8fa; color: var(--ink);
  font: 15px/1.5 -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 20px 24px 40px; }
h1 { font-size: 24px; margin: 4px 0 6px; overflow-wrap: anywhere; }
h2 { font-size: 18px; margin: 0 0 10px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
.lede { color: var(--ink); margin: 0 0 8px; max-width: 78ch; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 14px 18px; margin: 14px 0; }
.hint { color: var(--muted); font-size: 13px; margin: 0 0 10px; }
bdi { unicode-bidi: isolate; }
dl.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 6px 18px;
  margin: 0; }
dl.facts dt { color: var(--muted); font-weight: 600; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
dl.facts .sub { color: var(--muted); font-size: 13px; }
.fit-text, p.fit { border-left: 4px solid var(--line); padding: 2px 0 2px 10px; display: block; }
.good { border-left-color: #1a7f37 !important; }
.fair { border-left-color: #bf8700 !important; }
.poor { border-left-color: #cf222e !important; }
p.fit { margin: 6px 0 8px; }
details.template { margin-top: 12px; }
details summary { cursor: pointer; color: var(--muted); font-size: 13px; }
details.template pre { background: #f6f8fa; border: 1px solid var(--line); border-radius: 6px;
  padding: 8px 10px; margin: 6px 0 0; white-space: pre-wrap; overflow-wrap: anywhere;
  font-size: 12.5px; max-height: 260px; overflow: auto; }
mark { background: #fff8c5; padding: 0 2px; border-radius: 3px; }
.tabradio { position: absolute; opacity: 0; pointer-events: none; }
.tablist { display: flex; flex-wrap: wrap; gap: 4px; border-bottom: 1px solid var(--line);
  margin: 0 0 8px; }
.tablist label { padding: 5px 12px; border: 1px solid var(--line); border-radius: 6px 6px 0 0;
  margin-bottom: -1px; background: #f6f8fa; color: var(--muted); cursor: pointer;
  font-size: 14px; max-width: 100%%; overflow-wrap: anywhere; }
.tabs .view { display: none; }
.tabradio:focus-visible + .tablist label { outline: 2px solid #0969da; }
.textview { display: grid; grid-template-columns: minmax(0, 2fr) minmax(220px, 1fr); gap: 16px; }
.tokens { line-height: 2.1; font-size: 16px; overflow-wrap: anywhere; }
.tok { padding: 1px 4px; margin: 0 1px; border-radius: 4px; border: 1px solid transparent;
  cursor: default; white-space: pre-wrap; -webkit-box-decoration-break: clone;
  box-decoration-break: clone; }
.tok:focus { outline: none; }
.tok.focus { border-color: var(--ink); box-shadow: 0 0 0 2px #ffd33d; }
.tok.partner { border-color: var(--ink); border-style: dashed; }
.detail { border-left: 3px solid var(--line); padding: 2px 0 2px 12px; font-size: 14px;
  min-height: 80px; align-self: start; position: sticky; top: 12px; overflow-wrap: anywhere; }
.detail .dhead { font-weight: 600; margin-bottom: 6px; }
.detail ul { margin: 0; padding-left: 18px; }
.pos { color: var(--pos); } .neg { color: var(--neg); }
table { border-collapse: collapse; width: 100%%; font-size: 14px; table-layout: auto; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line);
  vertical-align: middle; }
th { color: var(--muted); font-weight: 600; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; text-align: right; }
td.term { overflow-wrap: anywhere; min-width: 9em; }
td.meaning { color: var(--muted); font-size: 13px; min-width: 16em; }
tr[data-f]:hover { background: #fff8c5; }
.tie { color: var(--muted); font-weight: 700; margin-left: 2px; }
.se { color: var(--muted); font-size: 0.85em; } .zero { color: var(--muted); }
tr.unsure td { opacity: 0.6; }
p.note { font-size: 13px; background: #fff8c5; border-radius: 6px; padding: 6px 10px; }
.barcell { width: 16%%; min-width: 90px; }
.bar { display: flex; height: 12px; }
.bar span { display: block; height: 12px; }
.bar .half { width: 50%%; display: flex; }
.bar .half.left { justify-content: flex-end; border-right: 1px solid var(--muted); }
figure { margin: 8px 0 14px; }
figure img { max-width: 100%%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 13px; }
.legend .key { white-space: nowrap; }
.legend span.sw { display: inline-block; width: 12px; height: 12px; border-radius: 2px;
  vertical-align: -1px; margin: 0 4px 0 6px; }
table.diag td { font-size: 13px; overflow-wrap: anywhere; }
table.diag td:first-child { color: var(--muted); white-space: nowrap; }
footer { color: var(--muted); font-size: 12px; text-align: center; margin-top: 18px; }
@media (max-width: 760px) { .textview { grid-template-columns: 1fr; } }
"""

JS = r"""
(function () {
  "use strict";
  var root = document.getElementById("spex-report");
  var data = JSON.parse(document.getElementById("spex-data").textContent);
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function label(parent, features) {
    features.forEach(function (f, n) {
      if (n) { parent.appendChild(document.createTextNode(" \u00d7 ")); }
      parent.appendChild(el("bdi", "", data.names[f]));
    });
    return parent;
  }
  function setup(v) {
    var panel = document.getElementById("spex-view-" + v.output);
    if (!panel) { return null; }
    var toks = Array.prototype.slice.call(panel.querySelectorAll(".tok"));
    var rows = Array.prototype.slice.call(panel.querySelectorAll("tr[data-f]"));
    var detail = panel.querySelector(".detail");
    var byTok = toks.map(function () { return []; });
    v.hover.forEach(function (t, j) {
      t.features.forEach(function (i) { if (byTok[i]) { byTok[i].push(j); } });
    });
    function fmt(x) {
      var s = Math.abs(x).toFixed(v.decimals);
      return Number(s) === 0 ? s : (x >= 0 ? "+" : "\u2212") + s;
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
      while (detail.firstChild) { detail.removeChild(detail.firstChild); }
      var head = el("div", "dhead");
      head.appendChild(el("bdi", "", data.names[i]));
      head.appendChild(document.createTextNode(" \u00b7 Shapley " + fmt(v.shapley[i])));
      detail.appendChild(head);
      toks[i].classList.add("focus");
      var list = byTok[i];
      if (!list.length) {
        detail.appendChild(el("div", "hint", "None of the top " + v.hover.length +
          " interactions involves this " + data.noun + "."));
        return;
      }
      detail.appendChild(el("div", "hint",
        "Interactions with this " + data.noun + " (" + v.index + "):"));
      var ul = el("ul");
      list.slice(0, 12).forEach(function (j) {
        var t = v.hover[j];
        var li = label(el("li", t.value >= 0 ? "pos" : "neg"), t.features);
        li.appendChild(document.createTextNode("  " + fmt(t.value)));
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
    return showToken;
  }
  var shows = {};
  data.views.forEach(function (v) { shows[v.output] = setup(v); });
  var hash = window.location.hash;
  var view = /spex-view=(\d+)/.exec(hash);
  var current = data.selected;
  if (view && document.getElementById("spex-tab-" + view[1])) {
    current = Number(view[1]);
    document.getElementById("spex-tab-" + view[1]).checked = true;
  }
  root.setAttribute("data-spex-view", String(current));
  Array.prototype.forEach.call(document.querySelectorAll(".tabradio"), function (r) {
    r.addEventListener("change", function () { root.setAttribute("data-spex-view", r.value); });
  });
  var focus = /spex-focus=(\d+)/.exec(hash);
  if (focus && shows[current] && Number(focus[1]) < data.tokens.length) {
    shows[current](Number(focus[1]));
  }
  root.setAttribute("data-spex-ready", "1");
})();
"""
