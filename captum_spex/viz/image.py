"""Image view: the segments of each top interaction outlined and tinted, one panel each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from captum_spex._validation import Int, param_error
from captum_spex.viz._common import (
    NEGATIVE,
    POSITIVE,
    Numbers,
    check_interactions,
    check_tokens,
    check_view_params,
    finish,
    plain_text,
    ranked_terms,
    require_pyplot,
    short_term_label,
    shorten,
    top_title,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from captum_spex.indices import IndexName
    from captum_spex.interactions import Interactions

__all__ = ["plot_image_interactions", "segment_ids"]


def _to_numpy(x: Any) -> tuple[np.ndarray, bool]:
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # a torch tensor, without importing torch
        return np.asarray(x.detach().cpu().numpy()), True
    return np.asarray(x), False


def _squeeze_leading(a: np.ndarray, ndim: int) -> np.ndarray:
    while a.ndim > ndim and a.shape[0] == 1:
        a = a[0]
    return a


def _pixel_mask(feature_mask: Any, caller: str) -> np.ndarray:
    mask, _ = _to_numpy(feature_mask)
    if mask.dtype.kind not in "iub":
        if mask.dtype.kind == "f" and np.all(mask == np.round(mask)):
            mask = mask.astype(np.int64)
        else:
            must = f"an array of integer segment ids (its dtype is {mask.dtype})"
            raise param_error(caller, "feature_mask", must, feature_mask, TypeError)
    mask = _squeeze_leading(mask.astype(np.int64), 2)
    if mask.ndim == 3:  # one id map per channel (Captum masks can match the input's shape)
        if np.all(mask == mask[:1]):
            mask = mask[0]
        elif np.all(mask == mask[..., :1]):
            mask = mask[..., 0]
        else:
            must = "one segment id per pixel (it assigns different ids to the channels of a pixel)"
            raise param_error(caller, "feature_mask", must, feature_mask)
    if mask.ndim != 2:
        must = (
            "an id map of shape (H, W), optionally with leading dims of size 1 or a channel "
            f"dim (its shape is {np.shape(feature_mask)})"
        )
        raise param_error(caller, "feature_mask", must, feature_mask)
    return mask


def _hwc_image(image: Any, shape: tuple[int, int], caller: str) -> np.ndarray:
    """Image as float ``(H, W, 3)`` in [0, 1], from (H, W), (C, H, W) or (H, W, C)."""
    img, is_tensor = _to_numpy(image)
    img = _squeeze_leading(img, 3)
    chw = img.ndim == 3 and img.shape[1:] == shape and img.shape[0] in (1, 3, 4)
    hwc = img.ndim == 3 and img.shape[:2] == shape and img.shape[2] in (1, 3, 4)
    if img.ndim == 2 and img.shape == shape:
        img = img[:, :, None]
    elif chw and (is_tensor or not hwc):
        img = np.moveaxis(img, 0, -1)
    elif not hwc:
        must = (
            f"(H, W), (C, H, W) or (H, W, C) with C in (1, 3, 4) and (H, W) = {shape} as in "
            f"the feature_mask (its shape is {np.shape(image)})"
        )
        raise param_error(caller, "image", must, image)
    img = img[:, :, :3]
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    if img.dtype.kind in "iub":
        img = img.astype(np.float64) / (255.0 if img.max() > 1 else 1.0)
    else:
        img = img.astype(np.float64)
        low, high = float(np.nanmin(img)), float(np.nanmax(img))
        if low < 0.0 or high > 1.0:  # e.g. a normalised tensor: stretch for display
            img = (img - low) / (high - low) if high > low else np.zeros_like(img)
    return np.clip(np.nan_to_num(img), 0.0, 1.0)


def segment_ids(feature_mask: Any, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """Map a Captum-style ``feature_mask`` to feature ids per pixel.

    Feature ``i`` is the set of pixels whose mask id is the ``i``-th smallest distinct id,
    the ``torch.unique`` convention of Captum's ``FeatureAblation`` (with ids
    ``0..n-1``, feature ``i`` is id ``i``).

    Parameters
    ----------
    feature_mask : array_like or torch.Tensor
        Integer ids, ``(H, W)``, optionally with leading size-1 dims or a channel dim
        whose id maps agree.
    n_features : int
        The explanation's number of features; the mask must hold that many ids.

    Returns
    -------
    features : numpy.ndarray
        int64 ``(H, W)``: the feature id of each pixel.
    ids : numpy.ndarray
        The distinct mask ids, ``ids[i]`` being feature ``i``'s.

    Examples
    --------
    >>> import numpy as np
    >>> feats, ids = segment_ids(np.array([[5, 5], [9, 2]]), 3)
    >>> feats.tolist(), ids.tolist()
    ([[1, 1], [2, 0]], [2, 5, 9])
    """
    return _segment_ids(feature_mask, n_features, "segment_ids")


def _segment_ids(feature_mask: Any, n_features: int, caller: str) -> tuple[np.ndarray, np.ndarray]:
    mask = _pixel_mask(feature_mask, caller)
    ids = np.unique(mask)
    if len(ids) != n_features:
        must = f"an id map with n_features={n_features} distinct ids (it has {len(ids)})"
        raise param_error(caller, "feature_mask", must, feature_mask)
    return np.searchsorted(ids, mask), ids


def plot_image_interactions(
    interactions: Interactions,
    image: Any,
    feature_mask: Any,
    *,
    k: int = 4,
    index: IndexName = "mobius",
    order: int | None = None,
    output: int | None = None,
    min_order: int = 1,
    segment_names: Sequence[str] | None = None,
    ncols: int | None = None,
    alpha: float = 0.45,
    panel_size: float = 3.2,
    show: bool = False,
) -> tuple[Figure, list[Axes]] | None:
    """The image once per top interaction, with that interaction's segments highlighted.

    In panel ``r`` the segments of the ``r``-th largest term keep their colours, tinted
    blue (positive value) or red (negative), are outlined, and are labelled at their
    centroid (Captum's ``draw_mask_legend``; names are plain text, cut to 24 characters
    with "…"); the rest of the image is greyed out. As for
    Captum's ``visualize_image_attr``, images are float in [0, 1] or integers in
    [0, 255]; other float ranges (a normalised tensor) are stretched for display.

    Parameters
    ----------
    interactions : Interactions
        The explanation; its features are the segments of ``feature_mask``.
    image : array_like or torch.Tensor
        ``(H, W)``, ``(C, H, W)`` or ``(H, W, C)`` with ``C`` in (1, 3, 4), optionally
        with a leading batch dim of size 1. The layout is found from the mask's shape;
        when both fit, tensors are read as ``(C, H, W)`` and arrays as ``(H, W, C)``.
    feature_mask : array_like or torch.Tensor
        Segment ids per pixel, see :func:`segment_ids`.
    k : int, default 4
        Number of panels (the ``k`` largest-magnitude terms).
    index : str, default "mobius"
        Any index name of ``Interactions.index``.
    order : int, optional
        The index order, see ``Interactions.index``.
    output : int, optional
        Output shown for a multi-output explanation (default 0).
    min_order : int, default 1
        Smallest term size shown; 2 shows only genuine interactions.
    segment_names : sequence of str, optional
        One label per feature; default ``interactions.feature_names``, else the mask ids.
    ncols : int, optional
        Panels per row (default ``min(k, 4)``).
    alpha : float, default 0.45
        Strength of the tint on the highlighted segments.
    panel_size : float, default 3.2
        Size of one panel in inches.
    show : bool, default False
        Call ``plt.show()`` and return None (Captum's convention).

    Returns
    -------
    (matplotlib.figure.Figure, list of matplotlib.axes.Axes) or None
        One axes per panel, best term first (as Captum's ``visualize_image_attr_multiple``).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from captum_spex import Interactions
    >>> mask = np.repeat(np.arange(4), 4).reshape(4, 4)  # 4 horizontal bands
    >>> image = np.linspace(0, 1, 3 * 16).reshape(3, 4, 4)  # (C, H, W)
    >>> # f(m) = m0 * m3: bands 0 and 3 only count together (Möbius: {(0, 3): 1})
    >>> inter = Interactions(4, [(), (0,), (3,), (0, 3)], [0.25, -0.25, -0.25, 0.25])
    >>> fig, axes = plot_image_interactions(inter, image, mask, k=1)
    >>> [ax.get_title() for ax in axes]
    ['#1  0 × 3\\n+1.00']
    >>> matplotlib.pyplot.close(fig)
    """
    plt = require_pyplot()
    from captum.attr import visualization as captum_viz
    from matplotlib.colors import to_rgb

    caller = "plot_image_interactions"
    interactions = check_interactions(interactions, caller)
    alpha = check_view_params(
        caller,
        interactions,
        {"k": Int(1)},
        k=k,
        index=index,
        order=order,
        output=output,
        min_order=min_order,
        ncols=ncols,
        alpha=alpha,
    )["alpha"]
    features, ids = _segment_ids(feature_mask, interactions.n_features, caller)
    img = _hwc_image(image, features.shape, caller)
    if segment_names is None:
        segment_names = interactions.feature_names
    if segment_names is None:
        names = [str(int(i)) for i in ids]
    else:
        names = check_tokens(segment_names, interactions.n_features, "segment_names", caller)
    top = ranked_terms(interactions, k, index, order, output, min_order)
    n_panels = max(len(top), 1)
    ncols = min(n_panels, 4) if ncols is None else min(ncols, n_panels)
    nrows = -(-n_panels // ncols)
    fig, grid = plt.subplots(
        nrows,
        ncols,
        figsize=(panel_size * ncols, panel_size * nrows + 0.5),
        squeeze=False,
        layout="constrained",
    )
    axes = list(grid.ravel())
    grey = img @ np.array([0.299, 0.587, 0.114])
    faded = np.repeat((0.35 * grey + 0.65)[:, :, None], 3, axis=2)
    for ax in axes:
        ax.set_axis_off()
    fmt = Numbers(max((abs(v) for _, v in top), default=0.0))
    for rank, (ax, (term, value)) in enumerate(zip(axes, top, strict=False), start=1):
        color = POSITIVE if value >= 0 else NEGATIVE
        member = np.isin(features, term)
        shown = faded.copy()
        tinted = (1.0 - alpha) * img + alpha * np.asarray(to_rgb(color))
        shown[member] = tinted[member]
        ax.imshow(shown, interpolation="nearest")
        for i in term:
            seg = features == i
            if seg.any() and not seg.all():
                ax.contour(seg.astype(float), levels=[0.5], colors=[color], linewidths=2.0)
            label = shorten(names[i], 24)
            captum_viz.draw_mask_legend(ax, seg, label, fontsize=8, bbox_facecolor=color)
        plain_text(ax.texts)  # segment names are drawn as they are: no mathtext
        label = short_term_label(term, names, width=38)
        title = f"#{rank}  {label}\n{fmt(value)}"
        ax.set_title(title, fontsize=10, color=color, parse_math=False)
    if not top:
        axes[0].imshow(faded, interpolation="nearest")
        axes[0].set_title("No terms to show.", fontsize=10)
    fig.suptitle(top_title(interactions, index, order, len(top), min_order), fontsize=11)
    fig.set_facecolor("white")
    return finish(fig, axes[:n_panels], show)
