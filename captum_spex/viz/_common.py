"""Shared helpers of the views: the lazy matplotlib import, parameter checks, ranking,
labels and colours."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from captum_spex._validation import (
    Constraint,
    Instance,
    Int,
    Optional,
    Options,
    PathLike,
    Real,
    check_param,
    check_params,
    param_error,
)
from captum_spex.indices import _INDEX, INDICES

if TYPE_CHECKING:
    from matplotlib.colors import Colormap
    from matplotlib.figure import Figure

    from captum_spex.interactions import Interactions, TopTerm

#: Install hint of every ImportError raised when matplotlib is missing.
INSTALL_HINT = 'pip install "captum-spex[viz]"'

#: Bar colours of Captum's ``LLMAttributionResult.plot_seq_attr`` (positive, negative).
POSITIVE = "#4772b3"
NEGATIVE = "#d0365b"

PerFeature = Literal["shapley", "banzhaf"]
_PER_FEATURE = Options(("shapley", "banzhaf"))

#: The minus sign of every number the views write.
MINUS = "\u2212"

#: Longest label (characters) of a feature or term in a plot; longer ones end in "…".
LABEL_CHARS = 40

#: Values the views leave out as zero up to rounding (e.g. 1e-16 left by a conversion):
#: ``|v| <= ZERO_RTOL * max |v|``.
ZERO_RTOL = 1e-12

# The declared parameters of the views; the bounds that depend on the explanation
# ('output', 'order') are added by :func:`check_view_params`.
_VIEW_PARAMS: dict[str, Constraint] = {
    "k": Int(0),
    "index": _INDEX,
    "min_order": Int(1),
    "m": Int(2),
    "context": Optional(Int(0)),
    "ncols": Optional(Int(1)),
    "alpha": Real(0.0, 1.0),
    "values": _PER_FEATURE,
    "rank_by": _PER_FEATURE,
    "title": Instance(str, "a str"),
    "path": Optional(PathLike()),
}


class Numbers:
    """One number format for a view: fixed decimals chosen from the largest magnitude (3
    significant digits there), an explicit sign and a true minus sign.

    A value that is zero up to rounding (``|v| <= ZERO_RTOL * scale``) shows as zero at
    those decimals, with no sign; a small but real value that the decimals would round to
    zero keeps 3 significant digits instead (never a "+0.00" for a value that is not 0).

    Examples
    --------
    >>> fmt = Numbers(8.248)
    >>> fmt(8.248), fmt(-2.16), fmt(0.9476), fmt.decimals
    ('+8.25', '−2.16', '+0.95', 2)
    >>> fmt(-0.000423), fmt(4.2e-05), fmt(1e-15), fmt(-1e-15), fmt.plain(0.0012)
    ('−0.000423', '+4.2e−05', '0.00', '0.00', '0.0012')
    >>> Numbers(0.05)(-0.0123), Numbers(1.0)(-1e-13), Numbers(1.0).plain(-2.0)
    ('−0.0123', '0.00', '−2.00')
    """

    def __init__(self, scale: float) -> None:
        ok = math.isfinite(scale) and scale > 0
        self.decimals = min(6, max(1, 2 - math.floor(math.log10(scale)))) if ok else 2
        # at most this magnitude is zero up to rounding
        self.zero = ZERO_RTOL * scale if ok else 0.0

    def __call__(self, value: float) -> str:
        text = self.plain(abs(value))
        if self._shows_zero(value):  # no "−0.00" for a value that rounds to zero
            return text
        return ("+" if value >= 0 else MINUS) + text

    def _shows_zero(self, value: float) -> bool:
        """Whether ``value`` is written as zero: a zero up to rounding (or an exact 0)."""
        return abs(value) <= self.zero

    def plain(self, value: float) -> str:
        """``value`` with the decimals, a minus sign only (no "+")."""
        value = float(value)
        if self._shows_zero(value):
            return f"{0.0:.{self.decimals}f}"
        text = f"{value:.{self.decimals}f}"
        if float(text) == 0.0:  # small but real: its significant digits
            text = f"{value:.3g}"
        return text.replace("-", MINUS)


def require_pyplot() -> Any:
    """Import ``matplotlib.pyplot`` or raise an ImportError naming the ``viz`` extra."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"captum_spex.viz needs matplotlib. Install it with: {INSTALL_HINT}"
        ) from exc
    return plt


def diverging_cmap() -> Colormap:
    """Symmetric diverging colormap: :data:`NEGATIVE` - white - :data:`POSITIVE`."""
    require_pyplot()
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("spex_diverging", [NEGATIVE, "#ffffff", POSITIVE])


def finish(fig: Figure, ax: Any, show: bool) -> tuple[Figure, Any] | None:
    """Captum's convention: ``show=True`` calls ``plt.show()`` and returns None."""
    if show:
        require_pyplot().show()
        return None
    return fig, ax


def check_interactions(interactions: Any, caller: str) -> Interactions:
    """``interactions`` if it is a :class:`~captum_spex.Interactions`, else a TypeError."""
    from captum_spex.interactions import Interactions

    what = Instance(Interactions, "a captum_spex.Interactions")
    return check_param(interactions, "interactions", what, caller)


def check_view_params(
    caller: str,
    interactions: Interactions,
    overrides: Mapping[str, Constraint] | None = None,
    **values: Any,
) -> dict[str, Any]:
    """Check the parameters of a view against the declared table (``overrides`` replace
    entries); ``output`` must be a column of ``interactions``, ``order`` at most its
    ``n_features``.

    Examples
    --------
    >>> from captum_spex import Interactions
    >>> inter = Interactions(3, [(0, 1)], [1.0])
    >>> check_view_params("f", inter, k=3, index="sii", output=None)
    {'k': 3, 'index': 'sii', 'output': None}
    >>> check_view_params("f", inter, order=4)
    Traceback (most recent call last):
    ...
    ValueError: The 'order' parameter of f must be an int in [1, 3] or None; got 4.
    """
    table = dict(_VIEW_PARAMS)
    table["output"] = Optional(Int(0, interactions.n_outputs - 1))
    table["order"] = Optional(Int(1, interactions.n_features))
    table.update(overrides or {})
    return check_params(caller, table, **values)


def check_tokens(
    tokens: Any, n: int, name: str, caller: str, count: str = "n_features", per: str = "feature"
) -> list[str]:
    """``tokens`` as a list of ``n`` str (one per ``per``), else the package's error."""
    must = f"a sequence of str with one entry per {per} ({count}={n})"
    if isinstance(tokens, str) or not isinstance(tokens, Sequence):
        raise param_error(caller, name, must, tokens, TypeError)
    tokens = list(tokens)
    if not all(isinstance(t, str) for t in tokens):
        raise param_error(caller, name, must, tokens, TypeError)
    if len(tokens) != n:
        raise param_error(caller, name, must, tokens)
    return tokens


def index_title(interactions: Interactions, index: str, order: int | None) -> str:
    """The table's title of ``index`` with the order it is computed at: ``"FSII (order 2)"``.

    Examples
    --------
    >>> from captum_spex import Interactions
    >>> inter = Interactions(3, [(0, 1)], [1.0])
    >>> index_title(inter, "fsii", None), index_title(inter, "sii", None)
    ('FSII (order 2)', 'SII')
    """
    return INDICES[index].label(interactions.resolve_order(index, order))


def top_title(
    interactions: Interactions, index: str, order: int | None, n: int, min_order: int
) -> str:
    """``"Top 5 interactions by |FSII (order 2)|"`` (``"terms"`` when ``min_order < 2``)."""
    what = "interactions" if min_order >= 2 else "terms"
    return f"Top {n} {what} by |{index_title(interactions, index, order)}|"


#: What the ``attr_target`` of an LLM explanation measures, for the titles.
_QUANTITY = {"log_prob": "log-probability", "prob": "probability"}

#: Longest answer text (characters) a title quotes.
_TITLE_TARGET_CHARS = 60


def explained(interactions: Interactions, column: int = 0) -> str | None:
    """What output ``column`` of ``interactions`` is, in words, when its diagnostics say it
    (an LLM explanation: ``attr_target``, and the answer text ``target``, the answer token
    ``output_token`` or the model name ``model`` when present); else None.

    Examples
    --------
    >>> from captum_spex import Interactions
    >>> diag = {"attr_target": "log_prob", "target": " Philip Rivers", "model": "SmolLM2"}
    >>> explained(Interactions(2, [(0,)], [1.0], diagnostics=diag))
    'SmolLM2: log-probability of the answer “Philip Rivers”'
    >>> diag = {"attr_target": "prob", "output_token": "Rivers"}
    >>> explained(Interactions(2, [(0,)], [1.0], diagnostics=diag))
    'Probability of the answer token “Rivers”'
    >>> explained(Interactions(2, [(0,)], [[1.0, 2.0]], diagnostics={"attr_target": "prob"}), 1)
    'Probability of answer token 1'
    >>> explained(Interactions(2, [(0,)], [1.0])) is None
    True
    """
    diag = interactions.diagnostics
    base = _QUANTITY.get(str(diag.get("attr_target")))
    if base is None:
        return None
    token, target, model = (diag.get(k) for k in ("output_token", "target", "model"))
    if interactions.n_outputs > 1 and column > 0:
        what = f"{base} of answer token {column}"
    elif isinstance(token, str):
        what = f"{base} of the answer token “{isolate(shorten(shown_token(token)))}”"
    elif isinstance(target, str) and target.strip():
        quoted = isolate(shorten(target.strip(), _TITLE_TARGET_CHARS))
        what = f"{base} of the answer “{quoted}”"
    else:
        what = f"{base} of the answer"
    if isinstance(model, str) and model.strip():
        return f"{isolate(shorten(model.strip()))}: {what}"
    return what[0].upper() + what[1:]


def provenance(interactions: Interactions) -> str | None:
    """``"auto, 1,000 queries"``: the method and the queries spent; None when no query was
    counted (an explanation built by hand).

    Examples
    --------
    >>> from captum_spex import Interactions
    >>> provenance(Interactions(2, [(0,)], [1.0], n_queries=1000, method="auto"))
    'auto, 1,000 queries'
    >>> provenance(Interactions(2, [(0,)], [1.0])) is None
    True
    """
    n = interactions.n_queries
    if n <= 0:
        return None
    return f"{interactions.method}, {n:,} {'query' if n == 1 else 'queries'}"


def view_title(interactions: Interactions, what: str, column: int = 0) -> str:
    """The default title of a plot: what was explained (:func:`explained`) on a first line
    when the diagnostics say it, then ``what`` (the view, e.g. "Top 5 terms by |Möbius|")
    with the method and the queries (:func:`provenance`).

    Examples
    --------
    >>> from captum_spex import Interactions
    >>> inter = Interactions(2, [(0,)], [1.0], n_queries=1000, method="auto",
    ...                      diagnostics={"attr_target": "log_prob"})
    >>> print(view_title(inter, "Top 1 terms by |Möbius|"))
    Log-probability of the answer
    Top 1 terms by |Möbius| (auto, 1,000 queries)
    >>> view_title(Interactions(2, [(0,)], [1.0]), "Top 1 terms by |Möbius|")
    'Top 1 terms by |Möbius|'
    """
    made = provenance(interactions)
    line = f"{what} ({made})" if made else what
    subject = explained(interactions, column)
    return f"{subject}\n{line}" if subject else line


def column_of(output: int | None) -> int:
    """The output column a single-valued view shows: ``output``, or 0 (the total of an
    LLM explanation) when None."""
    return 0 if output is None else output


def per_feature(interactions: Interactions, values: str, column: int) -> np.ndarray:
    """Shapley or Banzhaf values of one output column, ``(n_features,)``."""
    fn = interactions.shapley_values if values == "shapley" else interactions.banzhaf_values
    return np.asarray(fn(output=column), dtype=np.float64)


def ranked_terms(
    interactions: Interactions,
    k: int,
    index: str = "mobius",
    order: int | None = None,
    output: int | None = None,
    min_order: int = 1,
) -> list[TopTerm]:
    """The ``k`` largest-magnitude terms of ``index`` with ``|T| >= min_order``, largest
    first: :meth:`Interactions.top` of one output column (None is column 0), leaving out
    the values that are zero up to rounding (:data:`ZERO_RTOL`).

    Examples
    --------
    >>> from captum_spex import Interactions
    >>> inter = Interactions(3, [(), (0,), (1, 2)], [5.0, 0.5, -2.0])
    >>> ranked_terms(inter, 5, "fourier")
    [TopTerm(term=(1, 2), value=-2.0), TopTerm(term=(0,), value=0.5)]
    """
    return interactions.top(
        k, index, order, output=column_of(output), min_order=min_order, rtol=ZERO_RTOL
    )


def display_names(interactions: Interactions, names: Sequence[str] | None = None) -> list[str]:
    """One label per feature: ``names``, else the feature names, else ``"0", "1", ...``.

    A name that occurs more than once gets its occurrence number (1-based, in text order)
    appended, ``"river[2]"`` for the second "river", so every label points at one feature.
    ``names`` must hold one str per feature.

    Examples
    --------
    >>> from captum_spex import Interactions
    >>> display_names(Interactions(4, [(0,)], [1.0]), ["a", "river", "b", "river"])
    ['a', 'river[1]', 'b', 'river[2]']
    """
    n = interactions.n_features
    if names is None:
        names = interactions.feature_names
    if names is None:
        return [str(i) for i in range(n)]
    counts: dict[str, int] = {}
    for s in names:
        counts[s] = counts.get(s, 0) + 1
    seen: dict[str, int] = {}
    out = []
    for s in names:
        seen[s] = seen.get(s, 0) + 1
        out.append(s if counts[s] == 1 else f"{s}[{seen[s]}]")
    return out


def term_label(term: Sequence[int], names: Sequence[str], sep: str = " × ") -> str:
    """``"amazon × river"`` for a term; ``"∅"`` for the constant."""
    return sep.join(names[i] for i in term) if term else "∅"


def shorten(text: str, width: int = LABEL_CHARS) -> str:
    """``text`` cut to at most ``width`` characters, ending in "…" when cut.

    Examples
    --------
    >>> shorten("In the second quarter, the Chiefs regained the lead.", 24)
    'In the second quarter…'
    >>> shorten("short", 24)
    'short'
    """
    text = " ".join(text.split()) if len(text) > width else text
    if len(text) <= width:
        return text
    cut = text[: width - 1]
    space = cut.rfind(" ")
    if space >= 0.75 * width:  # end at a word boundary when one is near
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


_BIDI = frozenset({"R", "AL", "LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"})


def isolate(name: str) -> str:
    """``name`` between Unicode isolates (FSI ... PDI) when it holds right-to-left text or
    bidi controls, so that, drawn next to other text, it cannot reorder that text (a
    U+202E override in one token would otherwise flip the rest of a plot label).

    Examples
    --------
    >>> isolate("river"), isolate("left\u202eright")
    ('river', '\u2068left\u202eright\u2069')
    """
    if any(unicodedata.bidirectional(c) in _BIDI for c in name):
        return f"\u2068{name}\u2069"
    return name


def short_term_label(
    term: Sequence[int], names: Sequence[str], sep: str = " × ", width: int = LABEL_CHARS
) -> str:
    """The label of a term for a plot: at most about ``width`` characters, each name cut
    to its share (at least 14 characters) so that every feature of the term stays named,
    and isolated (:func:`isolate`) from the text drawn after it.

    Examples
    --------
    >>> names = ["The Chiefs regained the lead with a pass.", "San Diego tied the game."]
    >>> short_term_label((0, 1), names)
    'The Chiefs regain… × San Diego tied…'
    >>> short_term_label((1,), names)
    'San Diego tied the game.'
    """
    if not term:
        return "∅"
    share = max(14, (width - len(sep) * (len(term) - 1)) // len(term))
    return sep.join(isolate(shorten(names[i], share)) for i in term)


def plain_text(texts: Any) -> None:
    """Draw each matplotlib ``Text`` as the plain string it holds: no mathtext, so ``$$``
    cannot crash a draw and ``$5 × $10`` keeps its dollar signs."""
    for text in texts:
        text.set_parse_math(False)


def plain_ticks(*axes: Any) -> None:
    """:func:`plain_text` for every major tick label (bottom and top, or left and right)
    of each matplotlib axis (``ax.xaxis``, ``ax.yaxis``)."""
    for axis in axes:
        for tick in axis.get_major_ticks():
            plain_text((tick.label1, tick.label2))


def shown_token(token: str) -> str:
    """A visible form of a token: surrounding whitespace stripped, blanks made visible."""
    stripped = token.strip()
    if stripped:
        return stripped
    return repr(token)[1:-1] if token else "∅"
