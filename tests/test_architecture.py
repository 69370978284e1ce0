"""The shape of the package: no import cycle, layers import only inward, no oversized module or function.

Every import counts, including those inside functions (a deferred import
hides a cycle, it does not remove it); only ``if TYPE_CHECKING:`` blocks are
left out, since they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import clearing

ROOT = Path(clearing.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = ("clearing", *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in ROOT.rglob("*.py") if "migrations" not in p.parts}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(name: str) -> str | None:
    """The most specific module of ours that ``name`` denotes (a module, or a name inside one)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str, path: Path) -> set[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            found.update(f"{base}.{a.name}" for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return {r for r in map(_resolve, found) if r is not None and r != module}


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return out


def test_the_graph_is_read():
    assert "clearing.services.context" in GRAPH["clearing.services.submission.service"]
    assert "clearing.domain.vocabulary" in GRAPH["clearing.adapters.db.models"]


def test_no_import_cycle():
    assert _cycles(GRAPH) == []


def test_a_cycle_would_be_found():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# Who may import whom: data flows HTTP/CLI -> services -> domain, services -> adapters.
INWARD = {
    "clearing.domain": ("clearing.domain", "clearing.errors"),
    "clearing.adapters": ("clearing.adapters", "clearing.domain", "clearing.errors", "clearing.settings"),
    "clearing.services": (
        "clearing.services",
        "clearing.adapters",
        "clearing.domain",
        "clearing.errors",
        "clearing.settings",
    ),
}


def test_layers_import_only_inward():
    bad = []
    for module, targets in GRAPH.items():
        for layer, allowed in INWARD.items():
            if module == layer or module.startswith(layer + "."):
                bad += [(module, t) for t in targets if not t.startswith(allowed)]
    assert bad == []


# Size: a module over 600 lines or a function over 120 is a package waiting to be born (migrations aside).
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 120


def test_no_module_or_function_too_long():
    long_modules, long_functions = [], []
    for module, path in MODULES.items():
        text = path.read_text()
        if text.count("\n") > MAX_MODULE_LINES:
            long_modules.append((module, text.count("\n")))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions.append((module, node.name, length))
    assert (long_modules, long_functions) == ([], [])


def test_no_private_name_crosses_a_module():
    """``from x import _y`` reaches into another module's internals (tests included)."""
    tests = Path(__file__).resolve().parent
    crossing = []
    for path in [*MODULES.values(), *tests.rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(("clearing", "tests")):
                crossing += [(str(path), a.name) for a in node.names if a.name.startswith("_")]
    assert crossing == []
