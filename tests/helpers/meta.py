"""Skipping tests that need the meta-package when a package's tests run on their own."""

from __future__ import annotations

import importlib
import importlib.metadata
from typing import Any

import pytest


def require_meta_package() -> Any:
    """The ``trainer`` meta-package, or a skip when it is not installed.

    ``pytest.importorskip("trainer")`` is not enough: with ``tests`` on the path, the
    ``tests/trainer`` folder imports as an empty namespace package of that name.
    """
    try:
        importlib.metadata.version("trainer")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("needs the trainer meta-package")
    return importlib.import_module("trainer")
