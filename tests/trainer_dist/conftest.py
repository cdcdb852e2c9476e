"""Fixtures for trainer_dist tests: isolate accelerate's process-wide state and the environment."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def isolated_accelerate_state():
    """Restore ``os.environ`` and reset accelerate's singleton state after each test."""
    saved_env = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved_env)
    try:
        from accelerate.state import AcceleratorState, GradientState
    except ImportError:  # pragma: no cover - accelerate is a hard dependency
        return
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
