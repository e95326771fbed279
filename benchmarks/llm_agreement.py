"""First-order agreement of LLMSpexAttribution with Captum on SmolLM2.

Run ``python benchmarks/llm_agreement.py`` from the repository root, after
``benchmarks/llm_qa_example.py`` (whose saved SPEX run it reuses). Two comparisons:

1. Sparse path, 42 features: the Shapley values of the saved SPEX run of the DROP question
   (``llm_qa_example.py``) against ``LLMAttribution(ShapleyValueSampling)`` on the same prompt
   and target (``use_cached_outputs=False``, ``forward_in_tokens=False``); Spearman's rank
   correlation over all features and over the largest ones, and sign agreement.
2. A sharper reference for the two largest SPEX features: paired permutation estimates of
   their Shapley values from ``--check-perms`` permutations, scored with the same model
   (through ``TeacherForcedScorer``, which equals Captum's forward), with standard errors.
3. Exact path, few features: ``LLMSpexAttribution`` against ``LLMAttribution(ShapleyValues)``
   (``use_cached_outputs=False``) on a small template; max abs difference.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from captum.attr import (
    LLMAttribution,
    ShapleyValues,
    ShapleyValueSampling,
    TextTemplateInput,
)

from captum_spex import Interactions
from captum_spex.apps.models import load_smollm2
from captum_spex.apps.prompts import default_example, qa_template_input, split_context
from captum_spex.attr import SpexInteractions
from captum_spex.attr.llm import LLMSpexAttribution
from captum_spex.attr.scoring import TeacherForcedScorer

ROOT = Path(__file__).resolve().parents[1]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra = np.argsort(np.argsort(a)).astype(float)
    rb = np.argsort(np.argsort(b)).astype(float)
    return float(np.corrcoef(ra, rb)[0, 1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--svs-samples", type=int, default=25)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--check-perms", type=int, default=150)
    parser.add_argument(
        "--spex", default=str(ROOT / "benchmarks" / "results" / "llm_qa_example.json")
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    model, tok = load_smollm2()

    # 1. sparse path vs Shapley value sampling
    ex = default_example()
    pieces = split_context(ex["context"], "word")
    words = [p.strip() for p in pieces]
    inp = qa_template_input(tok, pieces, ex["question"])
    raw = Interactions.load(args.spex)
    spex_sv = raw.shapley_values(output=0)
    t0 = time.perf_counter()
    torch.manual_seed(0)
    svs = LLMAttribution(ShapleyValueSampling(model), tok).attribute(
        inp,
        target=ex["answer"],
        use_cached_outputs=False,
        forward_in_tokens=False,
        n_samples=args.svs_samples,
        show_progress=True,
    )
    svs_s = time.perf_counter() - t0
    b = svs.seq_attr.double().numpy()
    top = np.argsort(-np.abs(b))[:10]
    large = np.abs(b) >= 0.1 * np.abs(b).max()
    print(
        f"\nsparse path ({len(words)} features; SPEX {raw.n_queries} masks, R2 estimate "
        f"{raw.diagnostics['r2_estimate'][0]:.3f}) vs Captum ShapleyValueSampling "
        f"(n_samples={args.svs_samples}, {args.svs_samples * len(words) + 1} model calls, "
        f"{svs_s:.0f} s)"
    )
    print(f"  Spearman, all features:          {spearman(spex_sv, b):.3f}")
    print(f"  Spearman, top 10 by |SVS|:       {spearman(spex_sv[top], b[top]):.3f}")
    same = int(np.sum(np.sign(spex_sv[large]) == np.sign(b[large])))
    print(f"  same sign where |SVS| >= 10% of max: {same}/{int(large.sum())}")
    print("  word          SPEX     SVS")
    for i in top:
        print(f"  {words[i]:<12} {spex_sv[i]:+7.3f} {b[i]:+7.3f}")

    # 2. many-permutation reference for the two largest SPEX features
    target_ids = tok.encode(ex["answer"], add_special_tokens=False)
    feats = [int(i) for i in np.argsort(-np.abs(spex_sv))[:2]]
    rng = np.random.default_rng(1)
    masks = []
    for _ in range(args.check_perms):
        perm = rng.permutation(len(words))
        for f in feats:
            before = np.zeros(len(words), dtype=bool)
            before[perm[: int(np.flatnonzero(perm == f)[0])]] = True
            with_f = before.copy()
            with_f[f] = True
            masks += [before, with_f]
    masks = np.array(masks)
    prompts = [tok.encode(inp.to_model_input(torch.tensor(m[None]))) for m in masks]
    vals = TeacherForcedScorer(model, target_ids)(prompts)[:, 0].reshape(-1, 2, 2)
    marg = vals[:, :, 1] - vals[:, :, 0]
    print(f"\n  reference from {args.check_perms} permutations (value +- standard error):")
    for k, f in enumerate(feats):
        se = marg[:, k].std(ddof=1) / np.sqrt(len(marg))
        print(
            f"  {words[f]:<12} SPEX {spex_sv[f]:+7.3f}  SVS({args.svs_samples}) {b[f]:+7.3f}  "
            f"reference {marg[:, k].mean():+7.3f} +- {se:.3f}"
        )

    # 3. exact path vs Captum's ShapleyValues
    small = TextTemplateInput(
        "Passage: {} Philip Rivers threw a{} TD pass{}{}.\nQuestion: Who threw a TD pass?\nAnswer:",
        ["Damon Huard threw a 2-yard TD pass.", " 38-yard", " to Vincent Jackson", " again"],
    )
    t0 = time.perf_counter()
    ref = LLMAttribution(ShapleyValues(model), tok).attribute(
        small, target=" Philip Rivers", use_cached_outputs=False
    )
    t_ref = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = LLMSpexAttribution(SpexInteractions(model), tok).attribute(small, target=" Philip Rivers")
    t_res = time.perf_counter() - t0
    print(
        f"\nexact path (4 features, {len(res.output_tokens)} target tokens): max |seq_attr diff| "
        f"{(res.seq_attr - ref.seq_attr).abs().max().item():.1e}, max |token_attr diff| "
        f"{(res.token_attr - ref.token_attr).abs().max().item():.1e}; Captum ShapleyValues "
        f"{t_ref:.1f} s, LLMSpexAttribution {t_res:.1f} s ({res.interactions.n_queries} masks)"
    )
    print(f"  SPEX   {np.round(res.seq_attr.numpy(), 4)}")
    print(f"  Captum {np.round(ref.seq_attr.numpy(), 4)}")


if __name__ == "__main__":
    main()
