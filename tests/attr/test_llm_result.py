"""LLMSpexAttributionResult: the whole-answer and per-token views of the raw result keep
its standard errors and per-output diagnostics, column by column."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("captum")

from captum_spex import Interactions  # noqa: E402
from captum_spex.attr.llm_result import LLMSpexAttributionResult  # noqa: E402

TERMS = [(), (0,), (1,), (0, 1)]
# columns: whole answer, token 1, token 2
COEFS = np.array([[0.5, 0.2, 0.3], [1.0, 0.4, 0.6], [-2.0, -0.5, -1.5], [3.0, 1.0, 2.0]])
ERRORS = np.array([[0.01, 0.02, 0.03], [0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]])


def _result(errors=ERRORS, diagnostics=None):
    raw = Interactions(
        2,
        TERMS,
        COEFS,
        feature_names=["Philip", "Rivers"],
        standard_errors=errors,
        n_queries=100,
        method="auto",
        diagnostics=diagnostics,
    )
    return LLMSpexAttributionResult(
        input_tokens=["Philip", "Rivers"],
        output_tokens=["Philip", "Rivers"],
        seq_attr=[0.5, 0.5],
        token_attr=[[0.25, 0.25], [0.25, 0.25]],
        raw_interactions=raw,
    )


def test_whole_answer_and_tokens_keep_their_column_of_the_standard_errors():
    res = _result()
    raw = res.raw_interactions
    assert raw.terms == TERMS  # canonical order: the rows of ERRORS are the terms' rows
    np.testing.assert_array_equal(res.interactions.standard_errors, ERRORS[:, 0])
    np.testing.assert_array_equal(res.interactions.coefficients, COEFS[:, 0])
    assert len(res.token_interactions) == 2
    for j, token in enumerate(res.token_interactions, 1):
        np.testing.assert_array_equal(token.standard_errors, ERRORS[:, j])
        np.testing.assert_array_equal(token.coefficients, COEFS[:, j])
    # the errors reach what is drawn and saved: top() intervals, the JSON file
    (top,) = res.interactions.top(1, index="fourier")
    assert top.term == (0, 1) and top.stderr == pytest.approx(0.7)
    assert res.token_interactions[1].top(1, index="fourier")[0].stderr == pytest.approx(0.9)


def test_the_errors_survive_a_save(tmp_path):
    res = _result()
    path = tmp_path / "interactions.json"
    res.interactions.save(path)
    loaded = Interactions.load(path)
    np.testing.assert_array_equal(loaded.standard_errors, ERRORS[:, 0])
    assert loaded == res.interactions


def test_no_errors_stay_none():
    res = _result(errors=None)
    assert res.interactions.standard_errors is None
    assert all(t.standard_errors is None for t in res.token_interactions)


def test_per_output_diagnostics_are_split_and_tokens_named():
    diag = {
        "r2_estimate": [0.9, 0.8, None],
        "value_full": [-3.0, -1.0, -2.0],
        "target_ids": [7, 8],  # one per answer token, not per output: kept whole
        "feature_ids": [0, 1, 2],  # as many as the outputs by chance: not a per-output key
        "attr_target": "log_prob",
    }
    res = _result(diagnostics=diag)
    whole = res.interactions.diagnostics
    assert whole["r2_estimate"] == 0.9 and whole["value_full"] == -3.0
    assert whole["output"] == "total" and "output_token" not in whole
    assert whole["target_ids"] == [7, 8] and whole["feature_ids"] == [0, 1, 2]
    first, second = (t.diagnostics for t in res.token_interactions)
    assert first["r2_estimate"] == 0.8 and first["value_full"] == -1.0
    assert second["r2_estimate"] is None and second["value_full"] == -2.0
    assert (first["output"], first["output_token"]) == ("token 0: Philip", "Philip")
    assert second["output_token"] == "Rivers"
    assert res.raw_interactions.diagnostics["r2_estimate"] == [0.9, 0.8, None]  # untouched


def test_the_llm_path_carries_the_errors():
    """End to end on a tiny GPT-2: the default method's errors reach each view."""
    pytest.importorskip("transformers")
    import warnings

    import torch
    from captum.attr import TextTemplateInput

    from captum_spex.attr import SpexInteractions
    from captum_spex.attr.llm import LLMSpexAttribution
    from tests.fixtures.tiny_lm import tiny_gpt2

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model, tok = tiny_gpt2()
        words = "the cat sat on the mat and the dog ran fast".split()
        inp = TextTemplateInput(" ".join(["{}"] * len(words)) + " ? answer :", words)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a poor fit of a random model is expected
            res = LLMSpexAttribution(SpexInteractions(model), tok).attribute(
                inp, target="yes no", n_samples=600, max_degree=2, seed=3
            )
    finally:
        torch.set_num_threads(threads)
    raw = res.raw_interactions.standard_errors
    assert raw is not None and raw.shape == (len(res.raw_interactions), 3)
    np.testing.assert_array_equal(res.interactions.standard_errors, raw[:, 0])
    for j, token in enumerate(res.token_interactions, 1):
        np.testing.assert_array_equal(token.standard_errors, raw[:, j])
    assert res.token_interactions[1].diagnostics["output_token"] == "no"
    assert not isinstance(res.interactions.diagnostics["r2_estimate"], list)
