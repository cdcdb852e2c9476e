"""Noticing a NaN or infinite loss or gradient norm, without a host sync per step.

The training loop hands every optimizer step's loss and gradient norm to a :class:`NonFiniteWatch`.
The watch keeps, on the training device, the first step whose values were not finite; nothing
is read back until a logging step (which already reads the loss) or a checkpoint save. Then a
warning names that step, once, and callbacks with an ``on_non_finite`` method hear of it:
:class:`StopOnNonFiniteCallback` is the opt-in way to stop the run there.

Saving asks :func:`checkpoint_to_keep` which checkpoint rotation must spare: the newest one whose
weights are finite, so ``save_total_limit`` never deletes the last good weights of a run whose
weights turned to NaN.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import torch

from .base import TrainerCallback

logger = logging.getLogger(__name__)


class NonFiniteWatch:
    """The first optimizer step with a non-finite loss or gradient norm, tracked on the device.

    ``last_finite_checkpoint`` starts as the checkpoint the run resumed from (if any) and then
    follows every checkpoint saved while the weights are still finite.
    """

    def __init__(self, resumed_from: str | None = None) -> None:
        self._first: torch.Tensor | None = None
        self.first_step: int | None = None
        self.reported = False
        self.last_finite_checkpoint = resumed_from

    def observe(self, loss: Any, grad_norm: Any, step: int) -> None:
        """Record ``step`` if ``loss`` or ``grad_norm`` is not finite (no host sync on tensors)."""
        if self.first_step is not None:
            return
        loss_flag, norm_flag = _not_finite(loss), _not_finite(grad_norm)
        if loss_flag is False and (norm_flag is False or norm_flag is None):
            return  # the common case on the CPU: both read on the host, both finite
        flags = [f for f in (loss_flag, norm_flag) if f is not None]
        if any(f is True for f in flags):  # a plain float, known on the host already
            if self.poll() is None:
                self.first_step = step
            return
        on_device = [f for f in flags if isinstance(f, torch.Tensor)]
        if not on_device:
            return
        bad = on_device[0]
        for other in on_device[1:]:
            bad = bad | other.to(bad.device)
        if self._first is None:
            self._first = torch.full((), -1, dtype=torch.int64, device=bad.device)
        self._first = torch.where((self._first < 0) & bad, step, self._first)

    def poll(self) -> int | None:
        """The first non-finite step, or None; reads the device flag (one host sync)."""
        if self.first_step is None and self._first is not None:
            value = int(self._first.item())
            if value >= 0:
                self.first_step = value
        return self.first_step

    def take_report(self, global_step: int) -> int | None:
        """The first non-finite step if it was not announced yet (warning once), else None.

        The loop tells the callbacks (``Event.on_non_finite``) with the step this returns.
        """
        step = self.poll()
        if step is None or self.reported:
            return None
        self.reported = True
        logger.warning(
            "Non-finite loss or gradient norm (NaN or inf) at step %d, seen at step %d. The "
            "weights are probably no longer finite; with logging_nan_inf_filter=True the logged "
            "loss leaves such values out. Lower the learning rate, check the data or the loss, "
            "or add StopOnNonFiniteCallback to stop at the next logging step.",
            step,
            global_step,
        )
        return step


def _not_finite(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        if value.device.type == "cpu" and value.numel() == 1:
            return not math.isfinite(value.item())  # reading a CPU scalar costs no sync
        return ~torch.isfinite(value.detach()).all()
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError):
        return None


def weights_are_finite(model: torch.nn.Module) -> bool:
    """Whether every parameter of ``model`` is finite (one host sync)."""
    flags = [torch.isfinite(p.detach()).all() for p in model.parameters()]
    if not flags:
        return True
    return bool(torch.stack([f.to(flags[0].device) for f in flags]).all().item())


def checkpoint_to_keep(
    watch: NonFiniteWatch | None, model: torch.nn.Module, new_checkpoint: str
) -> str | None:
    """The checkpoint rotation must not delete after ``new_checkpoint`` was written.

    While no non-finite value has been seen this costs nothing but one flag read. Once one has,
    the model's weights are checked: finite weights make ``new_checkpoint`` the one to keep;
    otherwise the newest earlier checkpoint with finite weights is kept, with a warning.
    """
    if watch is None:
        return None
    if watch.poll() is None or weights_are_finite(model):
        watch.last_finite_checkpoint = new_checkpoint
        return new_checkpoint
    if watch.last_finite_checkpoint is not None:
        logger.warning(
            "Checkpoint %s holds non-finite weights; %s, the newest checkpoint with finite "
            "weights, is kept whatever save_total_limit says.",
            new_checkpoint,
            watch.last_finite_checkpoint,
        )
    return watch.last_finite_checkpoint


class StopOnNonFiniteCallback(TrainerCallback):
    """Stop training at the first logging step after a non-finite loss or gradient norm.

    Add it to ``Trainer(callbacks=[StopOnNonFiniteCallback()])``. The run then ends without
    saving the non-finite weights at that step; the last checkpoint with finite weights is
    always kept by checkpoint rotation. Detection needs logging (``logging_strategy`` not
    ``"no"``): the flag is read on logging steps only, so the loop stays free of per-step syncs.
    """

    def __init__(self) -> None:
        self.stopped_at: int | None = None

    def on_non_finite(self, args: Any, state: Any, control: Any, step: int, **kwargs: Any) -> Any:
        """Stop at the first step whose loss or gradient norm was not finite (``Event.on_non_finite``)."""
        self.stopped_at = state.global_step
        control.should_training_stop = True
        control.should_save = False
        return control
