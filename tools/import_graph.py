"""Static import graph of the repository's own packages, read from the source with `ast` (nothing is imported).

An edge A → B means module A imports first-party module B. Two kinds:
- module-level: runs when A is imported (top level, `if`/`try` blocks, class bodies). A cycle of these
  is an import cycle; `if TYPE_CHECKING:` blocks never run and are left out;
- lazy: inside a function body, runs only when the function is called. A lazy import whose target already
  reaches A through module-level edges hides a cycle: written at the top it would close one.

`from P import name` points at the submodule `P.name` when there is one, else at `P`; `import P.Q.R` at
the longest first-party prefix. Importing `P.Q` also runs the package `P/__init__.py`; that implicit step
is not an edge (a package's `__init__` importing its own submodules is the ordinary layout).

    python -m tools.import_graph [PACKAGE ...]   # default: every package at the repository root
prints the cycles, the lazy imports that hide one, and every other lazy first-party import; exit
status 1 when there is a cycle or a hidden one.
"""
from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_PACKAGES = frozenset({"tests"})


@dataclass(frozen=True)
class Import:
    """One import statement's first-party target: `source` imports `target` at `line` (lazy: in a function)."""

    source: str
    target: str
    line: int
    lazy: bool

    def __str__(self) -> str:
        return f"{self.source}:{self.line} → {self.target}"


@dataclass
class ImportGraph:
    """Modules (dotted name → file) and their first-party imports."""

    modules: dict[str, Path]
    imports: list[Import] = field(default_factory=list)

    def edges(self, *, lazy: bool = False) -> dict[str, set[str]]:
        """Adjacency {module: {imported modules}} of the module-level imports (plus the lazy ones if `lazy`)."""
        graph: dict[str, set[str]] = {name: set() for name in self.modules}
        for item in self.imports:
            if lazy or not item.lazy:
                graph[item.source].add(item.target)
        return graph

    def cycles(self) -> list[list[str]]:
        """One cycle per strongly connected component of the module-level graph, as [m0, m1, ..., m0]."""
        graph = self.edges()
        return [_cycle_in(component, graph) for component in _strong_components(graph)
                if len(component) > 1 or component[0] in graph[component[0]]]

    def hidden_cycles(self) -> list[Import]:
        """Lazy imports A → B where B reaches A through module-level imports (a cycle dodged by laziness)."""
        graph = self.edges()
        return [item for item in self.imports if item.lazy and item.source in _reachable(graph, item.target)]

    def lazy_imports(self) -> list[Import]:
        """Every function-level import of a first-party module."""
        return [item for item in self.imports if item.lazy]


def packages(root: Path = ROOT) -> list[str]:
    """Top-level packages of the repository (directories with an `__init__.py`), tests excluded."""
    return sorted(p.parent.name for p in root.glob("*/__init__.py") if p.parent.name not in NOT_PACKAGES)


def module_files(root: Path, package: str) -> dict[str, Path]:
    """{dotted module name: file} of every `.py` file under `root/package` (packages by their `__init__`)."""
    found: dict[str, Path] = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if all(part.isidentifier() for part in parts):
            found[".".join(parts)] = path
    return found


def build(root: Path = ROOT, names: Iterable[str] | None = None) -> ImportGraph:
    """The import graph of the packages `names` (default: `packages(root)`) under `root`."""
    modules: dict[str, Path] = {}
    for package in (packages(root) if names is None else names):
        modules.update(module_files(root, package))
    graph = ImportGraph(modules)
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph.imports.extend(_imports_of(name, path.name == "__init__.py", tree, set(modules)))
    return graph


def _imports_of(module: str, is_package: bool, tree: ast.Module, known: set[str]) -> Iterator[Import]:
    for node, lazy in _import_nodes(tree.body, lazy=False):
        if isinstance(node, ast.Import):
            targets = [_longest_known(alias.name, known) for alias in node.names]
        else:
            base = _absolute(module, is_package, node.module, node.level)
            targets = [_from_target(base, alias.name, known) for alias in node.names]
        for target in dict.fromkeys(t for t in targets if t is not None and t != module):
            yield Import(module, target, node.lineno, lazy)


def _import_nodes(body: list[ast.stmt], *, lazy: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, lazy
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _import_nodes(node.orelse, lazy=lazy)
        else:
            inner = lazy or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    yield from _import_nodes([child], lazy=inner)
                elif isinstance(child, ast.excepthandler) or _is_match_case(child):
                    yield from _import_nodes(child.body, lazy=inner)


def _is_match_case(node: ast.AST) -> bool:
    return type(node).__name__ == "match_case"


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _absolute(module: str, is_package: bool, name: str | None, level: int) -> str:
    if level == 0:
        return name or ""
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[:len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def _longest_known(name: str, known: set[str]) -> str | None:
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return None


def _from_target(base: str, name: str, known: set[str]) -> str | None:
    submodule = f"{base}.{name}"
    return submodule if submodule in known else _longest_known(base, known)


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _strong_components(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (no recursion limit on deep graphs); components in sorted order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
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
                components.append(sorted(component))
    return sorted(components)


def _cycle_in(component: list[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest cycle through the component's first module (breadth-first search inside the component)."""
    members = set(component)
    start = component[0]
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node] & members):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return [start, *reversed(path[:-1]), start] if node != start else [start, start]
                if nxt not in parent:
                    parent[nxt] = node
                    following.append(nxt)
        frontier = following
    return [start]


def main(argv: list[str] | None = None) -> int:
    """Print the report for the packages named in `argv` (default all); 1 when a cycle exists."""
    graph = build(ROOT, (argv or None) and argv)
    cycles, hidden = graph.cycles(), graph.hidden_cycles()
    print(f"{len(graph.modules)} modules, {sum(not i.lazy for i in graph.imports)} module-level and "
          f"{len(graph.lazy_imports())} lazy first-party imports")
    for cycle in cycles:
        print("cycle:        " + " → ".join(cycle))
    for item in hidden:
        print(f"hides cycle:  {item}")
    for item in graph.lazy_imports():
        if item not in hidden:
            print(f"lazy:         {item}")
    return 1 if cycles or hidden else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
