"""Find import cycles between the modules of each package under ``packages/*/src/*``.

Usage::

    python tools/check_cycles.py [PACKAGE_DIR ...]

Without arguments every top-level package under ``packages/*/src/`` is checked. Each strongly
connected component of the import graph with more than one module is printed with the imports
that close it (file and line); the exit status is 1 when there is at least one, else 0.

What counts as an import
------------------------
Every ``.py`` file is parsed with :mod:`ast` (nothing is imported or executed). Every ``import``
and ``from ... import`` statement anywhere in the file counts: at module level, inside functions
and methods (lazy imports), and under ``if TYPE_CHECKING:``. Only imports of modules of the same
top-level package are edges; imports of other packages, the standard library or third parties
are ignored. Relative imports are resolved against the importing module's package.

Where an edge points
--------------------
- ``import pkg.a.b`` points at the deepest module of the dotted name that exists (``pkg.a.b``).
- ``from pkg.a import x`` (or ``from .a import x``) points at the submodule ``pkg.a.x`` when that
  module exists, and otherwise at ``pkg.a``, the module that defines or re-exports the name ``x``.
  ``from . import x`` follows the same rule, so a sibling submodule imported through its package
  is an edge to that sibling, and a *name* taken from a package's ``__init__`` is an edge to the
  ``__init__``.
- The parent packages that Python also runs on the way (``pkg/__init__.py`` before ``pkg.a``) are
  not edges. Were they, every package whose ``__init__`` re-exports its submodules would be one
  big cycle with each of them, which is normal and harmless. A cycle through an ``__init__`` is
  still reported when a module takes a *name* from that ``__init__`` (``from pkg import Name`` or
  ``from . import Name``) while the ``__init__`` imports that module: that one does break when the
  module is imported first.
- Edges from a package's ``__init__`` to its own submodules are kept, including lazy ones inside
  a module-level ``__getattr__``.
- Dynamic imports (``importlib.import_module("...")``, ``__import__``) are not seen.

The module can be reused: :func:`discover_packages`, :func:`package_modules`,
:func:`import_edges` and :func:`strongly_connected_components` are independent of the command
line.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

__all__ = [
    "Cycle",
    "ImportEdge",
    "Module",
    "discover_packages",
    "find_cycles",
    "format_cycle",
    "import_edges",
    "main",
    "package_modules",
    "strongly_connected_components",
]


@dataclass(frozen=True)
class Module:
    """One module of a package: its dotted name, its file and whether it is a package ``__init__``."""

    name: str
    path: Path
    is_package: bool


@dataclass(frozen=True, order=True)
class ImportEdge:
    """``source`` imports ``target`` at ``path``:``lineno`` (both are dotted module names)."""

    source: str
    target: str
    path: Path
    lineno: int


def discover_packages(repo_root: Path = REPO_ROOT) -> list[Path]:
    """The top-level package folders ``packages/*/src/<name>`` (those with an ``__init__.py``)."""
    return sorted(
        init.parent
        for init in (repo_root / "packages").glob("*/src/*/__init__.py")
        if init.is_file()
    )


def package_modules(package_dir: Path) -> dict[str, Module]:
    """Every module of the package at ``package_dir``, keyed by dotted name.

    ``pkg/__init__.py`` is ``pkg``, ``pkg/sub/mod.py`` is ``pkg.sub.mod``. Folders without an
    ``__init__.py`` (namespace packages) are walked too; ``__pycache__`` and hidden folders are not.
    """
    package_dir = Path(package_dir)
    root_name = package_dir.name
    modules: dict[str, Module] = {}
    for path in sorted(package_dir.rglob("*.py")):
        relative = path.relative_to(package_dir)
        if any(part == "__pycache__" or part.startswith(".") for part in relative.parts[:-1]):
            continue
        parts = [root_name, *relative.parts[:-1]]
        is_package = path.name == "__init__.py"
        if not is_package:
            parts.append(path.stem)
        name = ".".join(parts)
        modules[name] = Module(name=name, path=path, is_package=is_package)
    return modules


def _deepest_known(dotted: str, known: Mapping[str, Module]) -> str | None:
    """The longest prefix of ``dotted`` (itself included) that is a known module."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return None


def _resolve_from(module: Module, node: ast.ImportFrom) -> str | None:
    """The absolute dotted name that ``from <...> import`` refers to, or None if it escapes."""
    if node.level == 0:
        return node.module
    base = module.name.split(".")
    if not module.is_package:
        base = base[:-1]
    drop = node.level - 1
    if drop > len(base) - 1:
        return None
    if drop:
        base = base[:-drop]
    return ".".join([*base, node.module]) if node.module else ".".join(base)


def import_edges(module: Module, known: Mapping[str, Module]) -> list[ImportEdge]:
    """The imports of ``module`` that point at modules in ``known`` (see the module docstring).

    Self-imports (``from . import x`` in a package's ``__init__`` naming one of its own names)
    are dropped.
    """
    tree = ast.parse(module.path.read_text(encoding="utf-8"), filename=str(module.path))
    edges: list[ImportEdge] = []

    def add(target: str | None, lineno: int) -> None:
        if target is not None and target != module.name:
            edges.append(ImportEdge(module.name, target, module.path, lineno))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(_deepest_known(alias.name, known), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_from(module, node)
            if base is None:
                continue
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if alias.name != "*" and submodule in known:
                    add(submodule, node.lineno)
                else:
                    add(_deepest_known(base, known), node.lineno)
    return sorted(set(edges), key=lambda edge: (edge.lineno, edge.target))


def strongly_connected_components(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Tarjan's algorithm without recursion: every strongly connected component of ``graph``.

    ``graph`` maps a node to the nodes it points at; nodes that only appear as targets are
    included. Each component is sorted; the list is sorted by its first node.
    """
    successors: dict[str, list[str]] = {}
    for node, targets in graph.items():
        successors.setdefault(node, [])
        for target in targets:
            successors[node].append(target)
            successors.setdefault(target, [])

    index_of: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0

    for start in sorted(successors):
        if start in index_of:
            continue
        # Each frame: (node, iterator over its successors).
        work: list[tuple[str, Iterable[str]]] = []
        index_of[start] = lowlink[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        work.append((start, iter(sorted(successors[start]))))
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index_of:
                    index_of[child] = lowlink[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(successors[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    lowlink[node] = min(lowlink[node], index_of[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                lowlink[parent] = min(lowlink[parent], lowlink[node])
            if lowlink[node] == index_of[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return sorted(components)


@dataclass(frozen=True)
class Cycle:
    """A strongly connected component of more than one module and the imports inside it."""

    modules: tuple[str, ...]
    edges: tuple[ImportEdge, ...]


def find_cycles(package_dir: Path) -> list[Cycle]:
    """The import cycles between modules of the package at ``package_dir``."""
    known = package_modules(package_dir)
    all_edges = [edge for module in known.values() for edge in import_edges(module, known)]
    graph: dict[str, set[str]] = {name: set() for name in known}
    for edge in all_edges:
        graph[edge.source].add(edge.target)
    cycles = []
    for component in strongly_connected_components(graph):
        if len(component) < 2:
            continue
        members = set(component)
        inside = sorted(
            (e for e in all_edges if e.source in members and e.target in members),
            key=lambda e: (e.source, e.lineno, e.target),
        )
        cycles.append(Cycle(modules=tuple(component), edges=tuple(inside)))
    return cycles


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def format_cycle(cycle: Cycle) -> str:
    """A few lines describing ``cycle``: its modules, then each import inside it."""
    lines = [f"cycle of {len(cycle.modules)} modules: {', '.join(cycle.modules)}"]
    for edge in cycle.edges:
        lines.append(
            f"    {edge.source} -> {edge.target}  ({_display_path(edge.path)}:{edge.lineno})"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Check the packages named in ``argv`` (default: all of them); print cycles; 1 if any."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "packages",
        nargs="*",
        type=Path,
        help="package folders to check (default: every packages/*/src/<name>)",
    )
    options = parser.parse_args(argv)
    package_dirs = options.packages or discover_packages()
    if not package_dirs:
        print("check_cycles: no packages found", file=sys.stderr)
        return 2
    found = 0
    for package_dir in package_dirs:
        if not (package_dir / "__init__.py").is_file():
            print(f"check_cycles: {package_dir} is not a package folder", file=sys.stderr)
            return 2
        for cycle in find_cycles(package_dir):
            found += 1
            print(f"{package_dir.name}: {format_cycle(cycle)}")
    if found:
        print(f"check_cycles: {found} import cycle(s) in {len(package_dirs)} package(s)")
        return 1
    print(f"check_cycles: no import cycles in {len(package_dirs)} package(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
