"""Time every sparse conversion of ``Interactions`` and print a table.

Workload: n = 1000 features, K = 1000 random Fourier terms of degree 1..5 (uniform), plus a
constant. Each conversion is timed cold (fresh object, no cache) as the best of ``--repeat``.

    python benchmarks/conversions.py [--n 1000] [--k 1000] [--max-degree 5] [--repeat 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from captum_spex.interactions import Interactions


def random_terms(rng: np.random.Generator, n: int, k: int, max_degree: int) -> list[tuple]:
    terms: set[tuple[int, ...]] = {()}
    while len(terms) < k + 1:
        d = int(rng.integers(1, max_degree + 1))
        terms.add(tuple(sorted(rng.choice(n, size=d, replace=False).tolist())))
    return sorted(terms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--k", type=int, default=1000)
    parser.add_argument("--max-degree", type=int, default=5)
    parser.add_argument("--outputs", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    terms = random_terms(rng, args.n, args.k, args.max_degree)
    shape = (len(terms),) if args.outputs == 1 else (len(terms), args.outputs)
    coefs = rng.normal(size=shape)

    def fresh() -> Interactions:
        return Interactions(args.n, terms, coefs, max_degree=args.max_degree)

    jobs = {
        "construct": lambda inter: fresh(),
        "mobius": lambda inter: inter.mobius(),
        "shapley_values": lambda inter: inter.shapley_values(),
        "banzhaf_values": lambda inter: inter.banzhaf_values(),
    }
    for name in ("bii", "sii", "k-sii", "stii", "fsii", "fbii"):
        jobs[f"{name} (order {args.max_degree})"] = lambda inter, name=name: inter.index(name)
    for name in ("k-sii", "stii", "fsii", "fbii"):
        jobs[f"{name} (order 2)"] = lambda inter, name=name: inter.index(name, order=2)
    jobs["top(10)"] = lambda inter: inter.top(10)
    jobs["repr"] = repr

    print(
        f"n={args.n}, K={len(terms)} terms (degree <= {args.max_degree}), "
        f"outputs={args.outputs}, best of {args.repeat}"
    )
    print(f"{'conversion':<22} {'time (ms)':>10} {'terms out':>10}")
    total = 0.0
    for label, job in jobs.items():
        best = np.inf
        out = None
        for _ in range(args.repeat):
            inter = fresh()
            start = time.perf_counter()
            out = job(inter)
            best = min(best, time.perf_counter() - start)
        total += best
        size = len(out) if hasattr(out, "__len__") and not isinstance(out, str) else ""
        print(f"{label:<22} {best * 1e3:>10.1f} {size!s:>10}")
    print(f"{'total':<22} {total * 1e3:>10.1f}")


if __name__ == "__main__":
    main()
