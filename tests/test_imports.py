"""Every module of publisher imports, and no two modules import each other, directly or round a longer loop.

A cycle makes the import order matter (a name used before its module has run to the end) and couples two jobs
that should stand apart. The graph is read from each module's source (its AST): every import statement at any
level, in a function too (an import deferred into a function is still a dependency; hiding it there does not
take the cycle apart), `if TYPE_CHECKING:` left out (annotations only, never run).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import publisher

PACKAGE = Path(publisher.__file__).parent


def modules() -> dict[str, Path]:
    """Module name -> source file, for publisher and everything under it."""
    found = {}
    for file in sorted(PACKAGE.rglob("*.py")):
        parts = list(file.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = file
    return found


def _type_checking(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(name: str, file: Path, known: set[str]) -> set[str]:
    """The modules of `known` that module `name` imports anywhere in its source."""
    package = name.split(".") if file.name == "__init__.py" else name.split(".")[:-1]
    out: set[str] = set()
    stack: list[ast.AST] = [ast.parse(file.read_text(encoding="utf-8"))]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for a in node.names:  # `from . import tree` imports a module; `from .tree import walk`, a name of one
                out.add(f"{target}.{a.name}" if f"{target}.{a.name}" in known else target)
        elif _type_checking(node):
            stack.extend(node.orelse)
        else:
            stack.extend(ast.iter_child_nodes(node))
    return {m for m in out if m in known and m != name}


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, file, set(found)) for name, file in found.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each back edge of a depth-first walk (none: the graph has no cycle)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in state:
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                found.append([*path[path.index(nxt):], nxt])
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph[nxt])))
    return found


def test_every_module_imports():
    names = {m.name for m in pkgutil.walk_packages(publisher.__path__, "publisher.")}
    assert names | {"publisher"} == set(modules())
    for name in sorted(names - {"publisher.__main__"}):  # that one runs the command line
        importlib.import_module(name)


def test_no_import_cycle():
    edges = graph()
    assert edges["publisher.cli"] >= {"publisher.watch"}  # the graph is read at all, functions' imports too
    found = [" -> ".join(c) for c in cycles(edges)]
    assert not found, "import cycles:\n" + "\n".join(found)


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_no_module_over_500_lines():
    """A module does one job (README's module map); one that grows past 500 lines is doing two."""
    long = {name: n for name, file in modules().items() if (n := len(file.read_text(encoding="utf-8").splitlines())) > 500}
    assert not long, long
