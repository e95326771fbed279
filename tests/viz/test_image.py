"""Image view: segments of the top interactions tinted and outlined, one panel each."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgb

from captum_spex.viz import plot_image_interactions, segment_ids
from captum_spex.viz._common import NEGATIVE, POSITIVE

from .conftest import from_mobius

H, W = 12, 18
# 2 x 3 grid of 6 x 6 segments with ids 10, 20, ..., 60 (non-consecutive on purpose)
MASK = 10 * (1 + (np.arange(H)[:, None] // 6) * 3 + (np.arange(W)[None, :] // 6))


def _image():
    yy, xx = np.mgrid[0:H, 0:W]
    # (C, H, W) spanning exactly [0, 1]
    return np.stack([xx / (W - 1), yy / (H - 1), np.full((H, W), 0.5)], axis=0)


@pytest.fixture
def inter():
    # features 0..5 = mask ids 10..60; 0 × 4 strongest, then 5 alone (negative)
    return from_mobius(6, {(0, 4): 2.0, (5,): -1.0, (1, 2): 0.5})


def test_segment_ids_follow_torch_unique():
    feats, ids = segment_ids(torch.tensor(MASK)[None, None], 6)
    assert ids.tolist() == [10, 20, 30, 40, 50, 60]
    assert feats[0, 0] == 0 and feats[-1, -1] == 5
    assert np.array_equal(feats, (MASK // 10) - 1)
    with pytest.raises(
        ValueError,
        match=r"'feature_mask' parameter of segment_ids .*n_features=5 distinct ids \(it has 6\)",
    ):
        segment_ids(MASK, 5)
    per_channel = np.stack([MASK, MASK, MASK + 1])
    with pytest.raises(ValueError, match="'feature_mask' parameter.*different ids to the channels"):
        segment_ids(per_channel, 6)
    same = np.stack([MASK] * 3)
    assert np.array_equal(segment_ids(same, 6)[0], feats)
    with pytest.raises(TypeError, match="'feature_mask' parameter.*integer segment ids"):
        segment_ids(MASK + 0.5, 6)


def test_panels_tint_and_outline_the_interaction(inter):
    fig, axes = plot_image_interactions(inter, _image(), MASK, k=2)
    assert len(axes) == 2
    assert axes[0].get_title() == "#1  10 × 50\n+2.00"
    assert axes[1].get_title() == "#2  60\n\u22121.00"
    shown = axes[0].get_images()[0].get_array()
    member = np.isin(MASK, [10, 50])
    # members keep colour, tinted towards the positive colour; the rest is grey
    assert not np.allclose(shown[member][:, 0], shown[member][:, 1])
    rest = shown[~member]
    assert np.allclose(rest[:, 0], rest[:, 1]) and np.allclose(rest[:, 1], rest[:, 2])
    img = np.moveaxis(_image(), 0, -1)
    expected = 0.55 * img[member] + 0.45 * np.asarray(to_rgb(POSITIVE))
    np.testing.assert_allclose(shown[member], expected)
    # outlines: one contour per member segment, labels at their centroids
    assert len(axes[0].collections) == 2
    assert sorted(t.get_text() for t in axes[0].texts) == ["10", "50"]
    neg = axes[1].get_images()[0].get_array()[MASK == 60]
    np.testing.assert_allclose(neg, 0.55 * img[MASK == 60] + 0.45 * np.asarray(to_rgb(NEGATIVE)))


def test_layouts_agree(inter):
    chw = _image()
    hwc = np.moveaxis(chw, 0, -1)
    a = plot_image_interactions(inter, torch.tensor(chw)[None], torch.tensor(MASK), k=1)[1]
    b = plot_image_interactions(inter, hwc, MASK, k=1)[1]
    c = plot_image_interactions(inter, (hwc * 255).astype(np.uint8), MASK, k=1)[1]
    d = plot_image_interactions(inter, chw * 4.0 - 2.0, MASK, k=1)[1]  # normalised tensor
    ref = b[0].get_images()[0].get_array()
    for other, atol in ((a, 1e-12), (c, 3e-3), (d, 1e-12)):
        np.testing.assert_allclose(other[0].get_images()[0].get_array(), ref, atol=atol)


def test_grey_image_names_ncols_and_min_order(inter):
    grey = np.random.default_rng(0).random((H, W))
    names = ["sky", "sun", "tree", "road", "car", "dog"]
    fig, axes = plot_image_interactions(
        inter, grey, MASK, k=3, min_order=2, segment_names=names, ncols=1
    )
    assert [ax.get_title().split("\n")[0] for ax in axes] == ["#1  sky × car", "#2  sun × tree"]
    assert axes[0].get_position().x0 == pytest.approx(axes[1].get_position().x0)
    assert "interactions" in fig.texts[0].get_text()


def test_image_errors(inter):
    with pytest.raises(ValueError, match="does not match|must be"):
        plot_image_interactions(inter, np.zeros((5, H, W)), MASK)
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        plot_image_interactions(inter, np.zeros((3, W, H)), MASK)
    with pytest.raises(ValueError, match="alpha"):
        plot_image_interactions(inter, _image(), MASK, alpha=2.0)
