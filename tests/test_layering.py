"""One direction of imports: chainrule's modules stand on floors and every import points down.

The import graph is read from the source with ``ast``: every ``import`` and
``from ... import`` statement, at module level and inside functions (a lazy import
is still a dependency), resolved to the chainrule module it loads. The package
root (``chainrule/__init__.py``, the public re-exports) is left out: it imports
everything and nothing imports it.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

import chainrule

PACKAGE = Path(chainrule.__file__).parent
ROOT = "chainrule"

# The floors of docs/core.md ("Architecture"), from the ground up. A module may import
# its own floor and those below; within a floor the cycle tests keep the order one-way.
# Units are top-level modules and subpackages; anything not listed (optim, nn, explain,
# demo, cli, ...) is an application above the core and may use every floor.
FLOORS = [
    {"registry", "tree", "backend", "tracer"},  # the rule record and store, pytrees, array namespace, trace types
    {"rules"},  # the derivative table
    {"reverse", "forward", "batching", "transforms", "jit"},  # the engine
    {"eager"},  # Tensor
    {"numpy", "scipy"},  # the drop-in namespaces, on Tensor
]
APPLICATIONS = len(FLOORS)


def _modules() -> dict[str, tuple[Path, bool]]:
    """Every chainrule module by dotted name: (its file, whether it is a package's __init__)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = [ROOT, *path.relative_to(PACKAGE).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


MODULES = _modules()


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[tuple[str, str | None]]:
    """(chainrule module loaded, name taken from it or None) for one import statement."""
    if isinstance(node, ast.Import):
        return [(alias.name, None) for alias in node.names if alias.name.split(".")[0] == ROOT]
    if node.level:  # relative: from the module's package, one level up per extra dot
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
        if source.split(".")[0] != ROOT:
            return []
    # `from pkg import sub` loads the submodule; `from mod import name` takes a name from mod
    return [(f"{source}.{a.name}", None) if f"{source}.{a.name}" in MODULES else (source, a.name) for a in node.names]


def _imports() -> list[tuple[str, str, str | None, int]]:
    """(importer, imported module, name or None, line) for every import statement in chainrule."""
    found = []
    for module, (path, is_package) in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):  # walk: function-level imports too
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target, name in _targets(module, is_package, node):
                    found.append((module, target, name, node.lineno))
    return found


IMPORTS = _imports()


def _unit(module: str) -> str:
    """The top-level module or subpackage that ``module`` belongs to (``rules`` for ``chainrule.rules.shape``)."""
    return module.split(".")[1]


def _graph(granularity: str) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for importer, target, _, _ in IMPORTS:
        if ROOT in (importer, target):
            continue
        a, b = (importer, target) if granularity == "module" else (_unit(importer), _unit(target))
        if a != b:
            graph[a].add(b)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for start in sorted(set(graph) | {t for targets in graph.values() for t in targets}):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph.get(successor, ())))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
    return components


def _floor(unit: str) -> int:
    return next((level for level, units in enumerate(FLOORS) if unit in units), APPLICATIONS)


def test_the_graph_is_read_from_every_module() -> None:
    # Oracle: edges known from the source, one per kind of import statement the reader must resolve.
    edges = {(importer, target) for importer, target, _, _ in IMPORTS}
    assert ("chainrule.rules.shape", "chainrule.registry") in edges  # from ..registry import defrule
    assert ("chainrule.numpy._elementwise", "chainrule.rules.np_ufuncs") in edges  # from ..rules import np_ufuncs
    assert ("chainrule.transforms", "chainrule.rules") in edges  # function-level: from .rules import ...
    assert ("chainrule.numpy._dispatch", "chainrule.eager") in edges
    assert len(MODULES) > 60


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"f"}, "f": {"e"}}
    assert sorted(_cycles(graph)) == [["a", "b", "c"], ["e", "f"]]
    assert _cycles({"a": {"b"}, "b": {"c"}, "d": {"c"}}) == []


@pytest.mark.parametrize("granularity", ["module", "package"])
def test_no_import_cycles(granularity: str) -> None:
    cycles = _cycles(_graph(granularity))
    assert not cycles, f"import cycles among chainrule's {granularity}s (make one side a registration hook): {cycles}"


def test_every_import_points_down_the_floors() -> None:
    upward = sorted(
        f"{importer} -> {target} (line {line})"
        for importer, target, _, line in IMPORTS
        if ROOT not in (importer, target) and _floor(_unit(target)) > _floor(_unit(importer))
    )
    assert not upward, "imports that point up a floor (see docs/core.md, Architecture):\n" + "\n".join(upward)


def _private_imports(imports: list[tuple[str, str, str | None, int]] = IMPORTS) -> set[tuple[str, str, str]]:
    return {
        (importer, target, name)
        for importer, target, name, _ in imports
        if name is not None and name.startswith("_") and not name.startswith("__") and target != importer
    }


def test_the_private_import_finder_finds_them() -> None:
    # Oracle: statements whose verdict is plain from the rule (one underscore, another module).
    def statement(module: str, source: str) -> list[tuple[str, str, str | None, int]]:
        node = ast.parse(source).body[0]
        assert isinstance(node, (ast.Import, ast.ImportFrom))
        return [(module, target, name, 1) for target, name in _targets(module, False, node)]

    crossing = statement("chainrule.nn.module", "from ..tree import _flatten, tree_flatten")
    assert _private_imports(crossing) == {("chainrule.nn.module", "chainrule.tree", "_flatten")}
    assert _private_imports(statement("chainrule.nn.module", "from chainrule.transforms import _check")) == {
        ("chainrule.nn.module", "chainrule.transforms", "_check")
    }
    assert not _private_imports(statement("chainrule.nn.module", "from .. import __version__, tree"))


def test_no_private_name_crosses_a_module_boundary() -> None:
    crossing = sorted(_private_imports())
    assert not crossing, f"private names imported from another module (make them public there): {crossing}"
