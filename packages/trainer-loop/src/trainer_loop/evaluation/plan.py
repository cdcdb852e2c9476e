"""What stays fixed while one evaluation loop runs, worked out once instead of per batch."""

from __future__ import annotations

from typing import Any

from ..steps.contexts import grad_disabled


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

    def __init__(
        self,
        ignored_outputs: tuple[frozenset[str], frozenset[str]],
        inputs_stay: bool,
        device: Any,
        counts_items: bool,
        default_loss_context: bool,
        step_listened: bool,
    ) -> None:
        self.ignored_outputs = ignored_outputs
        self.inputs_stay = inputs_stay
        self.device = device
        self.counts_items = counts_items
        self.no_grad = grad_disabled() if default_loss_context else None
        self.step_listened = step_listened
