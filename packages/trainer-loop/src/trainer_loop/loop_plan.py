"""What stays fixed while one evaluation loop runs, worked out once instead of per batch."""

from __future__ import annotations

from typing import Any

from .steps import grad_disabled


class LoopPlan:
    """What ``prediction_step`` would otherwise work out on every batch of one evaluation loop:
    the output keys to leave out (without and with a loss), whether ``_prepare_inputs`` is the
    default one with nothing to move (the CPU), the device, whether the loss needs the batch's
    label-token count, and, when ``compute_loss_context_manager`` is the default (which enters
    nothing), one reusable ``torch.no_grad()`` context; else ``no_grad`` is None and each batch
    enters the overridden context afresh.

    ``step_listened`` says whether any callback listens to ``on_prediction_step``; the event is
    not dispatched per batch otherwise (a callback added during the loop is called from the next
    loop on).
    """

    __slots__ = (
        "ignored_outputs",
        "inputs_stay",
        "device",
        "counts_items",
        "no_grad",
        "step_listened",
    )

    def __init__(self, trainer: Any) -> None:
        self.ignored_outputs = (
            trainer._default_ignored_outputs(has_loss=False),
            trainer._default_ignored_outputs(has_loss=True),
        )
        self.inputs_stay = (
            trainer._uses_default("_prepare_inputs", "_prepare_input")
            and trainer._inputs_stay_on_host()
        )
        self.device = trainer.args.device
        self.counts_items = (
            trainer.model_accepts_loss_kwargs or trainer.compute_loss_func is not None
        )
        self.no_grad = grad_disabled() if trainer._default_loss_context() else None
        self.step_listened = bool(trainer.callback_handler.listeners("on_prediction_step"))
