"""The API reference (docs/api/) has an entry for every public name of every package."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
API = ROOT / "docs" / "api"
PACKAGES = sorted(p.name for p in ROOT.glob("packages/*/src/*") if (p / "__init__.py").is_file())


def _entries(page: Path) -> set[str]:
    """Dotted names a reference page documents: ``::: a.b`` blocks and ``[](){#a.b}`` anchors."""
    text = page.read_text(encoding="utf-8")
    blocks = re.findall(r"^::: ([\w.]+)$", text, flags=re.M)
    anchors = re.findall(r"^\[\]\(\)\{#([\w.]+)\}$", text, flags=re.M)
    return set(blocks) | set(anchors)


def test_every_package_has_a_reference_page_in_the_site_navigation():
    assert {"trainer", "trainer_args", "trainer_loop", "trainer_seq2seq"} <= set(PACKAGES)
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for package in PACKAGES:
        assert (API / f"{package}.md").is_file(), f"docs/api/{package}.md is missing"
        assert f"api/{package}.md" in nav, f"mkdocs.yml does not list api/{package}.md"


@pytest.mark.parametrize("package", [p for p in PACKAGES if p != "trainer"])
def test_every_name_in_all_has_an_entry(package):
    names = importlib.import_module(package).__all__
    documented = _entries(API / f"{package}.md")
    missing = sorted(n for n in names if f"{package}.{n}" not in documented)
    assert not missing, (
        f"docs/api/{package}.md lacks {missing}; run: uv run --no-sync python -m tools.api_docs"
    )


def test_every_name_of_the_meta_package_points_at_its_entry():
    import trainer

    text = (API / "trainer.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `trainer\.(\w+)` \| \[`[\w.]+`\]\[([\w.]+)\] \|$", text, re.M))
    assert sorted(rows) == sorted(trainer.__all__)
    for name, target in rows.items():
        package, _, attr = target.rpartition(".")
        assert target in _entries(API / f"{package.split('.')[0]}.md"), target
        if package != "trainer":  # a re-export: the row names the object's home
            assert getattr(importlib.import_module(package), attr) is getattr(trainer, name)


def test_the_pages_match_what_the_generator_writes():
    pytest.importorskip("griffe")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tools import api_docs

    stale = [
        str(path.relative_to(ROOT))
        for path, text in api_docs.pages().items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]
    assert not stale, f"{stale} out of date; run: uv run --no-sync python -m tools.api_docs"
