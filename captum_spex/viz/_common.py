"""Shared helpers of the views: the lazy matplotlib import, ranking, labels and colours."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from matplotlib.colors import Colormap
    from matplotlib.figure import Figure

    from captum_spex.interactions import Interactions

#: Install hint of every ImportError raised when matplotlib is missing.
INSTALL_HINT = 'pip install "captum-spex[viz]"'

#: Bar colours of Captum's ``LLMAttributionResult.plot_seq_attr`` (positive, negative).
POSITIVE = "#4772b3"
NEGATIVE = "#d0365b"

PerFeature = Literal["shapley", "banzhaf"]
_PER_FEATURE = ("shapley", "banzhaf")


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


def check_int(value: Any, name: str, low: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"The '{name}' parameter must be an int. Got {value!r} instead.")
    if value < low:
        raise ValueError(f"The '{name}' parameter must be an int >= {low}. Got {value} instead.")
    return int(value)


def check_interactions(interactions: Any) -> Interactions:
    from captum_spex.interactions import Interactions

    if not isinstance(interactions, Interactions):
        raise TypeError(
            "The 'interactions' parameter must be a captum_spex.Interactions. "
            f"Got {type(interactions).__name__} instead."
        )
    return interactions


def resolve_output(interactions: Interactions, output: int | None) -> int:
    """The output column a single-valued view shows (None -> 0, the total for LLM results)."""
    if output is None:
        return 0
    if isinstance(output, (bool, np.bool_)) or not isinstance(output, (int, np.integer)):
        raise TypeError(f"The 'output' parameter must be an int or None. Got {output!r} instead.")
    if not 0 <= output < interactions.n_outputs:
        raise ValueError(
            f"The 'output' parameter must be an int in [0, {interactions.n_outputs - 1}]. "
            f"Got {output} instead."
        )
    return int(output)


def per_feature(interactions: Interactions, values: str, output: int | None) -> np.ndarray:
    """Shapley or Banzhaf values of one output, ``(n_features,)``."""
    if values not in _PER_FEATURE:
        raise ValueError(
            f"The 'values' parameter must be one of 'shapley', 'banzhaf'. Got {values!r} instead."
        )
    column = resolve_output(interactions, output)
    fn = interactions.shapley_values if values == "shapley" else interactions.banzhaf_values
    return np.asarray(fn(output=column), dtype=np.float64)


def ranked_terms(
    interactions: Interactions,
    k: int | None,
    index: str = "mobius",
    order: int | None = None,
    output: int | None = None,
    min_order: int = 1,
) -> list[tuple[tuple[int, ...], float]]:
    """The ``k`` largest-magnitude terms of ``index`` with ``|T| >= min_order``, largest first.

    Ties keep the canonical order, as :meth:`Interactions.top` does; terms whose value is
    zero up to rounding (``|v| <= 1e-12 max |v|``) are left out.
    """
    if k is not None:
        k = check_int(k, "k", 0)
    min_order = check_int(min_order, "min_order", 1)
    column = resolve_output(interactions, output)
    res = interactions.index_arrays(index, order)
    values = res.values if res.values.ndim == 1 else res.values[:, column]
    candidates = np.flatnonzero(res.degrees >= min_order)
    # Values that are zero up to rounding (e.g. 1e-16 left by the index conversion) are noise.
    largest = float(np.abs(values).max()) if values.size else 0.0
    candidates = candidates[np.abs(values[candidates]) > 1e-12 * largest]
    ranked = candidates[np.argsort(-np.abs(values[candidates]), kind="stable")]
    if k is not None:
        ranked = ranked[:k]
    return [
        (tuple(int(i) for i in res.indices[r, : res.degrees[r]]), float(values[r])) for r in ranked
    ]


def display_names(interactions: Interactions, names: Sequence[str] | None = None) -> list[str]:
    """One label per feature: ``names``, else the feature names, else ``"0", "1", ...``.

    Repeated names (a token that occurs twice) get their position appended, ``"the[4]"``,
    so every label points at one feature.
    """
    n = interactions.n_features
    if names is None:
        names = interactions.feature_names
    if names is None:
        return [str(i) for i in range(n)]
    names = check_tokens(names, n, "tokens")
    counts: dict[str, int] = {}
    for s in names:
        counts[s] = counts.get(s, 0) + 1
    return [s if counts[s] == 1 else f"{s}[{i}]" for i, s in enumerate(names)]


def check_tokens(tokens: Any, n_features: int, name: str = "tokens") -> list[str]:
    if isinstance(tokens, str) or not isinstance(tokens, Sequence):
        raise TypeError(f"The '{name}' parameter must be a sequence of str.")
    tokens = list(tokens)
    if not all(isinstance(t, str) for t in tokens):
        raise TypeError(f"The '{name}' parameter must contain only str.")
    if len(tokens) != n_features:
        raise ValueError(
            f"The '{name}' parameter must have one entry per feature "
            f"(n_features={n_features}). Got {len(tokens)} instead."
        )
    return tokens


def term_label(term: Sequence[int], names: Sequence[str], sep: str = " × ") -> str:
    """``"amazon × river"`` for a term; ``"∅"`` for the constant."""
    return sep.join(names[i] for i in term) if term else "∅"


def index_title(index: str, order: int | None) -> str:
    pretty = {
        "fourier": "Fourier",
        "mobius": "Möbius",
        "bii": "BII",
        "sii": "SII",
        "k-sii": "k-SII",
        "stii": "STII",
        "fsii": "FSII",
        "fbii": "FBII",
    }.get(index, str(index))
    return pretty if order is None else f"{pretty} (order {order})"


def shown_token(token: str) -> str:
    """A visible form of a token: surrounding whitespace stripped, blanks made visible."""
    stripped = token.strip()
    if stripped:
        return stripped
    return repr(token)[1:-1] if token else "∅"
