"""Execute every tutorial notebook; a cell that raises fails the test."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("*.ipynb"))


def test_tutorials_exist():
    assert NOTEBOOKS, f"no notebooks in {TUTORIALS}"


def test_notebooks_have_no_outputs():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch):
    if "llm" in path.stem:
        models = pytest.importorskip("captum_spex.apps.models")
        pytest.importorskip("transformers")
        if not models._cache_is_complete(models.smollm2_cache_path()):
            try:
                models.load_smollm2()
            except ImportError as exc:  # no converted cache and no GGUF package to build it
                pytest.skip(f"SmolLM2 is not available offline: {exc}")
    monkeypatch.setenv("TQDM_DISABLE", "1")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(TUTORIALS)}},
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError when a cell raises
    print(f"{path.name}: {time.perf_counter() - start:.1f} s")
