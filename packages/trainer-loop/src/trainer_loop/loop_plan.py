"""What stays fixed while one evaluation loop runs, worked out once instead of per batch."""

from __future__ import annotations

from typing import Any


class LoopPlan:
    """What ``prediction_step`` would otherwise work out on every batch of one evaluation loop:
    the output keys to leave out (without and with a loss), and whether ``_prepare_inputs`` is
    the default one with nothing to move (the CPU)."""

    __slots__ = ("ignored_outputs", "inputs_stay")

    def __init__(self, trainer: Any) -> None:
        self.ignored_outputs = (
            trainer._default_ignored_outputs(has_loss=False),
            trainer._default_ignored_outputs(has_loss=True),
        )
        self.inputs_stay = (
            trainer._uses_default("_prepare_inputs", "_prepare_input")
            and trainer._inputs_stay_on_host()
        )
