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
# f(kept) = 2 amazon·river + 1.5 South·America - longest + 0.8 amazon·longest·river[2]
#           - 0.6 is·river[2] + 0.3 The   (Möbius coefficients)
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


# An LLM answer explained as LLMSpexAttribution does it: output 0 is the whole answer,
# outputs 1 and 2 its two tokens; the diagnostics of the default method ("auto").
PASSAGE = [
    "In",
    " the",
    " second",
    " quarter,",
    " QB",
    " Damon",
    " Huard",
    " passed.",
    " Then",
    " QB",
    " Philip",
    " Rivers",
    " threw",
    " a",
    " $$",
    " 38-yard",
    " TD.",
]
ANSWER_TOKENS = ["Philip", " Rivers"]
QUESTION = "Who threw the longest TD pass?"
MODEL = "SmolLM2-135M-Instruct"
TEMPLATE = "<|im_start|>user\nPassage: {passage}\n\nQuestion: " + QUESTION + "<|im_end|>\n"
ANSWER_MOBIUS = {
    (10, 11): [8.248, 5.0, 3.0],  # Philip × Rivers
    (10,): [2.16, 3.0, -0.5],
    (11,): [-0.6803, 0.5, -0.2],
    (6,): [-0.6803, -0.5, 0.1],
    (4, 10, 11): [-0.6803, -0.2, -0.4],  # QB[1] × Philip × Rivers
    (15,): [0.9476, 0.4, 0.5],
    (9,): [0.3, 0.1, 0.2],
}


def auto_diagnostics(r2=(0.934, 0.9, 0.55), **extra):
    """The diagnostics of method="auto" run through LLMSpexAttribution."""
    return {
        "mode": "auto",
        "design": "SPEX design (b=6, 3 groups)",
        "chosen": "cross-validated fit of first-order+pairs+trees",
        "n_candidates": 412,
        "n_terms": 20,
        "n_scored": 960,
        "r2_estimate": list(r2),
        "fit_seconds": 3.25,
        "target_ids": [36943, 37420],
        "attr_target": "log_prob",
        "feature_ids": list(range(len(PASSAGE))),
        **extra,
    }


def answer_interactions(pieces=PASSAGE, mobius=ANSWER_MOBIUS, diagnostics=None):
    """A 3-output explanation of the answer over ``pieces`` (planted Möbius terms)."""
    base = from_mobius(len(pieces), mobius, n_outputs=3)
    return Interactions(
        len(pieces),
        base.terms,
        base.coefficients,
        n_queries=1000,
        max_degree=min(3, len(pieces)),
        feature_names=pieces,
        diagnostics=auto_diagnostics() if diagnostics is None else diagnostics,
        method="auto",
    )
