"""The layout stays livable: data flows one way, front end -> runner -> method -> engine ->
Interactions -> views, checked from the import graph of the package's source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "captum_spex"

# lower layers never import higher ones
LAYERS = {
    "core": 0,  # _validation, store, indices, interactions and their helpers
    "engine": 1,
    "distributed": 2,
    "attr": 2,
    "viz": 3,
    "apps": 4,  # applications, the testing module, the package's front door
}
_TOP = {"apps", "testing", "__init__", "__main__", "models", "prompts", "demo", "cli"}
# heavy or framework imports a layer must never make, at any depth
FORBIDDEN = {
    "engine": ("torch", "captum", "transformers", "matplotlib", "captum_spex.attr"),
    "attr": ("numba", "captum_spex.engine._kernels"),
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(module: str) -> str:
    parts = module.split(".")
    first = parts[1] if len(parts) > 1 else "__init__"
    if first in _TOP:
        return "apps"
    if first in LAYERS:
        return first
    return "core"


def _imports(path: Path, top_level_only: bool) -> set[str]:
    """Absolute names of the modules ``path`` imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            out.add(prefix)
            # "from . import x" imports the submodule x
            out.update(f"{prefix}.{alias.name}" for alias in node.names)
    return out


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _internal(names: set[str]) -> set[str]:
    known = {_module_name(p) for p in _sources()}
    return {n for n in names if n in known}


def test_the_package_is_found():
    assert len(_sources()) > 20


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_layer(path):
    module = _module_name(path)
    mine = LAYERS[_layer(module)]
    for name in _internal(_imports(path, top_level_only=False)):
        theirs = LAYERS[_layer(name)]
        assert theirs <= mine, f"{module} ({_layer(module)}) imports {name} ({_layer(name)})"


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_forbidden_imports(path):
    module = _module_name(path)
    banned = FORBIDDEN.get(_layer(module), ())
    for name in _imports(path, top_level_only=False):
        assert not any(name == b or name.startswith(b + ".") for b in banned), (
            f"{module} imports {name}"
        )


def test_captum_privates_only_through_compat():
    for path in _sources():
        if path.name == "_compat.py":
            continue
        for name in _imports(path, top_level_only=False):
            private = any(part.startswith("_") for part in name.split(".")[1:])
            assert not (name.startswith("captum.") and private), f"{path.name} imports {name}"


def test_no_import_cycles():
    graph = {_module_name(p): _internal(_imports(p, top_level_only=True)) for p in _sources()}
    for parent in list(graph):  # importing a.b.c runs a and a.b first
        for name in list(graph[parent]):
            parts = name.split(".")
            graph[parent].update(".".join(parts[:i]) for i in range(2, len(parts)))
    for module in graph:
        graph[module].discard(module)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            # a package importing its own submodules is how packages are built, not a cycle
            if nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


def test_the_numpy_twins_are_test_only():
    for path in _sources():
        assert "kernels_ref" not in path.read_text(encoding="utf-8").replace(
            "tests/engine/kernels_ref.py", ""
        ), path


# Functions fit a screen. Files have no size cap: a module is one concept, whatever its
# length (a cap split the result class over six files by size; issue "One concept, one room").
MAX_FUNCTION_CODE_LINES = 80


def _code_lines(lines: list[str], node: ast.AST) -> int:
    """Lines of code in a function body: no docstring, comments or blank lines."""
    body = node.body
    first = body[0]
    if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant):
        if len(body) == 1:
            return 0
        first = body[1]
    text = lines[first.lineno - 1 : node.end_lineno]
    return sum(1 for line in text if line.strip() and not line.strip().startswith("#"))


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_functions_stay_small(path):
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            n = _code_lines(lines, node)
            assert n <= MAX_FUNCTION_CODE_LINES, f"{path.name}:{node.name} has {n} lines of code"
