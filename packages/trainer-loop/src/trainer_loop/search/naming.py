"""Where a search trial's checkpoints go: ``<output_dir>/<hp_name(trial)>`` or ``run-<id>``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def trial_run_name(trial: Any, hp_name: Callable[[Any], str] | None) -> str:
    """The folder name of ``trial``'s run: ``hp_name(trial)`` when given, else ``run-<id>``."""
    if hp_name is not None:
        return hp_name(trial)
    return f"run-{trial_id(trial)}"


def trial_id(trial: Any) -> Any:
    """An optuna trial's number, or a stable id for a dict of hyperparameters (Ray Tune)."""
    if isinstance(trial, dict):
        return abs(hash(str(sorted(trial.items()))))
    return getattr(trial, "number", None)
