"""Count the trainer attributes that one file of ``trainer_loop`` writes and another reads.

Usage::

    python tools/shared_attrs.py [--root DIR] [--any-self] [--all] [--max N]

Every ``.py`` file under ``--root`` (default ``packages/trainer-loop/src/trainer_loop``) is parsed
with :mod:`ast`; nothing is imported. An attribute is *shared across files* when some file writes
it and a different file reads it. The report gives the number of private attributes (a name that
starts with ``_`` and is not a dunder) shared across files with a table of the files writing and
reading each, the same count over every name (public included), and the number of attributes
written from more than one file. ``--max N`` exits 1 when the private count exceeds ``N``.

What is the trainer
-------------------
``trainer.X`` counts in any file (module functions that take the trainer call it ``trainer``).
``self.X`` counts inside the methods of the trainer's classes: ``Trainer``, the classes it derives
from (its mixins) and the classes derived from it (``RaftTrainer``), found by following base-class
names inside the scanned tree; nested functions of those methods included. ``self`` of a callback,
a writer or any other class is another object and does not count unless ``--any-self`` is given
(the plain text scan that counts ``self`` everywhere).

Writes
    ``X`` as an assignment target (``=``, ``+=``, annotated, inside tuple or list targets, ``for``
    and ``with ... as`` targets), ``del``, ``setattr(obj, "X", ...)`` and ``delattr(obj, "X")``
    with a literal name, ``obj.__dict__["X"] = ...``, ``obj.__dict__.pop("X")`` and
    ``obj.__dict__.setdefault("X", ...)``.
Reads
    ``obj.X`` loads, the target of ``+=`` (it reads before it writes), ``getattr(obj, "X", ...)``,
    ``hasattr(obj, "X")``, ``obj.__dict__.get("X")``, ``obj.__dict__["X"]``,
    ``obj.__dict__.setdefault("X", ...)`` and ``"X" in obj.__dict__``.

Dunders are left out of every count; names computed at run time (``getattr(self, name)``) are not
seen.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ROOT = REPO_ROOT / "packages" / "trainer-loop" / "src" / "trainer_loop"
TRAINER_NAME = "trainer"
SELF_NAME = "self"

__all__ = [
    "Access",
    "AttributeUse",
    "collect_accesses",
    "format_report",
    "is_private",
    "main",
    "source_files",
    "summarise",
    "trainer_classes",
]


@dataclass(frozen=True)
class Access:
    """One write or read of the trainer attribute ``name`` in ``file`` at ``lineno``."""

    name: str
    file: str
    lineno: int
    write: bool


@dataclass
class AttributeUse:
    """Which files write and which read one attribute."""

    name: str
    writers: set[str] = field(default_factory=set)
    readers: set[str] = field(default_factory=set)

    @property
    def crosses_files(self) -> bool:
        """Some file writes it and another file reads it."""
        return bool(self.writers and self.readers) and len(self.writers | self.readers) > 1

    @property
    def written_from_several_files(self) -> bool:
        """More than one file writes it."""
        return len(self.writers) > 1


def is_dunder(name: str) -> bool:
    """``__x__`` names."""
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def is_private(name: str) -> bool:
    """A name starting with ``_`` that is not a dunder."""
    return name.startswith("_") and not is_dunder(name)


def source_files(root: Path) -> list[tuple[str, ast.Module]]:
    """``(path relative to root, parsed module)`` for each ``.py`` file under ``root``, sorted."""
    parsed = []
    for path in sorted(Path(root).rglob("*.py")):
        relative = path.relative_to(root)
        if any(part == "__pycache__" or part.startswith(".") for part in relative.parts):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        parsed.append((relative.as_posix(), tree))
    return parsed


def _base_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):  # Generic[T]
        return _base_name(node.value)
    return None


def trainer_classes(trees: Iterable[ast.Module], root_class: str = "Trainer") -> set[str]:
    """``root_class``, every class it derives from and every class derived from it, by name.

    Only classes defined in ``trees`` are followed; base classes from other packages end the walk.
    """
    bases: dict[str, set[str]] = defaultdict(set)
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases[node.name].update(
                    name for name in map(_base_name, node.bases) if name is not None
                )
    if root_class not in bases:
        return set()
    ancestors: set[str] = set()
    pending = [root_class]
    while pending:
        name = pending.pop()
        for base in bases.get(name, ()):
            if base in bases and base not in ancestors:
                ancestors.add(base)
                pending.append(base)
    descendants = {root_class}
    changed = True
    while changed:
        changed = False
        for name, parents in bases.items():
            if name not in descendants and parents & descendants:
                descendants.add(name)
                changed = True
    return ancestors | descendants


def _literal(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


class _Scanner(ast.NodeVisitor):
    """Collects the accesses of one file; ``receivers`` says which names are the trainer."""

    def __init__(self, file: str, classes: set[str], any_self: bool) -> None:
        self.file = file
        self.classes = classes
        self.any_self = any_self
        self.accesses: list[Access] = []
        self._class_stack: list[str | None] = []  # innermost class of the current function
        self._self_is_trainer: list[bool] = [False]

    # ---------------------------------------------------------------- scopes

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for child in (*node.bases, *node.keywords, *node.decorator_list):
            self.visit(child)
        self._class_stack.append(node.name)
        self._self_is_trainer.append(False)  # the class body itself has no ``self``
        for statement in node.body:
            self.visit(statement)
        self._self_is_trainer.pop()
        self._class_stack.pop()

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        directly_in_class = bool(self._class_stack) and self._class_stack[-1] is not None
        if directly_in_class:
            is_trainer = self.any_self or self._class_stack[-1] in self.classes
        else:
            is_trainer = self._self_is_trainer[-1]  # a closure sees its method's ``self``
        self._class_stack.append(None)
        self._self_is_trainer.append(is_trainer)
        self.generic_visit(node)
        self._self_is_trainer.pop()
        self._class_stack.pop()

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function
    visit_Lambda = _visit_function

    # ---------------------------------------------------------------- helpers

    def _is_trainer(self, node: ast.expr) -> bool:
        if not isinstance(node, ast.Name):
            return False
        if node.id == TRAINER_NAME:
            return True
        return node.id == SELF_NAME and self._self_is_trainer[-1]

    def _trainer_dict(self, node: ast.expr) -> bool:
        """``self.__dict__`` / ``trainer.__dict__``."""
        return (
            isinstance(node, ast.Attribute)
            and node.attr == "__dict__"
            and self._is_trainer(node.value)
        )

    def _add(self, name: str | None, node: ast.AST, write: bool) -> None:
        if name is not None and not is_dunder(name):
            self.accesses.append(Access(name, self.file, node.lineno, write))

    # ---------------------------------------------------------------- accesses

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if self._is_trainer(node.value):
            self._add(node.attr, node, write=not isinstance(node.ctx, ast.Load))
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        target = node.target
        if isinstance(target, ast.Attribute) and self._is_trainer(target.value):
            self._add(target.attr, target, write=False)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if self._trainer_dict(node.value):
            self._add(_literal(node.slice), node, write=not isinstance(node.ctx, ast.Load))
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        if (
            len(node.ops) == 1
            and isinstance(node.ops[0], (ast.In, ast.NotIn))
            and self._trainer_dict(node.comparators[0])
        ):
            self._add(_literal(node.left), node, write=False)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func, args = node.func, node.args
        if isinstance(func, ast.Name) and args and self._is_trainer(args[0]) and len(args) >= 2:
            name = _literal(args[1])
            if func.id in ("getattr", "hasattr"):
                self._add(name, node, write=False)
            elif func.id in ("setattr", "delattr"):
                self._add(name, node, write=True)
        elif isinstance(func, ast.Attribute) and self._trainer_dict(func.value) and args:
            name = _literal(args[0])
            if func.attr == "get":
                self._add(name, node, write=False)
            elif func.attr == "pop":
                self._add(name, node, write=True)
            elif func.attr == "setdefault":
                self._add(name, node, write=True)
                self._add(name, node, write=False)
        self.generic_visit(node)


def collect_accesses(
    file: str, tree: ast.Module, classes: set[str], any_self: bool = False
) -> list[Access]:
    """The trainer attribute accesses of one parsed file (see the module docstring)."""
    scanner = _Scanner(file, classes, any_self)
    scanner.visit(tree)
    return scanner.accesses


def summarise(accesses: Iterable[Access]) -> dict[str, AttributeUse]:
    """Group ``accesses`` by attribute name."""
    uses: dict[str, AttributeUse] = {}
    for access in accesses:
        use = uses.setdefault(access.name, AttributeUse(access.name))
        (use.writers if access.write else use.readers).add(access.file)
    return uses


def scan(root: Path, any_self: bool = False) -> dict[str, AttributeUse]:
    """Scan every file under ``root``: attribute name -> files writing and reading it."""
    files = source_files(root)
    classes = trainer_classes(tree for _, tree in files)
    accesses: Iterator[Access] = (
        access
        for file, tree in files
        for access in collect_accesses(file, tree, classes, any_self=any_self)
    )
    return summarise(accesses)


def _table(uses: Sequence[AttributeUse]) -> list[str]:
    rows = [("attribute", "written in", "read in")]
    rows += [(u.name, ", ".join(sorted(u.writers)), ", ".join(sorted(u.readers))) for u in uses]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]}".rstrip() for r in rows]
    lines.insert(1, f"{'-' * widths[0]}  {'-' * widths[1]}  {'-' * 7}")
    return lines


def format_report(uses: dict[str, AttributeUse], show_all: bool = False) -> str:
    """The report printed by the command line."""
    ordered = [uses[name] for name in sorted(uses)]
    crossing = [use for use in ordered if use.crosses_files]
    private = [use for use in crossing if is_private(use.name)]
    several = [use for use in ordered if use.written_from_several_files]
    lines = [f"private trainer attributes written in one file and read in another: {len(private)}"]
    lines += _table(private)
    lines.append("")
    lines.append(f"attributes (any name) written in one file and read in another: {len(crossing)}")
    if show_all:
        lines += _table(crossing)
        lines.append("")
    lines.append(f"attributes (any name) written from more than one file: {len(several)}")
    if show_all:
        lines += _table(several)
    return "\n".join(lines)


def private_crossing_count(uses: dict[str, AttributeUse]) -> int:
    """How many private attributes some file writes and another reads."""
    return sum(1 for use in uses.values() if use.crosses_files and is_private(use.name))


def main(argv: Sequence[str] | None = None) -> int:
    """Print the report; 1 when ``--max`` is given and the private count exceeds it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="folder to scan")
    parser.add_argument(
        "--any-self",
        action="store_true",
        help="count self.X in every class, not only in the trainer's classes",
    )
    parser.add_argument(
        "--all", action="store_true", help="also list the attributes of the other two counts"
    )
    parser.add_argument(
        "--max",
        type=int,
        default=None,
        metavar="N",
        help="exit 1 when more than N private attributes cross files",
    )
    options = parser.parse_args(argv)
    if not options.root.is_dir():
        print(f"shared_attrs: {options.root} is not a folder", file=sys.stderr)
        return 2
    uses = scan(options.root, any_self=options.any_self)
    print(format_report(uses, show_all=options.all))
    count = private_crossing_count(uses)
    if options.max is not None and count > options.max:
        print(
            f"shared_attrs: {count} private trainer attributes cross files; at most "
            f"{options.max} allowed"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
