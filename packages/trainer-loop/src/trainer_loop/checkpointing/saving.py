"""Saving models and checkpoints, and resuming from them (mixed into ``Trainer``)."""

from __future__ import annotations

import logging
import os
from typing import Any

import torch

from ..callbacks.nonfinite import checkpoint_to_keep
from ..hooks import overrides_any
from ..options import option_name
from ..results import (
    OPTIMIZER_NAME,
    SCALER_NAME,
    SCHEDULER_NAME,
    TRAINER_STATE_NAME,
    TRAINING_ARGS_NAME,
)
from ..search.naming import trial_run_name
from ..state import ExportableState
from . import files as ckpt
from .background import CheckpointWriter, asks_for_background_saves, write_in_background
from .data_state import data_state_file_name, data_state_text, run_layout
from .folders import keep_only
from .lazy_deepspeed import deepspeed_import_skipped
from .recipe import CheckpointRecipe, best_checkpoint_dir, finish_checkpoint
from .resuming import LOSS_WINDOW_KEY

logger = logging.getLogger(__name__)


class SavingMixin:
    """``save_model``, ``save_state`` and the checkpoint write/resume machinery."""

    def _init_saving(self) -> None:
        """The background checkpoint writer (idle until ``BackgroundCheckpointing`` is used)."""
        self._checkpoint_writer = CheckpointWriter()
        self._background_fallback_logged = False

    # --------------------------------------------------------------------------- public

    def save_model(self, output_dir: str | None = None, _internal_call: bool = False) -> None:
        """Save the model (safetensors, or the model's ``save_pretrained``), the processing class
        and the training arguments into ``output_dir`` (default ``args.output_dir``)."""
        output_dir = output_dir if output_dir is not None else self.args.output_dir
        if self.is_fsdp_enabled or self.is_deepspeed_enabled:
            state_dict = self.accelerator.get_state_dict(self.model_wrapped)
            if self.args.should_save:
                self._save(output_dir, state_dict=state_dict)
        elif self.args.should_save:
            self._save(output_dir)
        if self.args.push_to_hub and not _internal_call:
            self.push_to_hub(commit_message="Model save", revision=self.args.hub_revision)

    def save_state(self) -> None:
        """Write ``trainer_state.json`` into ``args.output_dir`` (main process only)."""
        if not self.is_world_process_zero():
            return
        os.makedirs(self.args.output_dir, exist_ok=True)
        self.state.save_to_json(os.path.join(self.args.output_dir, TRAINER_STATE_NAME))

    # --------------------------------------------------------------------------- writing

    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        """Write the model files, the processing class and the arguments into ``output_dir``."""
        output_dir = output_dir if output_dir is not None else self.args.output_dir
        os.makedirs(output_dir, exist_ok=True)
        logger.info("Saving model checkpoint to %s", _final_path(output_dir))
        with deepspeed_import_skipped():
            ckpt.save_model_files(self._plain_model(), output_dir, state_dict=state_dict)
        tokenizer = self.processing_class
        if tokenizer is None:
            tokenizer = getattr(self.data_collator, "tokenizer", None)
        if tokenizer is not None and hasattr(tokenizer, "save_pretrained"):
            tokenizer.save_pretrained(output_dir)
        ckpt.atomic_torch_save(self.args, os.path.join(output_dir, TRAINING_ARGS_NAME))

    def _plain_model(self, model: torch.nn.Module | None = None) -> torch.nn.Module:
        """The user's module without DDP/FSDP/compile wrappers (cheap when there are none)."""
        model = model if model is not None else self.model
        wrapped = hasattr(model, "_orig_mod") or hasattr(model, "module")
        return self.accelerator.unwrap_model(model, keep_torch_compile=False) if wrapped else model

    def _get_output_dir(self, trial: Any) -> str:
        if self.hp_search_backend is not None and trial is not None:
            return os.path.join(self.args.output_dir, trial_run_name(trial, self.hp_name))
        return self.args.output_dir

    def _save_checkpoint(self, model: torch.nn.Module, trial: Any) -> None:
        if self.hp_search_backend is None and trial is None:
            self.store_flos()
        background = self._saves_in_background()
        if background:
            self._checkpoint_writer.wait()  # the previous folder is whole before planning this one
        recipe = self._checkpoint_recipe(trial)
        if background:
            self._write_checkpoint_in_background(recipe)
        else:
            self._write_checkpoint_in_place(recipe)
            finish_checkpoint(recipe, self._push_from_checkpoint, rotate=self.args.should_save)

    def _checkpoint_recipe(self, trial: Any) -> CheckpointRecipe:
        """Decide this save: the folder, the best checkpoint, the state to record, what to spare."""
        args = self.args
        run_dir = self._get_output_dir(trial)
        state_json = None
        if args.should_save:
            strategy = option_name(args.save_strategy)
            # With save_strategy="best", best_global_step is not tracked; the step of the last
            # improvement is, and its checkpoint is the one being written.
            run = self._run
            best_step = (
                (run.last_best_step if run is not None else None)
                if strategy == "best"
                else self.state.best_global_step
            )
            best_dir = best_checkpoint_dir(run_dir, best_step, self.state.global_step)
            if best_dir is not None:
                self.state.best_model_checkpoint = best_dir
            self._export_callback_states()
            state_json = self.state.to_json_string()
        recipe = CheckpointRecipe(
            run_dir,
            self.state.global_step,
            with_training_state=not args.save_only_model,
            state_json=state_json,
            save_total_limit=args.save_total_limit,
            best_model_checkpoint=self.state.best_model_checkpoint,
            keep=None,
            push=bool(args.push_to_hub),
        )
        if recipe.with_training_state:
            recipe.rank_files = self._data_state_files()
        if args.should_save:
            run = self._run
            recipe.keep = checkpoint_to_keep(
                run.nonfinite if run is not None else None, self.model, recipe.final_dir
            )
        return recipe

    def _data_state_files(self) -> dict[str, str]:
        """This process's ``data_state.json``: its position in the training data, when known,
        and the batch layout (see ``checkpointing/data_state.py``)."""
        args = self.args
        run = self._run
        layout = run_layout(
            args, self._train_batch_size, run.gradient_divisor if run is not None else None
        )
        loader = run.epoch_loader if run is not None else None
        text = data_state_text(loader, layout, self.state.global_step)
        return {data_state_file_name(args.world_size, args.process_index): text}

    def _write_checkpoint_in_place(self, recipe: CheckpointRecipe) -> None:
        """The blocking writer: the saving hooks fill a staging folder renamed into place."""
        barrier = self.accelerator.wait_for_everyone if self.accelerator.num_processes > 1 else None
        with ckpt.staged_folder(
            recipe.final_dir, is_writer=self.args.should_save, barrier=barrier
        ) as staging:
            self.save_model(staging, _internal_call=True)
            if recipe.with_training_state:
                self._save_optimizer_and_scheduler(staging)
                self._save_scaler(staging)
                self._save_rng_state(staging)
            for name, text in recipe.rank_files.items():
                ckpt.write_text(text, os.path.join(staging, name))
            if recipe.state_json is not None:
                ckpt.write_text(recipe.state_json, os.path.join(staging, TRAINER_STATE_NAME))

    def _write_checkpoint_in_background(self, recipe: CheckpointRecipe) -> None:
        """The background writer: host copies of the same states, written by a worker thread."""
        states: dict[str, Any] = {}
        if recipe.with_training_state:
            states[OPTIMIZER_NAME] = self.optimizer.state_dict()
            if not self._deepspeed_owns_scheduler():
                states[SCHEDULER_NAME] = self.lr_scheduler.state_dict()
            scaler = getattr(self.accelerator, "scaler", None)
            if scaler is not None:
                states[SCALER_NAME] = scaler.state_dict()
            rng_name = ckpt.rng_file_name(self.args.world_size, self.args.process_index)
            states[rng_name] = self._rng_state_to_save()
        write_in_background(
            self._checkpoint_writer,
            recipe,
            model_state=self._plain_model().state_dict(),
            states=states,
            write_model_files=self._save,
            push=self._push_from_checkpoint,
        )

    def _wait_for_checkpoint_writer(self, release_buffers: bool = False) -> None:
        """Wait for a background write (raising its error); optionally free the host buffers."""
        try:
            self._checkpoint_writer.wait()
        finally:
            if release_buffers:
                self._checkpoint_writer.copier.release()

    def _saves_in_background(self) -> bool:
        """Whether ``BackgroundCheckpointing`` is asked for and this run can use it (said once
        when it cannot)."""
        if not asks_for_background_saves(self.callback_handler.callbacks):
            return False
        blocker = self._background_blocker()
        if blocker is not None and not self._background_fallback_logged:
            logger.info("BackgroundCheckpointing: checkpoints are written in place (%s).", blocker)
            self._background_fallback_logged = True
        return blocker is None

    def _background_blocker(self) -> str | None:
        """Why this trainer writes checkpoints in place even with ``BackgroundCheckpointing``."""
        if self.args.world_size > 1 or self.accelerator.num_processes > 1:
            return "several processes"
        if self.is_deepspeed_enabled or self.is_fsdp_enabled:
            return "DeepSpeed or FSDP"
        if not self.args.should_save:
            return "this process does not save"
        hook = overrides_any(self, _SAVING_HOOKS, SavingMixin)
        return None if hook is None else f"{type(self).__name__} overrides {hook}"

    def _export_callback_states(self) -> None:
        for callback in [*self.callback_handler.callbacks, self.control]:
            if not isinstance(callback, ExportableState):
                continue
            name = type(callback).__name__
            exported = callback.state()
            if isinstance(self.state.stateful_callbacks.get(name), list):
                self.state.stateful_callbacks[name].append(exported)
            else:
                self.state.stateful_callbacks[name] = exported

    def _save_optimizer_and_scheduler(self, output_dir: str) -> None:
        if self.is_deepspeed_enabled:
            self.model_wrapped.save_checkpoint(output_dir)
        elif self.is_fsdp_enabled:
            from accelerate.utils import save_fsdp_model, save_fsdp_optimizer

            plugin = self.accelerator.state.fsdp_plugin
            save_fsdp_model(plugin, self.accelerator, self.model, output_dir)
            save_fsdp_optimizer(plugin, self.accelerator, self.optimizer, self.model, output_dir)
        elif self.args.should_save:
            ckpt.atomic_torch_save(
                self.optimizer.state_dict(), os.path.join(output_dir, OPTIMIZER_NAME)
            )
        if self.args.should_save and not self._deepspeed_owns_scheduler():
            ckpt.atomic_torch_save(
                self.lr_scheduler.state_dict(), os.path.join(output_dir, SCHEDULER_NAME)
            )

    def _deepspeed_owns_scheduler(self) -> bool:
        """Whether the DeepSpeed engine saves and restores the schedule itself."""
        return self.is_deepspeed_enabled and type(self.lr_scheduler).__name__ in (
            "DummyScheduler",
            "DeepSpeedSchedulerWrapper",
        )

    def _save_scaler(self, output_dir: str) -> None:
        scaler = getattr(self.accelerator, "scaler", None)
        if scaler is not None and self.args.should_save:
            ckpt.atomic_torch_save(scaler.state_dict(), os.path.join(output_dir, SCALER_NAME))

    def _save_rng_state(self, output_dir: str) -> None:
        states = self._rng_state_to_save()
        os.makedirs(output_dir, exist_ok=True)
        name = ckpt.rng_file_name(self.args.world_size, self.args.process_index)
        ckpt.atomic_torch_save(states, os.path.join(output_dir, name))

    def _rng_state_to_save(self) -> dict:
        distributed = self.accelerator.num_processes > 1
        states = ckpt.capture_rng_state(distributed)
        run = self._run
        states[LOSS_WINDOW_KEY] = (
            run.loss.saved()
            if run is not None and run.loss is not None
            else {"window_loss": 0.0, "total_loss": 0.0, "last_logged_step": self.state.global_step}
        )
        return states

    def _keep_only_best_when_limit_is_one(self, trial: Any) -> None:
        best = self.state.best_model_checkpoint
        if not (self.args.should_save and best is not None and self.args.save_total_limit == 1):
            return
        spared = [best]
        watch = self._run.nonfinite if self._run is not None else None
        if watch is not None and watch.first_step is not None and watch.last_finite_checkpoint:
            spared.append(watch.last_finite_checkpoint)  # the last finite weights
        keep_only(self._get_output_dir(trial), spared)


def _final_path(output_dir: str) -> str:
    """The folder a staged checkpoint becomes once renamed into place (what users will see)."""
    parent, name = os.path.split(os.path.normpath(output_dir))
    if name.startswith(ckpt.STAGING_PREFIX):
        return os.path.join(parent, name[len(ckpt.STAGING_PREFIX) :])
    return output_dir


# The hooks that write a checkpoint in place; a subclass overriding one keeps blocking saves.
_SAVING_HOOKS = (
    "save_model",
    "_save_optimizer_and_scheduler",
    "_save_scaler",
    "_save_rng_state",
    "_save_checkpoint",
)
