"""The state of one ``train()`` run, in one object built when the run starts and dropped when it
ends.

Before this object existed the loop's concerns talked through attributes on the trainer; now the
trainer holds ``_run`` (``None`` between runs) and each concern reads what it needs from it. The
private transformers names that libraries built on ``Trainer`` read or write
(``_globalstep_last_logged``, ``_total_loss_scalar``, ``current_gradient_accumulation_steps``)
are properties over it, in :class:`RunAttributes`.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch


class RunPlan:
    """The step counts of one run, worked out once from the arguments and the train dataloader.

    ``num_train_epochs`` is ``sys.maxsize`` for data without a length (``max_steps`` decides);
    ``steps_in_epoch`` counts micro-batches, ``updates_per_epoch`` optimizer steps. Nothing here
    changes while the run goes on, so the loop reads plain attributes instead of recomputing.
    """

    __slots__ = (
        "num_train_epochs",
        "updates_per_epoch",
        "num_examples",
        "num_train_samples",
        "total_batch_size",
        "steps_in_epoch",
        "max_steps",
    )

    def __init__(
        self,
        num_train_epochs: int,
        updates_per_epoch: int,
        num_examples: int,
        num_train_samples: int,
        total_batch_size: int,
        steps_in_epoch: int,
        max_steps: int,
    ) -> None:
        self.num_train_epochs = num_train_epochs
        self.updates_per_epoch = updates_per_epoch
        self.num_examples = num_examples
        self.num_train_samples = num_train_samples
        self.total_batch_size = total_batch_size
        self.steps_in_epoch = steps_in_epoch
        self.max_steps = max_steps

    def as_tuple(self) -> tuple[int, int, int, int, int, int, int]:
        """The seven values in the order ``Trainer.set_initial_training_values`` returns them."""
        return (
            self.num_train_epochs,
            self.updates_per_epoch,
            self.num_examples,
            self.num_train_samples,
            self.total_batch_size,
            self.steps_in_epoch,
            self.max_steps,
        )


class LossWindow:
    """The training loss since the last log, and the sum of every logged window.

    ``running`` stays a tensor on the training device so adding a step's loss costs no host
    sync; it is read (and emptied) on logging steps. ``on_host`` says the device is the CPU, where
    reading a value is free, so a non-finite loss can be replaced by the window's mean at once.
    With ``nan_inf_filter`` (``logging_nan_inf_filter``) a non-finite loss counts as that mean.
    """

    __slots__ = ("running", "total", "last_logged_step", "on_host", "nan_inf_filter")

    def __init__(self, device: torch.device, global_step: int, nan_inf_filter: bool) -> None:
        self.running = torch.tensor(0.0, device=device)
        self.total = 0.0
        self.last_logged_step = global_step
        self.on_host = device.type == "cpu"
        self.nan_inf_filter = nan_inf_filter

    def add(self, loss: torch.Tensor, global_step: int) -> float | None:
        """Add one micro-batch's loss; returns its value when it was read on the host."""
        if not self.nan_inf_filter:
            self.running += loss
            return None
        if self.on_host:
            value = loss.item()
            if math.isfinite(value):
                self.running += loss
            else:
                self.running += self.running / (1 + global_step - self.last_logged_step)
            return value
        # On accelerators, choose without a host sync.
        fallback = self.running / (1 + global_step - self.last_logged_step)
        self.running += torch.where(torch.isfinite(loss), loss.to(self.running.dtype), fallback)
        return None

    def saved(self) -> dict[str, float | int]:
        """What a checkpoint keeps of the window, so a resumed run logs the same losses."""
        return {
            "window_loss": float(self.running.item()),
            "total_loss": float(self.total),
            "last_logged_step": int(self.last_logged_step),
        }

    def restore(self, saved: dict[str, Any]) -> None:
        """Continue the window a checkpoint saved (see :meth:`saved`)."""
        self.running += saved["window_loss"]
        self.total = saved["total_loss"]
        self.last_logged_step = saved["last_logged_step"]


class Run:
    """Everything one ``train()`` call keeps while it runs.

    The fixed part is decided when the run is set up and does not change afterwards: the
    ``plan``, where to start (``epochs_trained``, ``batches_to_skip``, the ``checkpoint`` resumed
    from), the ``trial`` of a search, and the flags the per-step code branches on:

    - ``accelerate_wrapped``: accelerate prepared model and optimizer (clipping unscales through it);
    - ``count_flos`` / ``count_tokens``: the step adds FLOs or input tokens to the state;
    - ``scheduler_per_update``: the schedule steps after each update (not ``ReduceLROnPlateau``);
    - ``fused_backward``: the LOMO/AdaLomo optimizer that updates inside its backward, or None;
    - ``gradient_divisor``: what backward divides the loss by, the accumulation steps unless a
      resume keeps the checkpoint's (``checkpointing/gradient_scale.py``);
    - ``data_states``: the checkpoint's ``data_state*.json`` files by rank (empty for a fresh
      run), read once for the batch-layout warning, the gradient divisor and the data position.

    ``initial_tokens_seen`` and ``initial_total_flos`` are the state's counts when the run
    started, so throughput covers this run only (a resumed run counts from where it resumed).

    The moving part is the ``loss`` window, the ``nonfinite`` watch, ``accumulation`` (micro-batches
    in the current optimizer step) and ``last_best_step`` (the step of the last improvement of
    ``metric_for_best_model``) and ``epoch_loader`` (the loader the current epoch iterates, whose
    data position a checkpoint records).
    """

    __slots__ = (
        "plan",
        "trial",
        "checkpoint",
        "epochs_trained",
        "batches_to_skip",
        "start_time",
        "initial_tokens_seen",
        "initial_total_flos",
        "loss",
        "nonfinite",
        "accumulation",
        "last_best_step",
        "accelerate_wrapped",
        "count_flos",
        "count_tokens",
        "scheduler_per_update",
        "fused_backward",
        "gradient_divisor",
        "data_states",
        "epoch_loader",
    )

    def __init__(self, plan: RunPlan, trial: Any, checkpoint: str | None) -> None:
        self.plan = plan
        self.trial = trial
        self.checkpoint = checkpoint
        self.epochs_trained = 0
        self.batches_to_skip = 0
        self.start_time = time.time()
        self.initial_tokens_seen = 0
        self.initial_total_flos = 0.0
        self.loss: LossWindow | None = None
        self.nonfinite: Any = None
        self.accumulation = 1
        self.last_best_step: int | None = None
        self.accelerate_wrapped = False
        self.count_flos = False
        self.count_tokens = False
        self.scheduler_per_update = True
        self.fused_backward: Any = None
        self.gradient_divisor = 1
        self.data_states: dict[int, dict[str, Any]] = {}
        self.epoch_loader: Any = None


class RunAttributes:
    """transformers-private names that libraries built on ``Trainer`` use, over the run object.

    TRL writes ``_globalstep_last_logged`` and ``_total_loss_scalar`` and reads
    ``current_gradient_accumulation_steps``; they keep working during a run, and read as an
    empty window between runs (writes then have nothing to change and are dropped).
    """

    _run: Run | None

    @property
    def _globalstep_last_logged(self) -> int:
        run = self._run
        if run is None or run.loss is None:
            return self.state.global_step
        return run.loss.last_logged_step

    @_globalstep_last_logged.setter
    def _globalstep_last_logged(self, value: int) -> None:
        if self._run is not None and self._run.loss is not None:
            self._run.loss.last_logged_step = value

    @property
    def _total_loss_scalar(self) -> float:
        run = self._run
        return 0.0 if run is None or run.loss is None else run.loss.total

    @_total_loss_scalar.setter
    def _total_loss_scalar(self, value: float) -> None:
        if self._run is not None and self._run.loss is not None:
            self._run.loss.total = value

    @property
    def current_gradient_accumulation_steps(self) -> int:
        """Micro-batches in the optimizer step being taken (the last one of an epoch may be short)."""
        run = self._run
        return self.args.gradient_accumulation_steps if run is None else run.accumulation

    @current_gradient_accumulation_steps.setter
    def current_gradient_accumulation_steps(self, value: int) -> None:
        if self._run is not None:
            self._run.accumulation = value
