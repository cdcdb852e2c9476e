"""Shared fixtures. Loads no torch, so each package's tests also run in its own environment."""

from __future__ import annotations

import os

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def no_stray_files(monkeypatch, tmp_path):
    """Fail a test that leaves files in the working directory; tests run inside ``tmp_path``."""
    before = set(os.listdir(REPO_ROOT))
    monkeypatch.chdir(tmp_path)
    yield
    # Hidden entries are tool caches (linters, uv); anything else is a leak.
    leaked = {n for n in set(os.listdir(REPO_ROOT)) - before if not n.startswith(".")}
    assert not leaked, f"test left files in the repository: {sorted(leaked)}"
