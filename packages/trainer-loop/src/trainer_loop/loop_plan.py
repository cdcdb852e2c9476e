"""What stays fixed while one evaluation loop runs, worked out once instead of per batch."""

from __future__ import annotations

from typing import Any

from .steps import StepMixin


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
            type(trainer)._prepare_inputs is StepMixin._prepare_inputs
            and type(trainer)._prepare_input is StepMixin._prepare_input
            and "_prepare_inputs" not in trainer.__dict__
            and "_prepare_input" not in trainer.__dict__
            and trainer._inputs_stay_on_host()
        )
