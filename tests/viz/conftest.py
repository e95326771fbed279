"""Shared fixtures of the view tests: the Agg backend, explanations with known values."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from captum_spex.indices import SparseTerms, fourier_from_mobius, terms_to_array  # noqa: E402
from captum_spex.interactions import Interactions  # noqa: E402

TOKENS = ["The", "amazon", "river", "is", "the", "longest", "river", "in", "South", "America"]
# f(kept) = 2 amazon·river + 1.5 South·America - longest + 0.8 amazon·longest·river[6]
#           - 0.6 is·river[6] + 0.3 The   (Möbius coefficients)
MOBIUS = {
    (1, 2): 2.0,
    (8, 9): 1.5,
    (5,): -1.0,
    (1, 5, 6): 0.8,
    (3, 6): -0.6,
    (0,): 0.3,
}


def from_mobius(n, mobius, n_outputs=None, feature_names=None):
    """An Interactions whose Möbius coefficients are ``mobius`` ({term: value or array})."""
    terms = list(mobius)
    indices, degrees = terms_to_array(terms, n)
    values = np.array([np.atleast_1d(mobius[t]) for t in terms], dtype=float)
    fourier = fourier_from_mobius(SparseTerms(indices, degrees, values), n)
    fterms = [tuple(int(i) for i in row[:d]) for row, d in zip(fourier.indices, fourier.degrees)]
    coefs = fourier.values if n_outputs else fourier.values[:, 0]
    return Interactions(n, fterms, coefs, feature_names=feature_names)


@pytest.fixture
def sentence():
    """The sentence explanation of :data:`MOBIUS`, with the tokens as feature names."""
    return from_mobius(len(TOKENS), MOBIUS, feature_names=TOKENS)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")
