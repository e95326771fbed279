"""ProxySPEX against SPEX on hierarchical AND functions: queries, fit seconds, held-out R².

The workload is where ProxySPEX is meant to pay off (design §5): a sum of nested AND terms.
Each of ``g`` groups picks three random features ``a, b, c`` and adds

    c1 * m_a  +  c2 * m_a m_b  +  c3 * m_a m_b m_c        (m_i = 1 when feature i is kept)

with coefficients of random sign and magnitude Uniform[0.5, 1.5] (function seed s). Its Fourier
expansion has up to 8 terms per group, of degree <= 3. Score: R² against f on 10,000 held-out
uniform masks (seed 2^31 - 1 - s); medians over seeds s = 0, 1, 2.

ProxySPEX runs at budgets from far below the smallest SPEX design
(``minimum_budget(n, max_degree)``) upward; SPEX at its minimum and above. "fit s" is the
time after the queries: LightGBM grid + tree read-off + ridge refit for ProxySPEX, decoding +
refinement for SPEX. Every thread pool is pinned to 1 (set before numpy is imported).

Usage (from the repository root)::

    nice .venv/bin/python benchmarks/proxy_benchmark.py            # n = 100 and 1000, 3 seeds
    nice .venv/bin/python benchmarks/proxy_benchmark.py --quick    # n = 100, seed 0

The markdown table goes to stdout and ``benchmarks/results/proxy_benchmark[_quick].md``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent

from captum_spex import spex  # noqa: E402
from captum_spex.engine.design import minimum_budget  # noqa: E402
from captum_spex.engine.proxy import proxy_spex  # noqa: E402
from captum_spex.testing import r2_score  # noqa: E402

MAX_DEGREE = 5
N_HELDOUT = 10_000


class HierarchicalAnd:
    """Nested AND terms over ``n`` features (see the module docstring)."""

    def __init__(self, n: int, n_groups: int, seed: int):
        rng = np.random.default_rng(seed)
        feats = rng.choice(n, size=(n_groups, 3), replace=False if 3 * n_groups <= n else True)
        coefs = rng.choice([-1.0, 1.0], size=(n_groups, 3)) * rng.uniform(0.5, 1.5, (n_groups, 3))
        self.terms = []
        for g in range(n_groups):
            for d in range(1, 4):
                self.terms.append((feats[g, :d].tolist(), float(coefs[g, d - 1])))

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        out = np.zeros(masks.shape[0])
        for feats, c in self.terms:
            out += c * masks[:, feats].all(axis=1)
        return out


def _run(method: str, f, n: int, budget: int, seed: int) -> dict:
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SpexFitWarning at too-small budgets is expected
        if method == "proxy":
            res = proxy_spex(f, n, n_samples=budget, max_degree=MAX_DEGREE, seed=seed)
            fit = res.diagnostics["fit_seconds"]
        else:
            res = spex(f, n, n_samples=budget, max_degree=MAX_DEGREE, seed=seed)
            fit = res.diagnostics["decode_seconds"]
    wall = time.perf_counter() - t0
    held = np.random.default_rng(2**31 - 1 - seed).random((N_HELDOUT, n)) < 0.5
    return {
        "queries": res.n_queries,
        "fit": fit,
        "wall": wall,
        "r2": r2_score(f(held), res.predict(held)),
        "terms": len(res),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="n = 100 only, seed 0")
    ap.add_argument("--seeds", default=None, help="comma-separated seeds (default 0,1,2)")
    args = ap.parse_args()
    seeds = [0] if args.quick else [0, 1, 2]
    if args.seeds:
        seeds = [int(s) for s in args.seeds.split(",")]
    workloads = [(100, 10)] if args.quick else [(100, 10), (1000, 20)]

    # warm-up: numba caches and LightGBM loading do not count against the first row
    warm = HierarchicalAnd(100, 2, 0)
    _run("spex", warm, 100, minimum_budget(100, MAX_DEGREE), 0)
    _run("proxy", warm, 100, 200, 0)

    lines = [
        "| n | groups | method | budget | queries | fit s | wall s | R² (median) | terms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for n, groups in workloads:
        smin = minimum_budget(n, MAX_DEGREE)
        plan = [("proxy", b) for b in (300, 600, 1400, 5000)]
        plan += [("spex", b) for b in (smin, 2 * smin, 4 * smin, 8 * smin)]
        for method, budget in plan:
            rows = [_run(method, HierarchicalAnd(n, groups, s), n, budget, s) for s in seeds]

            def med(key, rows=rows):
                return statistics.median(r[key] for r in rows)

            name = "ProxySPEX" if method == "proxy" else "SPEX"
            note = " (< SPEX min)" if budget < smin else ""
            lines.append(
                f"| {n} | {groups} | {name} | {budget}{note} | {med('queries'):.0f} | "
                f"{med('fit'):.2f} | {med('wall'):.2f} | {med('r2'):.4f} | {med('terms'):.0f} |"
            )
            print(lines[-1], flush=True)
    table = "\n".join(lines)
    print()
    print(table)
    out = HERE / "results" / f"proxy_benchmark{'_quick' if args.quick else ''}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        f"# ProxySPEX vs SPEX on hierarchical AND functions\n\nseeds {seeds}, max_degree "
        f"{MAX_DEGREE}, R² on {N_HELDOUT} held-out uniform masks, threads = 1\n\n{table}\n"
    )


if __name__ == "__main__":
    main()
