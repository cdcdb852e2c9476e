"""Resuming from checkpoints and loading the best model (mixed into ``Trainer``)."""

from __future__ import annotations

import logging
import os
from typing import Any

import torch

from ..results import OPTIMIZER_NAME, SCALER_NAME, SCHEDULER_NAME
from ..state import TrainerControl
from . import files as ckpt
from .adapters import carries_adapters, has_adapter_weights, is_peft_model, load_adapter_checkpoint
from .data_state import resume_data_position, run_layout

logger = logging.getLogger(__name__)

# Extra key in rng_state.pth: the running loss window, so a resumed run logs the same losses as
# an uninterrupted one. transformers reads only the keys it knows, so its files stay compatible.
LOSS_WINDOW_KEY = "trainer_loss_window"


class ResumingMixin:
    """Reading a checkpoint back: weights, optimizer, schedule, scaler, RNG, callbacks, best model."""

    def _load_from_checkpoint(
        self, resume_from_checkpoint: str, model: torch.nn.Module | None = None
    ) -> None:
        """Load the model weights of a checkpoint folder (full weights or a PEFT adapter)."""
        model = model if model is not None else self.model
        if self.is_deepspeed_enabled:
            self.model_wrapped.load_checkpoint(
                resume_from_checkpoint, load_module_strict=not is_peft_model(self.model)
            )
            return
        if self.is_fsdp_enabled:
            from accelerate.utils import load_fsdp_model

            load_fsdp_model(
                self.accelerator.state.fsdp_plugin, self.accelerator, model, resume_from_checkpoint
            )
            return
        plain = self._plain_model(model)
        if carries_adapters(plain) and has_adapter_weights(resume_from_checkpoint):
            load_adapter_checkpoint(plain, resume_from_checkpoint, is_trainable=True)
            return
        self._issue_warnings_after_load(ckpt.load_model_weights(plain, resume_from_checkpoint))

    def _issue_warnings_after_load(self, load_result: Any) -> None:
        """Warn about missing or unexpected keys after loading weights (override to change)."""
        ckpt.warn_after_load(self._plain_model(), load_result)

    def _load_optimizer_and_scheduler(self, checkpoint: str) -> None:
        optimizer_file = os.path.join(checkpoint, OPTIMIZER_NAME)
        scheduler_file = os.path.join(checkpoint, SCHEDULER_NAME)
        if self.is_deepspeed_enabled:
            # The engine restored the optimizer (and a schedule it owns) with the weights; a
            # trainer-made schedule was saved as scheduler.pt.
            if not self._deepspeed_owns_scheduler() and os.path.isfile(scheduler_file):
                self.lr_scheduler.load_state_dict(ckpt.safe_torch_load(scheduler_file))
            return
        if self.is_fsdp_enabled:
            from accelerate.utils import load_fsdp_optimizer

            load_fsdp_optimizer(
                self.accelerator.state.fsdp_plugin,
                self.accelerator,
                self.optimizer,
                self.model,
                checkpoint,
            )
        elif os.path.isfile(optimizer_file):
            self.optimizer.load_state_dict(
                ckpt.safe_torch_load(optimizer_file, map_location=self.args.device)
            )
        if os.path.isfile(scheduler_file):
            self.lr_scheduler.load_state_dict(ckpt.safe_torch_load(scheduler_file))

    def _load_scaler(self, checkpoint: str) -> None:
        scaler = getattr(self.accelerator, "scaler", None)
        path = os.path.join(checkpoint, SCALER_NAME)
        if scaler is not None and os.path.isfile(path):
            scaler.load_state_dict(ckpt.safe_torch_load(path))

    def _rng_states(self, checkpoint: str) -> dict | None:
        own = ckpt.rng_file_name(self.args.world_size, self.args.process_index)
        path = ckpt.rng_file_to_restore(checkpoint, own)
        if path is None:
            logger.info(
                "No RNG state file for this process in %s; the resumed run may not be reproducible.",
                checkpoint,
            )
            return None
        return ckpt.safe_torch_load(path)

    def _load_rng_state(self, checkpoint: str | None) -> None:
        states = self._rng_states(checkpoint) if checkpoint else None
        if states is not None:
            ckpt.restore_rng_state(states, distributed=self.accelerator.num_processes > 1)

    def _resume_data_position(self, dataloader: Any, checkpoint: str | None, batches: int) -> Any:
        """The loader for the resumed epoch: the checkpoint's data position restored when the
        data can take it, else the first ``batches`` skipped (``checkpointing/data_state.py``)."""
        layout = run_layout(self.args, self._train_batch_size)
        states = self._run.data_states if self._run is not None else None
        return resume_data_position(dataloader, checkpoint or "", batches, layout, states)

    def _saved_loss_window(self, checkpoint: str) -> dict | None:
        states = self._rng_states(checkpoint)
        return None if states is None else states.get(LOSS_WINDOW_KEY)

    def _load_best_model(self) -> None:
        """Load the weights of ``state.best_model_checkpoint`` (full model or adapter)."""
        best = self.state.best_model_checkpoint
        logger.info("Loading best model from %s (score: %s).", best, self.state.best_metric)
        plain = self._plain_model()
        if self.is_deepspeed_enabled or self.is_fsdp_enabled:
            self._load_from_checkpoint(best, self.model_wrapped)
        elif carries_adapters(plain) and has_adapter_weights(best):
            load_adapter_checkpoint(plain, best, is_trainable=False)
        elif ckpt.has_model_weights(best):
            self._issue_warnings_after_load(ckpt.load_model_weights(plain, best))
        else:
            hint = (
                "every process saves on its own node only with save_on_each_node=True"
                if self.args.world_size > 1
                else "it was deleted or never written"
            )
            logger.warning(
                "Could not load the best model: %s holds no model weights (%s).", best, hint
            )

    def _load_callback_state(self) -> None:
        if not self.args.restore_callback_states_from_checkpoint:
            return
        current = [*self.callback_handler.callbacks, self.control]
        missing = []
        for name, data in self.state.stateful_callbacks.items():
            entries = data if isinstance(data, list) else [data]
            matching = [cb for cb in current if type(cb).__name__ == name]
            if not matching:
                missing.append(name)
                continue
            for callback, entry in zip(matching, entries):
                rebuilt = type(callback)(**entry.get("args", {}))
                for attribute, value in entry.get("attributes", {}).items():
                    setattr(rebuilt, attribute, value)
                if isinstance(callback, TrainerControl):
                    self.control = rebuilt
                else:
                    self.callback_handler.remove_callback(callback)
                    self.callback_handler.add_callback(rebuilt)
        if missing:
            logger.warning(
                "The checkpoint holds state for callbacks not in use; ignoring: %s",
                ", ".join(missing),
            )
