"""Anytime explanations on the faithfulness tasks: how many queries ``target_r2`` uses, and
how often the standard errors' 95% intervals cover a bigger run's values.

For each task (``_faithfulness_tasks.py``) and seed:

- **fixed sweep**: the default ``spex(f, n, n_samples=B, seed=s)`` at B = 64, 128, ...,
  doubling below the task's cap, and the cap; its held-out R² (the faithfulness benchmark's held-out
  uniform masks). "smallest B" is the smallest of these budgets whose held-out R² reaches
  the target.
- **anytime**: ``spex(f, n, n_samples=cap, target_r2=T, seed=s)``: the queries it used, the
  held-out R² of what it returned, its own estimate and why it stopped. "ratio" = queries
  used / smallest B (the issue asks for at most 2).
- **coverage**: the default at 4x the queries the anytime run used (seed s + 100) is the
  reference. Coverage is the share of the anytime result's terms (Fourier coefficients;
  a term missing from the reference counts as 0) and of its Shapley values whose interval
  ``value ± 1.96 se`` holds the reference value. The reference has its own error (about half
  the anytime run's), so a nominal 95% interval covers it a little less often than 95%.

Usage (from the repository root; one process at a time on a shared machine)::

    nice .venv/bin/python benchmarks/anytime.py                       # VADER 1-5, MiniLM intent
    nice .venv/bin/python benchmarks/anytime.py --tasks vader-1 --seeds 0 --target 0.9

Rows go to ``benchmarks/results/anytime.json`` (a rerun skips rows already there; --force
redoes them) and the table to ``benchmarks/anytime_results.md``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from _faithfulness_tasks import SPECS, build, expand, held_out, r2  # noqa: E402

from captum_spex import SpexFitWarning, spex  # noqa: E402

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "anytime.json"
COMMITTED = ROOT / "anytime_results.md"
Z95 = 1.96


def _run(task, budget: int, seed: int, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpexFitWarning)
        t0 = time.perf_counter()
        res = spex(task, task.n, n_samples=budget, seed=seed, **kwargs)
    return res, time.perf_counter() - t0


def _coverage(res, ref) -> tuple[float, float, int]:
    """(term coverage, Shapley coverage, number of terms) of ``res``'s 95% intervals
    against the values of the reference run ``ref``."""
    ref_f = ref.fourier()
    se = dict(zip(res.terms, np.asarray(res.standard_errors, dtype=float).ravel()))
    terms = [t for t in res.terms if t]
    est = res.fourier()
    hits = [abs(est[t] - ref_f.get(t, 0.0)) <= Z95 * se[t] for t in terms]
    phi, phi_se = res.shapley_values(), res.attribution_standard_errors("shapley")
    phi_hits = np.abs(phi - ref.shapley_values()) <= Z95 * phi_se
    return float(np.mean(hits)), float(np.mean(phi_hits)), len(terms)


def run_task(name: str, seed: int, target: float) -> dict:
    spec = SPECS[name]
    task = build(name)
    hx, hy = held_out(task)
    sweep = []
    budgets = [64 << k for k in range(20) if 64 << k < spec["cap"]] + [spec["cap"]]
    for budget in budgets:
        res, wall = _run(task, budget, seed)
        sweep.append({"B": budget, "r2": r2(hy, res.predict(hx)), "wall": wall})
        print(f"  {name} s={seed} fixed B={budget:<6} R2={sweep[-1]['r2']:.3f} {wall:.1f}s")
    reached = [row["B"] for row in sweep if row["r2"] >= target]
    res, wall = _run(task, spec["cap"], seed, target_r2=target)
    used = res.n_queries
    row = {
        "task": name,
        "seed": seed,
        "target": target,
        "n": task.n,
        "cap": spec["cap"],
        "sweep": sweep,
        "smallest": reached[0] if reached else None,
        "used": used,
        "r2": r2(hy, res.predict(hx)),
        "estimate": float(np.min(res.diagnostics["r2_estimate"])),
        "stopped": res.diagnostics.get("stopped", ""),
        "wall": wall,
    }
    print(f"  {name} s={seed} anytime used={used} R2={row['r2']:.3f} est={row['estimate']:.3f}")
    ref, _ = _run(task, min(4 * used, 4 * spec["cap"]), seed + 100)
    row["ref_queries"] = ref.n_queries
    row["coverage_terms"], row["coverage_shapley"], row["n_terms"] = _coverage(res, ref)
    print(
        f"  {name} s={seed} coverage terms {row['coverage_terms']:.2f} "
        f"Shapley {row['coverage_shapley']:.2f} ({row['n_terms']} terms)"
    )
    return row


def render(rows: list[dict]) -> str:
    out = [
        "# Anytime explanations: queries used by target_r2 and interval coverage",
        "",
        "Generated by `benchmarks/anytime.py` (its docstring has the protocol). Held-out R² on "
        "the faithfulness benchmark's held-out uniform masks. 2-core CPU shared with other "
        "jobs.",
        "",
        "| task | n | seed | target | smallest fixed B reaching it (held-out) | queries used "
        "by target_r2 | ratio | held-out R² of the stopped run | its estimate | stopped | "
        "term coverage (95%) | Shapley coverage (95%) | terms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        small = row["smallest"]
        ratio = f"{row['used'] / small:.2f}" if small else "—"
        out.append(
            f"| {row['task']} | {row['n']} | {row['seed']} | {row['target']} | "
            f"{small if small else 'none up to ' + str(row['cap'])} | {row['used']:,} | "
            f"{ratio} | {row['r2']:.3f} | {row['estimate']:.3f} | {row['stopped']} | "
            f"{row['coverage_terms']:.2f} | {row['coverage_shapley']:.2f} | {row['n_terms']} |"
        )
    ratios = [r["used"] / r["smallest"] for r in rows if r["smallest"]]
    if ratios:
        out += [
            "",
            f"Median ratio {statistics.median(ratios):.2f} (max {max(ratios):.2f}) over "
            f"{len(ratios)} runs that some fixed budget reached; median term coverage "
            f"{statistics.median(r['coverage_terms'] for r in rows):.2f}, Shapley coverage "
            f"{statistics.median(r['coverage_shapley'] for r in rows):.2f}.",
        ]
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", default="vader-1,vader-2,vader-3,vader-4,vader-5,minilm-intent")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--target", type=float, default=0.9)
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    rows = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    for name in expand(args.tasks):
        for seed in (int(s) for s in args.seeds.split(",")):
            key = (name, seed, args.target)
            done = [r for r in rows if (r["task"], r["seed"], r["target"]) == key]
            if done and not args.force:
                continue
            rows = [r for r in rows if (r["task"], r["seed"], r["target"]) != key]
            rows.append(run_task(name, seed, args.target))
            RESULTS.parent.mkdir(exist_ok=True)
            RESULTS.write_text(json.dumps(rows, indent=1))
            COMMITTED.write_text(render(rows))
    print(render(rows))


if __name__ == "__main__":
    main()
