"""docs/optimizers.md lists every optimizer and schedule name, and every extra it names exists."""

from __future__ import annotations

import os
import re

import pytest
from trainer_optim import OPTIMIZER_EXTRAS, OPTIMIZER_NAMES, SCHEDULER_NAMES

tomllib = pytest.importorskip("tomllib")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(ROOT, "docs", "optimizers.md")
PYPROJECT = os.path.join(ROOT, "packages", "trainer-optim", "pyproject.toml")


@pytest.fixture(scope="module")
def table_rows() -> list[str]:
    with open(DOC, encoding="utf-8") as fh:
        return [line for line in fh if line.startswith("| `")]


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_optimizer_documented(name, table_rows):
    assert any(re.search(rf"`{name}`", row.split("|")[1]) for row in table_rows), name


@pytest.mark.parametrize("name", SCHEDULER_NAMES)
def test_schedule_documented(name, table_rows):
    assert any(row.split("|")[1].strip() == f"`{name}`" for row in table_rows), name


def test_extras_exist_and_are_documented(table_rows):
    with open(PYPROJECT, "rb") as fh:
        extras = tomllib.load(fh)["project"]["optional-dependencies"]
    for name, (_, package, extra) in OPTIMIZER_EXTRAS.items():
        assert extra in extras, extra
        assert any(package in dep for dep in extras[extra]), package
        row = next(r for r in table_rows if f"`{name}`" in r.split("|")[1])
        assert f"`{extra}`" in row, (name, extra)
