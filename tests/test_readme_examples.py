"""The README's examples run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _block_after(marker: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(marker)
    match = re.search(r"```python\n(.*?)```", text[start:], flags=re.S)
    assert match, f"no python block after {marker!r}"
    return match.group(1)


def test_cluster_example_runs_and_its_rerun_is_served_from_the_cache(tmp_path):
    pytest.importorskip("distributed")
    script = tmp_path / "cluster_example.py"
    script.write_text(_block_after("tests/test_readme_examples.py runs this block"))
    runs = [
        subprocess.run(
            [sys.executable, str(script)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        for _ in range(2)
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr
        # a clean shutdown: no nanny kill warning, no traceback
        assert "Traceback" not in run.stderr and "still alive" not in run.stderr, run.stderr
    first, second = (run.stdout.strip().splitlines() for run in runs)
    assert first[0] == second[0]  # the same top terms
    n = int(re.search(r"of (\d+) queries", first[-1]).group(1))
    assert first[-1] == f"0 of {n} queries from the cache"
    assert second[-1] == f"{n} of {n} queries from the cache"


# ------------------------------------------------------------------ issue 15, item 4
_ROW = re.compile(r"^\s*(\d+)\s+([+-]\d+\.\d+)\s+(.+?)\s*$")
_SUMMARY = re.compile(
    r"^(\d+) model queries in [\d.]+ s; (\d+) (\w+) terms; estimated R² ([\d.]+)$"
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
