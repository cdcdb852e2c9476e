"""``Trainer.train``: the training loop, read top to bottom.

``train`` resolves what to resume from, ``_inner_training_loop`` sets up the run and walks the
epochs, ``_run_epoch`` walks optimizer steps (each gathering ``gradient_accumulation_steps``
micro-batches) and ``_maybe_log_save_evaluate`` does whatever the callbacks asked for after a step.
The hot path does forward, backward and the optimizer step; everything else is gated on a flag.
Setting up a run (step counts, state, optimizer and schedule, wrapping) is in :mod:`.run_setup`;
what happens to one micro-batch (loss, backward, accumulation, clipping) is in :mod:`.steps`.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import torch
from trainer_dist import find_executable_batch_size

from ..callbacks.nonfinite import NonFiniteWatch
from ..checkpointing.background import wait_for_writer
from ..checkpointing.folders import resolve_resume_checkpoint
from ..hooks import overrides
from ..metrics import speed_metrics
from ..options import option_name
from ..reporting.throughput import add_throughput_metrics
from ..results import TRAINER_STATE_NAME, TrainOutput
from ..run import LossWindow, Run, RunPlan
from ..state import TrainerState
from ..steps.mixin import StepMixin
from .neftune import activate_neftune, deactivate_neftune
from .setup import RunSetupMixin

logger = logging.getLogger(__name__)


class TrainingLoopMixin(RunSetupMixin):
    """The ``train()`` entry point and the loop behind it (mixed into ``Trainer``)."""

    def _init_training(self) -> None:
        """No run yet (called once by ``Trainer.__init__``); ``train()`` builds one per call."""
        self._run: Run | None = None
        self.neftune_hook_handle: Any = None

    def train(
        self,
        resume_from_checkpoint: str | bool | None = None,
        trial: Any = None,
        ignore_keys_for_eval: list[str] | None = None,
    ) -> TrainOutput:
        """Train the model; ``resume_from_checkpoint`` is a checkpoint path, or True for the latest.

        Returns a ``TrainOutput(global_step, training_loss, metrics)``.
        """
        args = self.args
        wait_for_writer(self)  # a background checkpoint of an earlier run is whole before resuming
        self._memory_start("train")
        checkpoint = resolve_resume_checkpoint(resume_from_checkpoint, args.output_dir)
        self.is_in_train = True
        if self.model_init is not None:
            self._seed_everything()
            self.model = self.model_wrapped = self.call_model_init(trial)
            self.optimizer, self.lr_scheduler = None, None
            if self.place_model_on_device:
                self._move_model_to_device(self.model, args.device)
            self._forget_model_columns()
        elif (args.fp16_full_eval or args.bf16_full_eval) and not self.is_model_parallel:
            self.model = self.model.to(args.device)
        if args.gradient_checkpointing and hasattr(self.model, "gradient_checkpointing_enable"):
            self.model.gradient_checkpointing_enable(
                gradient_checkpointing_kwargs=args.gradient_checkpointing_kwargs
            )
        if self.neftune_noise_alpha is not None:
            self.neftune_hook_handle = activate_neftune(self.model, self.neftune_noise_alpha)
        self._hp_search_setup(trial)
        if checkpoint is not None:
            if not self.is_deepspeed_enabled and not self.is_fsdp_enabled:
                self._load_from_checkpoint(checkpoint)
            if args.auto_find_batch_size:
                saved = TrainerState.load_from_json(os.path.join(checkpoint, TRAINER_STATE_NAME))
                if saved.train_batch_size is not None:
                    self._train_batch_size = saved.train_batch_size
        inner = find_executable_batch_size(
            self._inner_training_loop, self._train_batch_size, args.auto_find_batch_size
        )
        try:
            return inner(
                args=args,
                resume_from_checkpoint=checkpoint,
                trial=trial,
                ignore_keys_for_eval=ignore_keys_for_eval,
            )
        finally:
            self._run = None  # the run's state lives exactly as long as the run

    def _inner_training_loop(
        self,
        batch_size=None,
        args=None,
        resume_from_checkpoint=None,
        trial=None,
        ignore_keys_for_eval=None,
    ) -> TrainOutput:
        if batch_size is not None and batch_size != self._train_batch_size:
            logger.info("Retrying with a per-device batch size of %d", batch_size)
            self._train_batch_size = batch_size
        train_dataloader = self.get_train_dataloader()
        plan = RunPlan(*self.set_initial_training_values(args, train_dataloader))
        run = self._run = Run(plan, trial, resume_from_checkpoint)
        run.epochs_trained, run.batches_to_skip = self._init_training_state(
            plan.max_steps,
            plan.updates_per_epoch,
            plan.num_train_epochs,
            resume_from_checkpoint,
            trial,
        )
        if resume_from_checkpoint is not None and self.state.global_step >= plan.max_steps:
            run.epochs_trained = plan.num_train_epochs  # finished already (warned in set-up)
        model = self._prepare_for_training(plan.max_steps, train_dataloader, resume_from_checkpoint)
        self._log_run_header(
            plan.num_examples,
            plan.num_train_epochs,
            plan.updates_per_epoch,
            plan.total_batch_size,
            plan.max_steps,
            model,
        )

        self._start_run(run, model)
        self.control = self.callback_handler.on_train_begin(args, self.state, self.control)
        if args.eval_on_start:
            self._evaluate(trial, ignore_keys_for_eval, skip_scheduler=True)

        for epoch in range(run.epochs_trained, plan.num_train_epochs):
            self.control = self.callback_handler.on_epoch_begin(args, self.state, self.control)
            resuming_here = epoch == run.epochs_trained and resume_from_checkpoint is not None
            self._run_epoch(
                model,
                epoch,
                train_dataloader,
                plan.steps_in_epoch,
                plan.updates_per_epoch,
                trial,
                ignore_keys_for_eval,
                run.start_time,
                resume_from_checkpoint if resuming_here else None,
                run.batches_to_skip if resuming_here else 0,
            )
            if self.control.should_training_stop:
                break
        return self._finalize_training(trial, plan.num_train_samples, run.start_time)

    def _start_run(self, run: Run, model) -> None:
        """Start the clock and the counts, the loss window (continued from the checkpoint's) and
        the non-finite watch; take the model's module and parameter lists afresh."""
        run.start_time = time.time()
        run.initial_tokens_seen = self.state.num_input_tokens_seen
        run.initial_total_flos = self.state.total_flos
        run.loss = LossWindow(
            self.args.device, self.state.global_step, self.args.logging_nan_inf_filter
        )
        saved_window = self._saved_loss_window(run.checkpoint) if run.checkpoint else None
        if saved_window is not None:
            run.loss.restore(saved_window)
        run.nonfinite = NonFiniteWatch(resumed_from=run.checkpoint)
        self._start_model_lists(
            model,
            lists_allowed=self.accelerator.num_processes == 1
            and not self.is_deepspeed_enabled
            and not self.is_fsdp_enabled,
        )

    def _run_epoch(
        self,
        model,
        epoch,
        dataloader,
        steps_in_epoch,
        updates_per_epoch,
        trial,
        ignore_keys_for_eval,
        start_time,
        resume_from_checkpoint,
        batches_to_skip,
    ) -> None:
        args = self.args
        accumulation = args.gradient_accumulation_steps
        handler = self.callback_handler
        if hasattr(dataloader, "set_epoch"):
            dataloader.set_epoch(epoch)
        elif hasattr(getattr(dataloader, "sampler", None), "set_epoch"):
            dataloader.sampler.set_epoch(epoch)
        if batches_to_skip > 0:  # restore the data position, else skip the consumed batches
            dataloader = self._resume_data_position(
                dataloader, resume_from_checkpoint, batches_to_skip
            )
        self._run.epoch_loader = dataloader
        # Creating the iterator draws from the global generator. A checkpoint taken at an epoch
        # boundary precedes that draw; one taken mid-epoch follows it.
        if resume_from_checkpoint is not None and batches_to_skip == 0:
            self._load_rng_state(resume_from_checkpoint)
        epoch_iterator = iter(dataloader)
        if resume_from_checkpoint is not None and batches_to_skip > 0:
            self._load_rng_state(resume_from_checkpoint)

        step = batches_to_skip - 1
        remainder = steps_in_epoch % accumulation or accumulation
        set_sync_gradients = self.accelerator.gradient_state._set_sync_gradients
        clip = args.max_grad_norm is not None and args.max_grad_norm > 0
        device = args.device
        run = self._run
        loss_window, nonfinite = run.loss, run.nonfinite
        grad_norm = learning_rate = None
        for update_step in range(batches_to_skip // accumulation, updates_per_epoch):
            num_batches = accumulation if update_step != updates_per_epoch - 1 else remainder
            batch_samples, num_items_in_batch = self.get_batch_samples(
                epoch_iterator, num_batches, device
            )
            run.accumulation = len(batch_samples)
            for i, inputs in enumerate(batch_samples):
                step += 1
                is_update = (step + 1) % accumulation == 0 or step + 1 == steps_in_epoch
                if step % accumulation == 0:
                    self.control = handler.on_step_begin(args, self.state, self.control)
                # accelerate's sync_gradients says whether this micro-batch ends an accumulation
                # cycle; subclasses (TRL) read it to act once per optimizer step.
                set_sync_gradients(is_update)
                with self._sync_context(model, last=i == len(batch_samples) - 1):
                    loss = self.training_step(model, inputs, num_items_in_batch)
                loss_value = loss_window.add(loss, self.state.global_step)
                if run.count_flos:
                    self.current_flos += float(self.floating_point_ops(inputs))
                if run.count_tokens:
                    self._track_num_input_tokens(inputs)
                if not is_update:
                    self.control = handler.on_substep_end(args, self.state, self.control)
                    continue
                grad_norm = self._clip_grad_norm(model) if clip else None
                grad_norm = self._get_grad_norm(model, grad_norm=grad_norm)
                nonfinite.observe(
                    loss if loss_value is None else loss_value,
                    grad_norm,
                    self.state.global_step + 1,
                )
                self.control = handler.on_pre_optimizer_step(args, self.state, self.control)
                self.optimizer.step()
                self.control = handler.on_optimizer_step(args, self.state, self.control)
                learning_rate = self._get_learning_rate()
                if run.scheduler_per_update and not self.accelerator.optimizer_step_was_skipped:
                    self.lr_scheduler.step()
                self._zero_grad(model)
                self.state.global_step += 1
                self.state.epoch = epoch + (step + 1) / steps_in_epoch
                self.control = handler.on_step_end(args, self.state, self.control)
                self._maybe_log_save_evaluate(
                    loss_window.running,
                    grad_norm,
                    model,
                    trial,
                    epoch,
                    ignore_keys_for_eval,
                    start_time,
                    learning_rate,
                )
                if self.control.should_epoch_stop or self.control.should_training_stop:
                    break
            if self.control.should_epoch_stop or self.control.should_training_stop:
                break
        if step < 0:
            logger.warning(
                "The epoch iterator yielded no batch; stopping at step %d. With an IterableDataset, "
                "max_steps may exceed the number of available samples.",
                self.state.global_step,
            )
            self.control.should_training_stop = True
        self.control = handler.on_epoch_end(args, self.state, self.control)
        self._maybe_log_save_evaluate(
            loss_window.running,
            grad_norm,
            model,
            trial,
            epoch,
            ignore_keys_for_eval,
            start_time,
            learning_rate,
        )

    def _maybe_log_save_evaluate(
        self,
        tr_loss,
        grad_norm,
        model,
        trial,
        epoch,
        ignore_keys_for_eval,
        start_time,
        learning_rate=None,
    ) -> None:
        """After an optimizer step: log, evaluate and save as the callbacks' ``control`` asks.

        ``tr_loss`` is the running loss since the last log (a tensor, zeroed in place when logged).
        """
        window = self._run.loss
        if self.control.should_log and self.state.global_step > window.last_logged_step:
            window_loss = self._gather_scalar(tr_loss)
            tr_loss.zero_()
            logs: dict[str, float] = {
                "loss": window_loss / (self.state.global_step - window.last_logged_step)
            }
            if grad_norm is not None:
                logs["grad_norm"] = (
                    grad_norm.item() if isinstance(grad_norm, torch.Tensor) else grad_norm
                )
            logs["learning_rate"] = (
                learning_rate if learning_rate is not None else self._get_learning_rate()
            )
            window.total += window_loss
            window.last_logged_step = self.state.global_step
            self.store_flos()
            self.log(logs, start_time)
            self._report_non_finite()
        if self.control.should_evaluate:
            metrics = self._evaluate(trial, ignore_keys_for_eval)
            is_new_best = self._determine_best_metric(metrics, trial)
            if option_name(self.args.save_strategy) == "best":
                self.control.should_save = is_new_best
        if self.control.should_save:
            self._save_checkpoint(model, trial)
            self.control = self.callback_handler.on_save(self.args, self.state, self.control)

    def _finalize_training(self, trial, num_train_samples, start_time) -> TrainOutput:
        wait_for_writer(self, release_buffers=True)  # background checkpoints are on disk
        window = self._run.loss
        window.total += self._gather_scalar(window.running)
        window.running.zero_()
        self._report_non_finite()
        train_loss = window.total / max(self.state.global_step, 0.001)
        metrics = speed_metrics(
            "train", start_time, num_samples=num_train_samples, num_steps=self.state.max_steps
        )
        self.store_flos()
        metrics["total_flos"] = self.state.total_flos
        metrics["train_loss"] = train_loss
        add_throughput_metrics(  # train_mfu, when the device's peak is known
            metrics,
            flos=self.state.total_flos - self._run.initial_total_flos,
            device=self.args.device,
            processes=self.accelerator.num_processes,
        )
        self._memory_stop("train", metrics)
        self.log(metrics)
        if self.args.load_best_model_at_end and self.state.best_model_checkpoint is not None:
            self._load_best_model()
        self._keep_only_best_when_limit_is_one(trial)
        self.control = self.callback_handler.on_train_end(self.args, self.state, self.control)
        self._finish_current_push()
        if self.neftune_noise_alpha is not None:
            deactivate_neftune(self.model, self.neftune_hook_handle)
        self.is_in_train = False
        return TrainOutput(self.state.global_step, train_loss, metrics)

    # ----------------------------------------------------------------------- per-step pieces

    def _report_non_finite(self) -> None:
        """Warn once about the run's first non-finite step and fire ``on_non_finite``."""
        step = self._run.nonfinite.take_report(self.state.global_step)
        if step is not None:
            self.control = self.callback_handler.on_non_finite(
                self.args, self.state, self.control, step=step
            )

    def _get_learning_rate(self) -> float:
        scheduler = self.lr_scheduler
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            return self.optimizer.param_groups[0]["lr"]
        try:
            return scheduler.get_last_lr()[0]
        except (AssertionError, AttributeError):
            return self.optimizer.param_groups[0]["lr"]

    def _gather_scalar(self, value: torch.Tensor) -> float:
        if self.accelerator.num_processes > 1:
            return self.accelerator.gather(value.detach().reshape(1)).mean().item()
        return value.item()

    def _model_estimates_flos(self) -> bool:
        return hasattr(self.model, "num_parameters") or overrides(
            self, "floating_point_ops", StepMixin
        )
