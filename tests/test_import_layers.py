"""The packages' import structure: no import circle inside nn, and autograd never imports nn."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.nn

ROOT = Path(__file__).resolve().parent.parent


def imports_between_modules(package: str) -> dict[str, set[str]]:
    """module -> the modules of `package` (or of the other packages here) it imports, read with ast.

    Every import counts, at the top of a file or inside a function, except those under
    `if TYPE_CHECKING:` (they never run)."""
    modules = {}
    for path in (ROOT / package).rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                       and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
        found = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
        edges[name] = {_owner(f, modules) for f in found} - {None, name}
    return edges


def _owner(imported: str, modules: dict) -> str | None:
    while imported and imported not in modules:
        imported = imported.rpartition(".")[0]
    return imported or None


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or round about (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, ()):
            if w not in edges:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_module_of_nn_imports_one_that_imports_it_back():
    assert circles(imports_between_modules("nn")) == []


def test_the_circle_finder_finds_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_autograd_imports_nothing_of_nn():
    edges = imports_between_modules("autograd")
    assert {(a, b) for a, targets in edges.items() for b in targets if b == "nn" or b.startswith("nn.")} == set()
    assert not [name for name in _raw_imports("autograd") if name == "nn" or name.startswith("nn.")]


def _raw_imports(package: str) -> set[str]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
    return found


def test_import_autograd_loads_neither_nn_nor_the_command_line():
    import subprocess
    import sys

    code = ("import sys, autograd; print(sorted(m for m in sys.modules "
            "if m == 'nn' or m.startswith(('nn.', 'autograd.cli', 'autograd.learn.cli'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"


def test_no_subpackage_of_nn_imports_one_that_imports_it_back():
    packages: dict[str, set[str]] = {}
    for module, targets in imports_between_modules("nn").items():
        package = ".".join(module.split(".")[:2])
        packages.setdefault(package, set()).update(".".join(t.split(".")[:2]) for t in targets)
    packages.pop("nn", None)  # the package itself re-exports every part
    packages = {p: {t for t in ts if t != p and t in packages} for p, ts in packages.items()}
    assert circles(packages) == []


def test_autograd_functions_has_every_function_of_the_op_table_written_out():
    import autograd.functions
    from autograd.ops import FUNCTIONS

    source = (ROOT / "autograd" / "functions.py").read_text()
    assert "globals()" not in source
    for name, op in FUNCTIONS.items():
        assert getattr(autograd.functions, name).__name__ == str(op)
