"""tools/check_cycles.py on small fake packages written to tmp_path, and on the repository's packages."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from helpers.launch import load_tool

ROOT = Path(__file__).resolve().parents[2]


check_cycles = load_tool("check_cycles")


def make_package(root: Path, files: dict[str, str], name: str = "pkg") -> Path:
    """Write ``files`` (path inside the package -> source) under ``root/name``; return that folder."""
    package = root / name
    for relative, source in files.items():
        path = package / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
    return package


def cycles_of(package: Path) -> list[tuple[str, ...]]:
    return [cycle.modules for cycle in check_cycles.find_cycles(package)]


def test_top_level_cycle_is_found_with_the_imports_that_close_it(tmp_path):
    package = make_package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from .b import B\n\nA = 1\n",
            "b.py": "import pkg.a\n\nB = 2\n",
            "c.py": "from .a import A\n",
        },
    )
    [cycle] = check_cycles.find_cycles(package)
    assert cycle.modules == ("pkg.a", "pkg.b")
    assert [(e.source, e.target, e.lineno) for e in cycle.edges] == [
        ("pkg.a", "pkg.b", 1),
        ("pkg.b", "pkg.a", 1),
    ]


def test_type_checking_import_counts(tmp_path):
    package = make_package(
        tmp_path,
        {
            "__init__.py": "",
            "registry.py": "from . import handlers\n\nclass Context: ...\n",
            "handlers.py": """\
                from typing import TYPE_CHECKING

                if TYPE_CHECKING:
                    from .registry import Context
            """,
        },
    )
    assert cycles_of(package) == [("pkg.handlers", "pkg.registry")]


def test_import_inside_a_function_counts(tmp_path):
    package = make_package(
        tmp_path,
        {
            "__init__.py": "",
            "fsdp.py": "def options():\n    from .validation import to_enum\n    return to_enum\n",
            "validation.py": "from .fsdp import options\n\ndef to_enum(): ...\n",
        },
    )
    assert cycles_of(package) == [("pkg.fsdp", "pkg.validation")]


def test_clean_package_with_re_exporting_init_passes(tmp_path):
    package = make_package(
        tmp_path,
        {
            "__init__.py": "from .a import A\nfrom .b import B\nfrom .sub import C\n",
            # a sibling taken through the package is an edge to the sibling, not to __init__
            "a.py": "from . import b\nfrom pkg import base\n\nA = b.B\n",
            "b.py": "from .base import Base\nimport os\n\nB = Base\n",
            "base.py": "class Base: ...\n",
            "sub/__init__.py": "from .c import C\n",
            "sub/c.py": "from ..base import Base\nfrom .. import a\n\nC = Base\n",
        },
    )
    assert cycles_of(package) == []
    assert check_cycles.main([str(package)]) == 0


def test_name_taken_from_the_init_that_imports_the_module_is_a_cycle(tmp_path):
    package = make_package(
        tmp_path,
        {
            "__init__.py": "from .a import A\n\n__version__ = '1'\n",
            "a.py": "def f():\n    from pkg import __version__\n    return __version__\n\nA = 1\n",
        },
    )
    assert cycles_of(package) == [("pkg", "pkg.a")]


def test_relative_imports_resolve_from_subpackages(tmp_path):
    package = make_package(
        tmp_path,
        {
            "__init__.py": "",
            "top.py": "from .inner.deep import D\n",
            "inner/__init__.py": "from . import deep\n",
            "inner/deep.py": "from ..top import T\n\nD = 1\n",
        },
    )
    assert cycles_of(package) == [("pkg.inner.deep", "pkg.top")]
    known = check_cycles.package_modules(package)
    edges = check_cycles.import_edges(known["pkg.inner"], known)
    assert [e.target for e in edges] == ["pkg.inner.deep"]


def test_other_packages_and_escaping_relative_imports_are_ignored(tmp_path):
    package = make_package(
        tmp_path,
        {
            "__init__.py": "import json\nimport other.a\nfrom ... import nothing\n",
            "a.py": "from other import a\nimport pkgx\n",
        },
    )
    known = check_cycles.package_modules(package)
    assert check_cycles.import_edges(known["pkg"], known) == []
    assert check_cycles.import_edges(known["pkg.a"], known) == []


def test_three_module_cycle_and_separate_components():
    graph = {
        "a": ["b"],
        "b": ["c"],
        "c": ["a", "d"],
        "d": ["e"],
        "e": ["d"],
        "f": ["a"],
    }
    components = check_cycles.strongly_connected_components(graph)
    assert components == [["a", "b", "c"], ["d", "e"], ["f"]]


def test_long_chain_does_not_recurse():
    size = 5000
    graph = {str(i): [str(i + 1)] for i in range(size)}
    graph[str(size)] = ["0"]
    [component] = check_cycles.strongly_connected_components(graph)
    assert len(component) == size + 1


def test_command_line_reports_cycles_and_exits_1(tmp_path):
    package = make_package(
        tmp_path,
        {"__init__.py": "", "x.py": "from . import y\n", "y.py": "from . import x\n"},
    )
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "check_cycles.py"), str(package)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "pkg: cycle of 2 modules: pkg.x, pkg.y" in result.stdout
    assert "pkg.x -> pkg.y" in result.stdout and "pkg.y -> pkg.x" in result.stdout


def test_trainer_args_and_trainer_optim_have_no_cycles():
    for name in ("trainer-args/src/trainer_args", "trainer-optim/src/trainer_optim"):
        assert check_cycles.find_cycles(ROOT / "packages" / name) == []
