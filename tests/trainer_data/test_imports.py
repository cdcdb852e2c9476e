"""trainer_data imports only its declared dependencies."""

from __future__ import annotations

import subprocess
import sys

import trainer_data


def test_import_pulls_no_optional_or_forbidden_packages():
    code = (
        "import sys, trainer_data\n"
        "bad = [m for m in ('datasets', 'transformers', 'accelerate') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_names_exist():
    for name in trainer_data.__all__:
        assert hasattr(trainer_data, name), name
