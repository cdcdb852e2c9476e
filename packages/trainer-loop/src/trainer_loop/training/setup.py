"""Setting up one ``train()`` run: step counts, state, optimizer/schedule, wrapping, header log."""

from __future__ import annotations

import logging
import math
import os
import sys

import torch
from trainer_data import has_length

from ..checkpointing.data_state import read_data_states, run_layout, saved_layout
from ..checkpointing.gradient_scale import gradient_divisor
from ..checkpointing.resume_warnings import (
    warn_if_global_batch_differs,
    warn_if_resume_settings_differ,
)
from ..options import option_name
from ..results import TRAINER_STATE_NAME
from ..state import TrainerState

logger = logging.getLogger(__name__)


class RunSetupMixin:
    """Setting up one ``train()`` run: step counts, state, optimizer/schedule, wrapping, header log."""

    def set_initial_training_values(
        self, args, dataloader
    ) -> tuple[int, int, int, int, int, int | None, int]:
        """Epochs, updates per epoch, examples, samples, total batch size, batches per epoch, max steps."""
        max_steps = args.max_steps
        accumulation = args.gradient_accumulation_steps
        total_batch_size = self.get_total_train_batch_size(args)
        len_dataloader = len(dataloader) if has_length(dataloader) else None
        if len_dataloader == 0:
            raise ValueError(
                "The training dataloader is empty: the train_dataset has no example (or fewer than one "
                "batch with dataloader_drop_last=True). Pass a non-empty dataset."
            )
        if len_dataloader is not None:
            updates_per_epoch = max(math.ceil(len_dataloader / accumulation), 1)
            if max_steps <= 0:
                max_steps = math.ceil(args.num_train_epochs * updates_per_epoch)
            num_examples = self.num_examples(dataloader)
            if args.max_steps > 0:
                num_train_epochs = math.ceil(max_steps / updates_per_epoch)
                num_train_samples = max_steps * total_batch_size
            else:
                num_train_epochs = math.ceil(args.num_train_epochs)
                num_train_samples = num_examples * args.num_train_epochs
        elif args.max_steps > 0:
            num_train_epochs = sys.maxsize
            updates_per_epoch = max_steps
            num_examples = num_train_samples = total_batch_size * args.max_steps
        else:
            raise ValueError(
                f"max_steps must be positive when the dataloader has no length, got {args.max_steps}."
            )
        steps_in_epoch = len_dataloader if len_dataloader is not None else max_steps * accumulation
        return (
            num_train_epochs,
            updates_per_epoch,
            num_examples,
            num_train_samples,
            total_batch_size,
            steps_in_epoch,
            max_steps,
        )

    def _init_training_state(
        self, max_steps, updates_per_epoch, num_train_epochs, checkpoint, trial
    ):
        self.state = TrainerState(stateful_callbacks=self._stateful_callbacks())
        self.state.is_hyper_param_search = trial is not None
        self.state.train_batch_size = self._train_batch_size
        self.state.compute_steps(self.args, max_steps)
        epochs_trained = batches_to_skip = 0
        state_file = os.path.join(checkpoint, TRAINER_STATE_NAME) if checkpoint else None
        self._run.data_states = read_data_states(checkpoint) if checkpoint else {}
        if state_file and os.path.isfile(state_file):
            run_state, self.state = self.state, TrainerState.load_from_json(state_file)
            warn_if_resume_settings_differ(run_state, self.state, self.args)
            warn_if_global_batch_differs(
                saved_layout(self._run.data_states),
                run_layout(self.args, self._train_batch_size),
                self.state.global_step,
                updates_per_epoch,
            )
            if self.state.global_step >= max_steps:
                # Said before the callback states are restored, whose warnings come last as in
                # transformers (code that captures "the last warning" reads theirs).
                logger.warning(
                    "The checkpoint %s is at step %d and the run has max_steps=%d: training "
                    "already finished, nothing is trained. Raise max_steps or num_train_epochs "
                    "to continue.",
                    checkpoint,
                    self.state.global_step,
                    max_steps,
                )
            self._load_callback_state()
            epochs_trained = self.state.global_step // updates_per_epoch
            if not self.args.ignore_data_skip:
                batches_to_skip = (
                    self.state.global_step % updates_per_epoch
                ) * self.args.gradient_accumulation_steps
        self.state.init_training_references(self, max_steps, num_train_epochs, trial)
        return epochs_trained, batches_to_skip

    def _prepare_for_training(self, max_steps, train_dataloader, checkpoint):
        self._drop_created_scheduler()
        accelerator = self.accelerator
        if self.is_deepspeed_enabled:
            self.optimizer, self.lr_scheduler = self._deepspeed_init(max_steps)
        run = self._run
        # Decided once per run: the per-step gradient clipping reads it.
        run.accelerate_wrapped = self._needs_accelerate_wrapping()
        own_wrapper = self._wrap_model(self.model_wrapped)
        if own_wrapper is not self.model_wrapped:  # DataParallel or a subclass's own wrapper
            self.create_optimizer()
            if run.accelerate_wrapped:
                self.optimizer = accelerator.prepare(self.optimizer)
            model = own_wrapper
        elif run.accelerate_wrapped:
            if self.is_fsdp_enabled and not _is_fsdp2(accelerator):
                # FSDP1 flattens parameters: the optimizer must be built on the wrapped model.
                model = self.model = accelerator.prepare(self.model)
                self.create_optimizer(model)
                self.optimizer = accelerator.prepare(self.optimizer)
            elif self.is_deepspeed_enabled and type(self.lr_scheduler).__name__ == "DummyScheduler":
                model, self.optimizer, self.lr_scheduler = accelerator.prepare(
                    self.model, self.optimizer, self.lr_scheduler
                )
            else:
                self.create_optimizer()
                model, self.optimizer = accelerator.prepare(self.model, self.optimizer)
                if self.is_fsdp_enabled:
                    self.model = model
        else:
            self.create_optimizer()
            model = self.model
        self.create_scheduler(num_training_steps=max_steps)
        self.model_wrapped = model
        self._mark_model_prepared()
        if self.is_deepspeed_enabled:
            self.deepspeed = model
        return self._configure_run(model, train_dataloader, checkpoint)

    def _configure_run(self, model, train_dataloader, checkpoint):
        """Load the checkpoint's optimizer/schedule/scaler and set the flags one run reads."""
        if checkpoint is not None:
            if self.is_deepspeed_enabled or self.is_fsdp_enabled:
                self._load_from_checkpoint(checkpoint, model)
            self._load_optimizer_and_scheduler(checkpoint)
            self._load_scaler(checkpoint)
        run = self._run
        run.gradient_divisor = gradient_divisor(
            saved_layout(run.data_states), self.args.gradient_accumulation_steps
        )
        run.scheduler_per_update = not isinstance(
            self.lr_scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau
        )
        run.count_flos = self._model_estimates_flos()
        run.count_tokens = str(self.args.include_num_input_tokens_seen) not in ("no", "False")
        run.fused_backward = _fused_backward_optimizer(self.optimizer, self.args)
        handler = self.callback_handler
        handler.model, handler.optimizer, handler.lr_scheduler = (
            self.model,
            self.optimizer,
            self.lr_scheduler,
        )
        handler.train_dataloader = train_dataloader
        return model

    def _deepspeed_init(self, max_steps: int) -> tuple:
        """Finish the DeepSpeed config and choose optimizer and schedule (see ``deepspeed_setup``)."""
        from .deepspeed_setup import deepspeed_init

        return deepspeed_init(self, num_training_steps=max_steps)

    def _needs_accelerate_wrapping(self) -> bool:
        accelerator = self.accelerator
        return (
            accelerator.num_processes > 1
            or self.is_deepspeed_enabled
            or self.is_fsdp_enabled
            or accelerator.mixed_precision != "no"
            or getattr(accelerator, "scaler", None) is not None
        )

    def _log_run_header(
        self, num_examples, epochs, updates_per_epoch, total_batch_size, max_steps, model
    ) -> None:
        logger.info("***** Running training *****")
        logger.info("  Num examples = %s", f"{num_examples:,}")
        logger.info("  Num Epochs = %s", f"{epochs:,}")
        logger.info("  Num update steps per epoch = %s", f"{updates_per_epoch:,}")
        logger.info(
            "  Instantaneous batch size per device = %s",
            f"{self.args.per_device_train_batch_size:,}",
        )
        logger.info(
            "  Total train batch size (w. parallel, distributed & accumulation) = %s",
            f"{total_batch_size:,}",
        )
        logger.info("  Gradient Accumulation steps = %s", self.args.gradient_accumulation_steps)
        logger.info("  Total optimization steps = %s", f"{max_steps:,}")
        logger.info(
            "  Number of trainable parameters = %s", f"{self.get_num_trainable_parameters():,}"
        )


def _is_fsdp2(accelerator) -> bool:
    plugin = getattr(accelerator.state, "fsdp_plugin", None)
    return getattr(plugin, "fsdp_version", 1) == 2


def _fused_backward_optimizer(optimizer, args):
    """The LOMO/AdaLomo optimizer that updates parameters inside its own backward, or None."""
    if option_name(args.optim) not in ("lomo", "adalomo"):
        return None
    inner = getattr(optimizer, "optimizer", optimizer)  # accelerate's AcceleratedOptimizer
    return inner if callable(getattr(inner, "fused_backward", None)) else None
