"""LLMSpexAttribution: Captum's input types and result, exact against Captum's Shapley values."""

from __future__ import annotations

import io
from unittest import mock

import numpy as np
import pytest
import torch

pytest.importorskip("transformers")

from captum.attr import (  # noqa: E402
    FeatureAblation,
    LLMAttribution,
    LLMAttributionResult,
    ShapleyValues,
    ShapleyValueSampling,
    TextTemplateInput,
    TextTokenInput,
)

from captum_spex import Interactions  # noqa: E402
from captum_spex.attr import SpexInteractions  # noqa: E402
from captum_spex.attr.llm import LLMSpexAttribution, LLMSpexAttributionResult  # noqa: E402
from captum_spex.attr.scoring import score_log_probs  # noqa: E402
from tests.fixtures.real_models import smollm2  # noqa: E402
from tests.fixtures.tiny_lm import tiny_gpt2  # noqa: E402

TARGET = "the dog is big"


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny():
    return tiny_gpt2()


def _spex(model, tok, **kw):
    return LLMSpexAttribution(SpexInteractions(model), tok, **kw)


def _close(a, b, tol=1e-4):
    a, b = torch.as_tensor(a).double(), torch.as_tensor(b).double()
    assert a.shape == b.shape
    assert (a - b).abs().max().item() <= tol


def _spearman(a, b):
    ra = np.argsort(np.argsort(a)).astype(float)
    rb = np.argsort(np.argsort(b)).astype(float)
    return float(np.corrcoef(ra, rb)[0, 1])


# ---------------------------------------------------------------------- exactness vs Captum
@pytest.mark.parametrize("attr_target, target", [("log_prob", TARGET), ("prob", "the dog")])
def test_exact_shapley_equals_captum_shapley_values_with_mask_groups(tiny, attr_target, target):
    model, tok = tiny
    words = ["the cat", "sat", "on", "the mat", "and", "the dog"]
    inp = TextTemplateInput(
        "passage : {} {} {} {} {} {} ? answer :", words, mask=[3, 1, 1, 7, 5, 9]
    )
    ref = LLMAttribution(ShapleyValues(model), tok, attr_target=attr_target).attribute(
        inp, target=target, use_cached_outputs=False
    )
    res = _spex(model, tok, attr_target=attr_target).attribute(inp, target=target)
    assert res.interactions.diagnostics["mode"] == "exact"
    assert res.interactions.n_queries == 32  # 5 mask groups: all 2^5 masks
    _close(res.seq_attr, ref.seq_attr)
    _close(res.token_attr, ref.token_attr)
    n_tokens = len(target.split())
    assert res.seq_attr.shape == (6,) and res.token_attr.shape == (n_tokens, 6)
    assert res.seq_attr[1] == res.seq_attr[2]  # one group, scattered by inp.format_attr
    assert res.input_tokens == words and res.output_tokens == ref.output_tokens
    inter = res.interactions
    assert inter.feature_names == ("sat on", "the cat", "and", "the mat", "the dog")
    assert inter.diagnostics["feature_ids"] == [1, 3, 5, 7, 9]


def test_dict_values_baselines_and_mask(tiny):
    model, tok = tiny
    values = {"who": "the cat", "verb": "sat", "where": "on the mat", "extra": "and the dog"}
    baselines = {"who": "a bird", "verb": "ran", "where": "", "extra": ""}
    mask = {"who": 0, "verb": 1, "where": 1, "extra": 2}
    inp = TextTemplateInput(
        "passage : {who} {verb} {where} {extra} ? answer :", values, baselines=baselines, mask=mask
    )
    ref = LLMAttribution(ShapleyValues(model), tok).attribute(
        inp, target=TARGET, use_cached_outputs=False
    )
    res = _spex(model, tok).attribute(inp, target=TARGET)
    _close(res.seq_attr, ref.seq_attr)
    _close(res.token_attr, ref.token_attr)
    assert res.interactions.feature_names == ("who", "verb+where", "extra")


def test_text_token_input_with_skip_tokens_and_baseline(tiny):
    model, tok = tiny
    inp = TextTokenInput("the cat sat on mat", tok, baselines="<unk>", skip_tokens=["<bos>"])
    target = torch.tensor(tok.encode("the dog", add_special_tokens=False))
    ref = LLMAttribution(ShapleyValues(model), tok).attribute(
        inp, target=target, use_cached_outputs=False
    )
    res = _spex(model, tok).attribute(inp, target=target)
    _close(res.seq_attr, ref.seq_attr)
    _close(res.token_attr, ref.token_attr)
    assert res.input_tokens == ["the", "cat", "sat", "on", "mat"]
    assert res.interactions.feature_names == tuple(res.input_tokens)


def test_first_order_agrees_with_shapley_value_sampling(tiny):
    model, tok = tiny
    words = "the red cat sat on the mat and the dog".split()
    inp = TextTemplateInput("passage : " + " ".join(["{}"] * len(words)) + " ? answer :", words)
    torch.manual_seed(0)
    svs = LLMAttribution(ShapleyValueSampling(model), tok).attribute(
        inp, target="a dog", use_cached_outputs=False, forward_in_tokens=False, n_samples=100
    )
    # 10 features: all 2^10 masks, no degree truncation, so these are exact Shapley values
    res = _spex(model, tok).attribute(inp, target="a dog", n_samples=1024, max_degree=10)
    assert res.interactions.diagnostics["mode"] == "exact"
    a, b = res.seq_attr.numpy(), svs.seq_attr.numpy()
    assert _spearman(a, b) >= 0.8
    large = np.abs(a) >= 0.25 * np.abs(a).max()
    assert large.sum() >= 3
    assert np.all(np.sign(a[large]) == np.sign(b[large]))


# ---------------------------------------------------------------------- the result
def test_result_is_captum_compatible_and_plots(tiny):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    model, tok = tiny
    inp = TextTemplateInput("{} {} {} {} ? answer :", ["the cat", "sat", "on", "the mat"])
    res = _spex(model, tok).attribute(inp, target=TARGET)
    assert isinstance(res, LLMAttributionResult) and isinstance(res, LLMSpexAttributionResult)
    fig, _ = res.plot_seq_attr(show=False)
    fig2, _ = res.plot_token_attr(show=False)
    matplotlib.pyplot.close(fig)
    matplotlib.pyplot.close(fig2)
    assert set(res.seq_attr_dict) == {"the cat", "sat", "on", "the mat"}
    # per-token explanations come from the same queries and add up to the whole target
    total = res.interactions
    tokens = res.token_interactions
    assert len(tokens) == 4 and all(isinstance(t, Interactions) for t in tokens)
    assert all(t.n_queries == total.n_queries for t in tokens)
    for term, value in total.fourier().items():
        assert sum(t.fourier()[term] for t in tokens) == pytest.approx(value, abs=1e-9)
    np.testing.assert_allclose(
        res.token_attr.sum(0).numpy(), res.seq_attr.numpy(), atol=1e-5, rtol=0
    )
    # efficiency: Shapley values add up to f(full) - f(empty)
    target = tok.encode(TARGET, add_special_tokens=False)
    prompts = [tok.encode(inp.to_model_input(torch.tensor([[m] * 4]))) for m in (1, 0)]
    full, empty = score_log_probs(model, prompts, target)
    assert res.seq_attr.sum().item() == pytest.approx(full[0] - empty[0], abs=1e-4)
    np.testing.assert_allclose(res.output_probs.numpy(), np.exp(full[1:]), rtol=1e-5)
    assert res.raw_interactions.n_outputs == 5
    assert "LLMSpexAttributionResult(4 input features, 4 output tokens" in repr(res)


def test_generated_target_and_gen_args(tiny):
    model, tok = tiny
    inp = TextTemplateInput("{} {} {} ? answer :", ["the cat", "sat", "on the mat"])
    prompt = torch.tensor([tok.encode(inp.to_model_input())])
    with torch.no_grad():
        gen = model.generate(prompt, max_new_tokens=3, do_sample=False, pad_token_id=1)
    res = _spex(model, tok).attribute(inp, gen_args={"max_new_tokens": 3, "pad_token_id": 1})
    expected = tok.convert_ids_to_tokens(gen[0, prompt.shape[1] :].tolist())
    assert res.output_tokens == expected
    assert res.interactions.diagnostics["target_ids"] == gen[0, prompt.shape[1] :].tolist()
    with pytest.raises(ValueError, match="gen_args"):
        _spex(model, tok).attribute(inp, target="a dog", gen_args={"max_new_tokens": 2})


@mock.patch("sys.stderr", new_callable=io.StringIO)
def test_progress_bar(mock_stderr, tiny):
    model, tok = tiny
    inp = TextTemplateInput("{} {} {} ? answer :", ["the cat", "sat", "on the mat"])
    _spex(model, tok).attribute(inp, target="a dog", show_progress=True)
    assert "LLM SPEX attribution: 100%" in mock_stderr.getvalue()
    assert LLMSpexAttribution.get_name() == "LLM SPEX"


@pytest.mark.filterwarnings("ignore::captum_spex.engine.SpexFitWarning")
def test_sparse_budget_is_respected(tiny):
    model, tok = tiny
    words = "the cat sat on the mat and the dog ran fast".split()
    inp = TextTemplateInput(" ".join(["{}"] * len(words)) + " ? answer :", words)
    res = _spex(model, tok).attribute(inp, target="yes", n_samples=600, max_degree=2, seed=3)
    assert res.interactions.n_queries <= 600
    assert res.interactions.max_degree <= 2
    assert res.output_probs.shape == (1,)


# ---------------------------------------------------------------------- errors
def test_constructor_errors(tiny):
    model, tok = tiny
    assert issubclass(LLMSpexAttribution, LLMAttribution)
    assert LLMSpexAttribution.SUPPORTED_METHODS == (SpexInteractions,)
    assert LLMAttribution.SUPPORTED_METHODS != (SpexInteractions,)  # no global patching
    with pytest.raises(TypeError, match="attr_method"):
        LLMSpexAttribution(FeatureAblation(model), tok)
    with pytest.raises(TypeError, match="attr_method"):
        LLMSpexAttribution(SpexInteractions(lambda x: x), tok)
    with pytest.raises(ValueError, match="attr_target"):
        LLMSpexAttribution(SpexInteractions(model), tok, attr_target="logit")
    with pytest.raises(TypeError, match="tokenizer"):
        LLMSpexAttribution(SpexInteractions(model), object())


@pytest.mark.parametrize(
    "kwargs, exc, word",
    [
        ({"target": 3}, TypeError, "target"),
        ({"target": ""}, ValueError, "target"),
        ({"target": "a", "n_samples": 0}, ValueError, "n_samples"),
        ({"target": "a", "n_samples": 5}, ValueError, "n_samples"),
        ({"target": "a", "max_degree": 0}, ValueError, "max_degree"),
        ({"target": "a", "batch_size": 1.5}, TypeError, "batch_size"),
        ({"target": "a", "show_progress": "yes"}, TypeError, "show_progress"),
        ({"target": "a", "attribution": "lime"}, ValueError, "attribution"),
        ({"gen_args": [1]}, TypeError, "gen_args"),
    ],
)
def test_attribute_errors_name_the_argument(tiny, kwargs, exc, word):
    model, tok = tiny
    words = "the cat sat on the mat and the dog ran fast".split()
    inp = TextTemplateInput(" ".join(["{}"] * len(words)), words)
    with pytest.raises(exc, match=word):
        _spex(model, tok).attribute(inp, **kwargs)


def test_bad_inputs(tiny):
    model, tok = tiny
    with pytest.raises(TypeError, match="inp"):
        _spex(model, tok).attribute("the cat sat", target="a")

    class NoBos:  # a tokenizer that adds no special token
        def __init__(self, tok):
            self.tok = tok

        def encode(self, text, **kw):
            kw["add_special_tokens"] = False
            return self.tok.encode(text, **kw)

        def __getattr__(self, name):
            return getattr(self.tok, name)

    empty = TextTemplateInput("{}{}", ["the", " cat"])
    with pytest.raises(ValueError, match="empty"):
        _spex(model, NoBos(tok)).attribute(empty, target="a")


def test_training_mode_warns(tiny):
    model, tok = tiny_gpt2()
    model.train()
    inp = TextTemplateInput("{} {} ? answer :", ["the cat", "sat"])
    with pytest.warns(UserWarning, match="training mode"):
        _spex(model, tok).attribute(inp, target="a")


# ---------------------------------------------------------------------- the real model
def test_smollm2_exact_equals_captum_shapley_values():
    model, tok = smollm2()
    inp = TextTemplateInput(
        "Passage: {} Philip Rivers threw a{} TD pass{}.\nQuestion: Who threw a TD pass?\nAnswer:",
        ["Damon Huard threw a 2-yard TD pass.", " 38-yard", " to Vincent Jackson"],
    )
    target = " Philip Rivers"
    ref = LLMAttribution(ShapleyValues(model), tok).attribute(
        inp, target=target, use_cached_outputs=False
    )
    res = _spex(model, tok).attribute(inp, target=target)
    assert res.interactions.n_queries == 8
    _close(res.seq_attr, ref.seq_attr)
    _close(res.token_attr, ref.token_attr)
    assert res.output_tokens == ref.output_tokens


@mock.patch("sys.stderr", new_callable=io.StringIO)
def test_cache_resumes_without_scoring_masks_again(mock_stderr, tiny, tmp_path):
    model, tok = tiny
    inp = TextTemplateInput("{} {} {} {} ? answer :", ["the cat", "sat", "on", "the mat"])
    first = _spex(model, tok).attribute(inp, target="a dog", cache=tmp_path / "q.sqlite")
    calls = []
    hook = model.register_forward_pre_hook(lambda mod, args: calls.append(1))
    try:
        again = _spex(model, tok).attribute(
            inp, target="a dog", cache=tmp_path / "q.sqlite", show_progress=True
        )
    finally:
        hook.remove()
    assert len(calls) == 1  # only the full prompt, for output_probs
    assert again.interactions.fourier() == first.interactions.fourier()
    torch.testing.assert_close(again.output_probs, first.output_probs)
    assert "LLM SPEX attribution: 100%" in mock_stderr.getvalue()
    assert "16/16" in mock_stderr.getvalue()
    other = _spex(model, tok).attribute(inp, target="a cat", cache=tmp_path / "q.sqlite")
    assert other.interactions.fourier() != first.interactions.fourier()  # target in the key
    with pytest.raises(TypeError, match="cache"):
        _spex(model, tok).attribute(inp, target="a dog", cache=3)


@mock.patch("sys.stderr", new_callable=io.StringIO)
def test_thread_executor_matches_serial(mock_stderr, tiny):
    from concurrent.futures import ThreadPoolExecutor

    model, tok = tiny
    inp = TextTemplateInput("{} {} {} {} ? answer :", ["the cat", "sat", "on", "the mat"])
    serial = _spex(model, tok).attribute(inp, target="a dog")
    with ThreadPoolExecutor(2) as pool:
        threaded = _spex(model, tok).attribute(
            inp, target="a dog", executor=pool, show_progress=True
        )
    for term, value in serial.interactions.fourier().items():
        assert threaded.interactions.fourier()[term] == pytest.approx(value, abs=1e-5)
    assert "16/16" in mock_stderr.getvalue()
