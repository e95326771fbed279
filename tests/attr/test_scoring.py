"""TeacherForcedScorer: equal to Captum's uncached LLMAttribution forward, batched right."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("transformers")

from captum.attr import FeatureAblation, LLMAttribution, TextTemplateInput  # noqa: E402

from captum_spex.attr import scoring  # noqa: E402
from captum_spex.attr.scoring import (  # noqa: E402
    TeacherForcedScorer,
    generate_target,
    score_log_probs,
)
from tests.fixtures.qa import nfl_pass_example, qa_template_input  # noqa: E402
from tests.fixtures.real_models import smollm2  # noqa: E402
from tests.fixtures.tiny_lm import tiny_gpt2  # noqa: E402

PREFIX = "passage : the red bird is very big and the blue tree is small . "
WORDS = "the cat sat on the mat and the dog ran fast".split()


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny():
    return tiny_gpt2()


def _template(prefix=PREFIX):
    return TextTemplateInput(prefix + " ".join(["{}"] * len(WORDS)) + " ? answer :", WORDS)


def _masks(n, seed=0):
    masks = np.random.default_rng(seed).integers(0, 2, size=(n, len(WORDS))).astype(bool)
    masks[0] = True
    masks[1] = False
    return masks


def _captum(model, tok, inp, target, masks, forward_in_tokens=True):
    llm = LLMAttribution(FeatureAblation(model), tok)
    rows = []
    for m in masks:
        out = llm._forward_func(
            torch.tensor(m[None], dtype=torch.float),
            inp,
            target,
            use_cached_outputs=False,
            forward_in_tokens=forward_in_tokens,
        )
        rows.append(out[0].double().numpy())
    return np.array(rows)


def _prompts(tok, inp, masks):
    return [tok.encode(inp.to_model_input(torch.tensor(m[None]))) for m in masks]


class Spy(torch.nn.Module):
    """Records the kwargs and grad/inference state of every forward call."""

    def __init__(self, model, keep_signature=True):
        super().__init__()
        self.model = model
        self.calls = []
        if keep_signature:
            self.forward = self._forward_full
        else:
            self.forward = self._forward_plain

    def _record(self, kwargs):
        self.calls.append(
            {
                "shape": tuple(kwargs["input_ids"].shape),
                "keys": set(kwargs),
                "inference": torch.is_inference_mode_enabled(),
                "keep": kwargs.get("logits_to_keep"),
            }
        )

    def _forward_full(
        self,
        input_ids,
        attention_mask=None,
        cache=None,
        use_cache=None,
        logits_to_keep=0,
    ):
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if cache is not None:
            kwargs["cache"] = cache
        if use_cache is not None:
            kwargs["use_cache"] = use_cache
        kwargs["logits_to_keep"] = logits_to_keep
        self._record(kwargs)
        return self.model(**kwargs)

    def _forward_plain(self, input_ids, attention_mask=None):
        self._record({"input_ids": input_ids, "attention_mask": attention_mask})
        return self.model(input_ids=input_ids, attention_mask=attention_mask)


@pytest.mark.parametrize("forward_in_tokens", [True, False])
def test_equals_captum_uncached_forward(tiny, forward_in_tokens):
    model, tok = tiny
    inp = _template()
    target = torch.tensor(tok.encode("the dog is big", add_special_tokens=False))
    masks = _masks(24)
    ref = _captum(model, tok, inp, target, masks, forward_in_tokens)
    prompts = _prompts(tok, inp, masks)
    assert len({len(p) for p in prompts}) > 3  # removal masks: different prompt lengths
    for batch_size in (1, 5, 64):
        for share in (False, True):
            got = TeacherForcedScorer(model, target, batch_size=batch_size, share_prefix=share)(
                prompts
            )
            assert got.dtype == np.float64 and got.shape == (24, 5)
            np.testing.assert_allclose(got, ref, atol=1e-4, rtol=0)
            np.testing.assert_allclose(got[:, 0], got[:, 1:].sum(1), atol=1e-9)


def test_shares_prefix_exactly_and_keeps_only_target_logits(tiny):
    model, tok = tiny
    spy = Spy(model)
    inp = _template()
    target = torch.tensor(tok.encode("the dog is big", add_special_tokens=False))
    masks = _masks(16, seed=1)
    prompts = _prompts(tok, inp, masks)
    plain = TeacherForcedScorer(model, target, batch_size=16, share_prefix=False)(prompts)
    scorer = TeacherForcedScorer(spy, target, batch_size=16, share_prefix=True)
    got = scorer(prompts)
    np.testing.assert_allclose(got, plain, atol=1e-5, rtol=0)
    # one prefix pass (batch 1) + one batched pass over the suffixes
    assert scorer.n_forward_calls == 2
    prefix_call, main_call = spy.calls
    assert prefix_call["shape"][0] == 1 and prefix_call["keep"] == 1
    assert "cache" in main_call["keys"]
    shared = prefix_call["shape"][1]
    assert shared >= len(tok.encode(PREFIX))
    # only the positions that predict target tokens get logits
    keep = main_call["keep"]
    lengths = [len(p) for p in prompts]
    assert isinstance(keep, torch.Tensor)
    assert keep.numel() == 4 + max(lengths) - min(lengths)
    assert all(c["inference"] for c in spy.calls)
    assert scorer.n_token_positions < sum(n + 4 for n in lengths)


def test_model_without_cache_or_logits_to_keep(tiny):
    model, tok = tiny
    inp = _template()
    target = torch.tensor(tok.encode("a big house", add_special_tokens=False))
    masks = _masks(10, seed=2)
    prompts = _prompts(tok, inp, masks)
    ref = _captum(model, tok, inp, target, masks, forward_in_tokens=False)
    spy = Spy(model, keep_signature=False)
    got = TeacherForcedScorer(spy, target, batch_size=4)(prompts)
    np.testing.assert_allclose(got, ref, atol=1e-4, rtol=0)
    assert all(c["keys"] == {"input_ids", "attention_mask"} for c in spy.calls)


def test_batches_are_bounded_by_tokens_and_results_keep_input_order(tiny):
    model, tok = tiny
    spy = Spy(model)
    inp = _template(prefix="")
    target = [tok.convert_tokens_to_ids("yes")]
    masks = _masks(30, seed=3)
    prompts = _prompts(tok, inp, masks)
    scorer = TeacherForcedScorer(spy, target, batch_size=64, max_batch_tokens=40, sort=True)
    got = scorer(prompts)
    assert all(c["shape"][0] * c["shape"][1] <= 40 for c in spy.calls)
    unsorted = TeacherForcedScorer(model, target, batch_size=1, sort=False)(prompts)
    np.testing.assert_allclose(got, unsorted, atol=1e-5, rtol=0)
    # a permutation of the prompts permutes the rows
    perm = np.random.default_rng(0).permutation(30)
    again = TeacherForcedScorer(model, target)([prompts[i] for i in perm])
    np.testing.assert_allclose(again, got[perm], atol=1e-5, rtol=0)


def test_progress_callback_and_empty_input(tiny):
    model, tok = tiny
    seen = []
    scorer = TeacherForcedScorer(model, [5, 6], batch_size=3)
    scorer([[2, 7]] * 7, on_batch=seen.append)
    assert sum(seen) == 7 and max(seen) <= 3
    assert scorer([]).shape == (0, 3)


def test_bfloat16_model_gives_float64_close_to_fp32(tiny):
    model, tok = tiny
    model16 = tiny_gpt2()[0].to(torch.bfloat16)
    prompts = _prompts(tok, _template(), _masks(6))
    target = tok.encode("the dog", add_special_tokens=False)
    a = score_log_probs(model, prompts, target)
    b = score_log_probs(model16, prompts, target)
    assert b.dtype == np.float64
    np.testing.assert_allclose(a, b, atol=0.25, rtol=0.05)


def test_min_shared_prefix_threshold(tiny, monkeypatch):
    model, tok = tiny
    spy = Spy(model)
    prompts = _prompts(tok, _template(prefix="passage : "), _masks(8))
    target = [tok.convert_tokens_to_ids("no")]
    monkeypatch.setattr(scoring, "_MIN_SHARED_PREFIX", 10_000)
    TeacherForcedScorer(spy, target, batch_size=8)(prompts)
    assert len(spy.calls) == 1 and "cache" not in spy.calls[0]["keys"]


@pytest.mark.parametrize(
    "kwargs, exc, word",
    [
        ({"target_ids": []}, ValueError, "target_ids"),
        ({"target_ids": [[1, 2], [3, 4]]}, ValueError, "target_ids"),
        ({"target_ids": [0.5]}, TypeError, "target_ids"),
        ({"target_ids": [1], "batch_size": 0}, ValueError, "batch_size"),
        ({"target_ids": [1], "batch_size": 2.0}, TypeError, "batch_size"),
        ({"target_ids": [1], "max_batch_tokens": -1}, ValueError, "max_batch_tokens"),
        ({"target_ids": [1], "share_prefix": 1}, TypeError, "share_prefix"),
    ],
)
def test_constructor_errors_name_the_argument(tiny, kwargs, exc, word):
    with pytest.raises(exc, match=word):
        TeacherForcedScorer(tiny[0], **kwargs)


def test_call_errors_name_the_argument(tiny):
    scorer = TeacherForcedScorer(tiny[0], [5])
    with pytest.raises(ValueError, match="prompts"):
        scorer([[1, 2], []])
    with pytest.raises(TypeError, match="prompts"):
        scorer("the cat")
    with pytest.raises(TypeError, match="prompts"):
        scorer([[1.5, 2.0]])
    with pytest.raises(TypeError, match="model"):
        TeacherForcedScorer(object(), [1])


def test_generate_target_matches_generate_and_manual_loop(tiny):
    model, tok = tiny
    prompt = tok.encode("the cat sat on the mat")
    with torch.no_grad():
        ref = model.generate(
            torch.tensor([prompt]), max_new_tokens=6, do_sample=False, pad_token_id=1
        )[0, len(prompt) :]
    got = generate_target(model, prompt, {"max_new_tokens": 6, "pad_token_id": 1})
    assert got.tolist() == ref.tolist()
    manual = generate_target(Spy(model, keep_signature=False), prompt, {"max_new_tokens": 6})
    assert manual.tolist()[: len(ref)] == ref.tolist()[: len(manual)]
    with pytest.raises(TypeError, match="gen_args"):
        generate_target(model, prompt, gen_args=[("max_new_tokens", 3)])


def test_smollm2_equals_captum_on_a_few_masks():
    model, tok = smollm2()
    ex = nfl_pass_example()
    words = ex["passage"].split()
    inp = qa_template_input(tok, words, ex["question"])
    target = torch.tensor(tok.encode(ex["answer"], add_special_tokens=False))
    masks = np.random.default_rng(0).integers(0, 2, size=(4, len(words))).astype(bool)
    masks[0] = True
    ref = _captum(model, tok, inp, target, masks, forward_in_tokens=False)
    got = TeacherForcedScorer(model, target, batch_size=4)(_prompts(tok, inp, masks))
    np.testing.assert_allclose(got, ref, atol=1e-4, rtol=0)
    # the full prompt makes the gold answer far more likely than a half-empty passage
    assert got[0, 0] > got[1:, 0].min()
