"""The layers stay visible: facade -> engine -> backend, no SQL above the backends, no cycles.

These read the package's source (``ast``), so a change that crosses a layer fails here with
the module and line to fix.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import mnemoweave

PACKAGE = Path(mnemoweave.__file__).parent
FACADES = {"mnemoweave.memory", "mnemoweave.async_memory"}
ENGINE = {
    "mnemoweave._engine",
    "mnemoweave._adding",
    "mnemoweave._searching",
    "mnemoweave._changing",
    "mnemoweave._pipeline",
    "mnemoweave._window",
}
SQL = re.compile(
    r"\b(SELECT\s+\S+.*\bFROM|INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\w+\s+SET|CREATE\s+TABLE)\b",
    re.DOTALL,
)


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _runtime_imports(name: str, path: Path) -> list[tuple[str, int]]:
    """mnemoweave modules ``name`` imports at import time (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                continue  # a deferred import inside a function runs later, by design
            if isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                if base.startswith("mnemoweave"):
                    found.append((base, child.lineno))
                    for alias in child.names:
                        found.append((f"{base}.{alias.name}", child.lineno))
            elif isinstance(child, ast.Import):
                found.extend(
                    (a.name, child.lineno) for a in child.names if a.name.startswith("mnemoweave")
                )
            visit(child)

    visit(tree)
    return found


def test_no_sql_outside_the_backends() -> None:
    """SQL belongs to a backend package; move a query into ``backends/<name>/`` if this fails."""
    offenders = []
    for name, path in _modules().items():
        if name.startswith("mnemoweave.backends."):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
            if is_text and SQL.search(node.value):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []


def test_arrows_point_down() -> None:
    """Backends never import the engine or a facade; the engine never imports a facade."""
    modules = _modules()
    wrong = []
    for name, path in modules.items():
        targets = {t for t, _ in _runtime_imports(name, path)} | {
            t for t, _ in _all_imports(path, name)
        }
        if name.startswith("mnemoweave.backends"):
            bad = targets & (ENGINE | FACADES)
        elif name in ENGINE:
            bad = targets & FACADES
        else:
            continue
        wrong.extend(f"{name} imports {t}" for t in sorted(bad))
    assert wrong == []


def _all_imports(path: Path, name: str) -> list[tuple[str, int]]:
    """Every mnemoweave import of a module, TYPE_CHECKING and function-level ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            out.append((base, node.lineno))
            out.extend((f"{base}.{a.name}", node.lineno) for a in node.names)
    return out


def test_no_import_cycles() -> None:
    """Import-time imports between mnemoweave modules form no cycle (a DAG keeps layers honest)."""
    modules = _modules()
    graph = {
        name: {t for t, _ in _runtime_imports(name, path) if t in modules and t != name}
        for name, path in modules.items()
    }
    # A package importing its own submodules (re-exports) is not a cycle of concepts.
    for name in graph:
        graph[name] = {t for t in graph[name] if not t.startswith(name + ".")}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def walk(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                walk(nxt, [*trail, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])
    assert cycles == []


def test_the_facades_stay_thin() -> None:
    """``memory.py`` holds validation and result shaping only; put work in an engine module."""
    for facade in ("memory.py", "async_memory.py"):
        lines = (PACKAGE / facade).read_text(encoding="utf-8").count("\n")
        assert lines <= 450, f"{facade} has {lines} lines"


def test_no_module_grows_past_its_room() -> None:
    """No module over ~500 lines (a few long-standing ones are allowed a little more)."""
    allowed = {"testing/_server.py": 680, "backends/sqlite/_store.py": 620}
    long = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        lines = path.read_text(encoding="utf-8").count("\n")
        if lines > allowed.get(rel, 520):
            long.append(f"{rel}: {lines}")
    assert long == []
