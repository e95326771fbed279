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
