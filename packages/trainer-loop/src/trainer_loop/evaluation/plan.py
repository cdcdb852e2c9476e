"""What stays fixed while one evaluation loop runs, worked out once instead of per batch: the
model it runs and its ``LoopPlan``."""

from __future__ import annotations

import time
from typing import Any

import torch

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


class LoopSetupMixin:
    """What an evaluation loop settles before its first batch (mixed into ``EvaluationMixin``):
    the model it runs, prepared by the accelerator on the first evaluation before any training,
    and its ``LoopPlan``."""

    def _init_model_preparation(self) -> None:
        """Nothing prepared yet (called by ``EvaluationMixin._init_evaluation``)."""
        self._model_registered = False  # the accelerator has prepared the model
        # Seconds the first evaluation spent preparing the model; reported from then on.
        self.model_preparation_time: float | None = None

    def _forget_model_preparation(self) -> None:
        """A new accelerator has not prepared the model: the next evaluation prepares it."""
        self._model_registered = False

    def _mark_model_prepared(self) -> None:
        """Training prepared the model: evaluation no longer prepares (or times) it."""
        self._model_registered = True

    def _model_for_evaluation(self) -> torch.nn.Module:
        model = self.model_wrapped if self.is_in_train else self.model
        if not self._model_registered and model is self.model:
            # The first evaluation before any training prepares the model; like transformers,
            # the time it took is reported as ``<prefix>_model_preparation_time`` from then on.
            start = time.time()
            if self._needs_accelerate_wrapping():
                model = self.accelerator.prepare_model(model, evaluation_mode=True)
                if model is not self.model:
                    self.model_wrapped = model
            self._model_registered = True
            self.model_preparation_time = round(time.time() - start, 4)
        if not self.is_in_train:
            if self.args.fp16_full_eval:
                model = model.to(dtype=torch.float16, device=self.args.device)
            elif self.args.bf16_full_eval:
                model = model.to(dtype=torch.bfloat16, device=self.args.device)
        return self._wrap_model(model, training=False)

    def _plan_loop(self) -> LoopPlan:
        """What one evaluation loop can work out once instead of per batch (see ``LoopPlan``)."""
        return LoopPlan(
            ignored_outputs=(
                self._default_ignored_outputs(has_loss=False),
                self._default_ignored_outputs(has_loss=True),
            ),
            inputs_stay=self._uses_default("_prepare_inputs", "_prepare_input")
            and self._inputs_stay_on_host(),
            device=self.args.device,
            counts_items=self.model_accepts_loss_kwargs or self.compute_loss_func is not None,
            default_loss_context=self._default_loss_context(),
            step_listened=bool(self.callback_handler.listeners("on_prediction_step")),
        )

    def _default_ignored_outputs(self, has_loss: bool) -> frozenset[str]:
        """Output keys left out of the logits: the config's ``keys_to_ignore_at_inference``, and the loss.

        ``evaluation_loop`` works the sets out once per loop rather than once per batch.
        """
        config = getattr(self.model, "config", None)
        keys = (
            frozenset(getattr(config, "keys_to_ignore_at_inference", ["past_key_values"]))
            if config is not None
            else frozenset()
        )
        return keys | {"loss"} if has_loss else keys
