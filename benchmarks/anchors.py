"""What the anchors cost: held-out R² of the default with and without the exact full-input
and baseline values (``captum_spex.engine.anchors``), on the faithfulness tasks.

For every task, budget and seed, the default method runs once, as ``faithfulness.py`` runs it
(``spex(f, n, n_samples=B, seed=s)``). The anchored surrogate is what users get; the
unanchored one is its sparse terms without ``anchor_residuals``, so both are scored on the
same queries and the same held-out masks as the faithfulness table. "before" is the
default's median held-out R² in the committed ``faithfulness_results.md`` (the code before
the anchors). The anchors come out of the budget, so the method's design has up to two masks
fewer than before: "anchored − before" is the cost of those two queries, "anchored −
unanchored" that of the correction (zero by construction).

Usage (from the repository root)::

    nice .venv/bin/python benchmarks/anchors.py --tasks vader-1,minilm-intent --budgets 64,500
    nice .venv/bin/python benchmarks/anchors.py              # every task, its budgets and seeds

Prints a table and writes ``benchmarks/anchors_results.md``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _faithfulness_tasks import SPECS, build, held_out, r2  # noqa: E402

from captum_spex import spex  # noqa: E402

HERE = Path(__file__).resolve().parent
BUDGETS = (64, 250, 500, 1000, 2000, 4000, 16000)
# the faithfulness table's seeds: VADER 0-2 up to 16k; MiniLM 0-2 up to 500, then 0
SEEDS_SMALL = {"minilm-intent": (0, 1, 2), "minilm-sim": (0, 1, 2)}


def committed_default() -> dict[tuple[str, int], float]:
    """``(task, B) -> default median R²`` from the committed faithfulness table."""
    text = (HERE / "faithfulness_results.md").read_text()
    out: dict[tuple[str, int], float] = {}
    for block in re.split(r"^### ", text, flags=re.M)[1:]:
        task = block.split(" ", 1)[0]
        part = block.split("Held-out R²:", 1)
        if len(part) < 2:
            continue
        for line in part[1].split("\n\n", 2)[1].splitlines():
            cells = [c.strip() for c in line.strip("|").split("|")]
            if cells and cells[0].isdigit():
                try:
                    out[(task, int(cells[0]))] = float(cells[1])
                except ValueError:
                    pass
    return out


def unanchored(inter) -> tuple[list, np.ndarray]:
    """The surrogate without the anchors: its sparse terms alone."""
    terms = list(inter.terms)
    return terms, np.asarray(inter.coefficients, dtype=np.float64).reshape(len(terms), -1)


def predict(terms, coefs, masks) -> np.ndarray:
    out = np.zeros(masks.shape[0])
    for t, c in zip(terms, coefs[:, 0]):
        out += c * (-1.0) ** masks[:, list(t)].sum(axis=1) if t else c
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default=",".join(SPECS))
    ap.add_argument("--budgets", default=",".join(map(str, BUDGETS)))
    ap.add_argument("--seeds", default=None, help="default: the faithfulness table's")
    ap.add_argument("--out", default=str(HERE / "anchors_results.md"))
    args = ap.parse_args(argv)
    before = committed_default()
    rows = []
    for name in args.tasks.split(","):
        spec = SPECS[name]
        task = build(name)
        hx, hy = held_out(task)
        for b in [int(x) for x in args.budgets.split(",") if int(x) <= spec["cap"]]:
            if args.seeds is not None:
                seeds = [int(s) for s in args.seeds.split(",")]
            elif b <= 500 and name in SEEDS_SMALL:
                seeds = list(SEEDS_SMALL[name])
            else:
                seeds = list(spec["seeds"])
            cells = []
            for s in seeds:
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    inter = spex(task, task.n, n_samples=b, seed=s)
                r2_anch = r2(hy, inter.predict(hx))
                r2_raw = r2(hy, predict(*unanchored(inter), hx))
                d = inter.diagnostics
                cells.append(
                    (
                        r2_anch,
                        r2_raw,
                        d.get("anchor_gap_full", 0.0),
                        d.get("anchor_gap_baseline", 0),
                    )
                )
                wall = time.perf_counter() - t0
                print(
                    f"  {name} B={b} s={s} anchored {r2_anch:.4f} unanchored {r2_raw:.4f} "
                    f"gaps {cells[-1][2]:+.3f} {cells[-1][3]:+.3f} ({wall:.1f} s)",
                    flush=True,
                )
            arr = np.array(cells)
            diff = arr[:, 0] - arr[:, 1]
            rows.append(
                (
                    name,
                    b,
                    len(seeds),
                    before.get((name, b)),
                    float(np.median(arr[:, 1])),
                    float(np.median(arr[:, 0])),
                    float(np.median(diff)),
                    float(diff.min()),
                    float(np.median(np.abs(arr[:, 2]))),
                    float(np.median(np.abs(arr[:, 3]))),
                )
            )
    head = (
        "| task | B | seeds | before (committed) | unanchored | anchored | anchored − unanchored "
        "(median, worst seed) | anchored − before | median abs gap: full, baseline |\n"
        "|---|---|---|---|---|---|---|---|---|"
    )
    lines = []
    for name, b, k, bef, raw, anch, dmed, dmin, gf, gb in rows:
        vs = "—" if bef is None else f"{anch - bef:+.3f}"
        lines.append(
            f"| {name} | {b} | {k} | {'—' if bef is None else f'{bef:.3f}'} | {raw:.4f} | "
            f"{anch:.4f} | {dmed:+.4f} ({dmin:+.4f}) | {vs} | {gf:.3f}, {gb:.3f} |"
        )
    table = head + "\n" + "\n".join(lines)
    print(table)
    worst = min((r[7] for r in rows), default=0.0)
    text = (
        "# The anchors' cost in held-out R²\n\nGenerated by `benchmarks/anchors.py` "
        "(its docstring has the protocol). Medians over seeds of held-out R² of the default "
        "method; the same held-out masks as `faithfulness_results.md`.\n\n"
        f"{table}\n\nWorst per-seed change from the anchors: {worst:+.4f}.\n"
    )
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
