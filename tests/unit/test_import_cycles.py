"""No import cycle among lip's modules: every import counts, at the top, inside a function or under TYPE_CHECKING.

An import inside a function or under TYPE_CHECKING still ties two modules together (one cannot be understood,
moved or tested without the other); it only hides the loop from Python. The layout the walk enforces is in
docs/layout.md.
(Importing ``lip.a.b`` also runs ``lip/a/__init__.py``; the walk counts only the modules an import names.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import lip

SRC = Path(lip.__file__).parent


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, name: str, known: set[str]) -> set[str]:
    """The lip modules ``path`` imports anywhere in it (``from lip.x import y`` names ``lip.x.y`` when a module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            for alias in node.names:
                found.add(f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source)
    return {module for module in found if module in known and module != name}


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(path): path for path in SRC.rglob("*.py")}
    known = set(paths)
    return {name: imports(path, name, known) for name, path in paths.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path that starts and ends at the same module, or None (depth-first, colouring)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)) is not None:
            return cycle
    return None


def test_lip_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_walk_sees_imports_inside_functions_and_under_type_checking() -> None:
    graph = import_graph()
    assert "lip.store.redis_store" in graph["lip.store"]  # inside open_store: redis-py is optional
    assert "lip.exchange" in graph["lip.runtime"]  # under TYPE_CHECKING
    assert "lip.observability" in graph["lip.cli"]  # inside a click command


def test_a_cycle_is_named() -> None:
    graph = {"lip.a": {"lip.b"}, "lip.b": {"lip.c"}, "lip.c": {"lip.a"}, "lip.d": set()}
    assert find_cycle(graph) == ["lip.a", "lip.b", "lip.c", "lip.a"]
    assert find_cycle({"lip.a": {"lip.b"}, "lip.b": set()}) is None
