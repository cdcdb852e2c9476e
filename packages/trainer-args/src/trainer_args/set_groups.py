"""The ``set_*`` convenience methods: each sets one group of related fields and returns ``self``."""

from __future__ import annotations

import logging
from typing import Any

from ._coerce import to_enum
from ._errors import invalid_value
from .enums import HubStrategy, IntervalStrategy, OptimizerNames, SaveStrategy, SchedulerType

logger = logging.getLogger("trainer_args")


def _positive_steps(strategy: Any, steps: Any) -> None:
    if strategy == IntervalStrategy.STEPS and steps == 0:
        raise invalid_value("steps", steps, "strategy='steps' needs a positive number of steps")


class SetGroupsMixin:
    """Grouped setters mirroring ``transformers.TrainingArguments.set_*``."""

    def set_training(
        self,
        learning_rate: float = 5e-5,
        batch_size: int = 8,
        weight_decay: float = 0,
        num_epochs: float = 3,
        max_steps: int = -1,
        gradient_accumulation_steps: int = 1,
        seed: int = 42,
        gradient_checkpointing: bool = False,
    ):
        """Set the basic training hyperparameters and turn ``do_train`` on."""
        self.do_train = True
        self.learning_rate = learning_rate
        self.per_device_train_batch_size = batch_size
        self.weight_decay = weight_decay
        self.num_train_epochs = num_epochs
        self.max_steps = max_steps
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.seed = seed
        self.gradient_checkpointing = gradient_checkpointing
        return self

    def set_evaluate(
        self,
        strategy: str | IntervalStrategy = "no",
        steps: int = 500,
        batch_size: int = 8,
        accumulation_steps: int | None = None,
        delay: float | None = None,
        loss_only: bool = False,
    ):
        """Set the evaluation schedule; ``do_eval`` follows whether ``strategy`` is not ``"no"``."""
        self.eval_strategy = to_enum("strategy", strategy, IntervalStrategy)
        _positive_steps(self.eval_strategy, steps)
        self.do_eval = self.eval_strategy != IntervalStrategy.NO
        self.eval_steps = steps
        self.per_device_eval_batch_size = batch_size
        self.eval_accumulation_steps = accumulation_steps
        self.eval_delay = delay
        self.prediction_loss_only = loss_only
        return self

    def set_testing(self, batch_size: int = 8, loss_only: bool = False):
        """Set the prediction batch size and turn ``do_predict`` on."""
        self.do_predict = True
        self.per_device_eval_batch_size = batch_size
        self.prediction_loss_only = loss_only
        return self

    def set_save(
        self,
        strategy: str | IntervalStrategy = "steps",
        steps: int = 500,
        total_limit: int | None = None,
        on_each_node: bool = False,
    ):
        """Set the checkpoint schedule."""
        self.save_strategy = to_enum("strategy", strategy, SaveStrategy)
        _positive_steps(self.save_strategy, steps)
        self.save_steps = steps
        self.save_total_limit = total_limit
        self.save_on_each_node = on_each_node
        return self

    def set_logging(
        self,
        strategy: str | IntervalStrategy = "steps",
        steps: int = 500,
        report_to: str | list[str] = "none",
        level: str = "passive",
        first_step: bool = False,
        nan_inf_filter: bool = False,
        on_each_node: bool = False,
        replica_level: str = "passive",
    ):
        """Set the logging schedule, levels and reporting integrations (stored as given, like transformers)."""
        self.logging_strategy = to_enum("strategy", strategy, IntervalStrategy)
        _positive_steps(self.logging_strategy, steps)
        self.logging_steps = steps
        self.report_to = report_to
        self.log_level = level
        self.logging_first_step = first_step
        self.logging_nan_inf_filter = nan_inf_filter
        self.log_on_each_node = on_each_node
        self.log_level_replica = replica_level
        return self

    def set_push_to_hub(
        self,
        model_id: str,
        strategy: str | HubStrategy = "every_save",
        token: str | None = None,
        private_repo: bool | None = None,
        always_push: bool = False,
        revision: str | None = None,
    ):
        """Turn ``push_to_hub`` on and set the repository, strategy and credentials."""
        self.push_to_hub = True
        self.hub_model_id = model_id
        self.hub_strategy = to_enum("strategy", strategy, HubStrategy)
        self.hub_token = token
        self.hub_private_repo = private_repo
        self.hub_always_push = always_push
        self.hub_revision = revision
        return self

    def set_optimizer(
        self,
        name: str | OptimizerNames = "adamw_torch",
        learning_rate: float = 5e-5,
        weight_decay: float = 0,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
        args: str | None = None,
    ):
        """Set the optimizer and its hyperparameters."""
        self.optim = to_enum("name", name, OptimizerNames)
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.adam_beta1 = beta1
        self.adam_beta2 = beta2
        self.adam_epsilon = epsilon
        self.optim_args = args
        return self

    def set_lr_scheduler(
        self,
        name: str | SchedulerType = "linear",
        num_epochs: float = 3.0,
        max_steps: int = -1,
        warmup_steps: float = 0,
        warmup_ratio: float | None = None,
    ):
        """Set the schedule, training length and warmup (``warmup_ratio`` is a deprecated alias)."""
        if warmup_ratio is not None:
            logger.warning("warmup_ratio is deprecated; pass the fraction as warmup_steps instead.")
            warmup_steps = warmup_ratio
        if warmup_steps < 0:
            raise invalid_value(
                "warmup_steps", warmup_steps, "expected a step count >= 0 or a fraction in [0, 1)"
            )
        self.lr_scheduler_type = to_enum("name", name, SchedulerType)
        self.num_train_epochs = num_epochs
        self.max_steps = max_steps
        self.warmup_steps = warmup_steps
        return self

    def set_dataloader(
        self,
        train_batch_size: int = 8,
        eval_batch_size: int = 8,
        drop_last: bool = False,
        num_workers: int = 0,
        pin_memory: bool = True,
        persistent_workers: bool = False,
        prefetch_factor: int | None = None,
        auto_find_batch_size: bool = False,
        ignore_data_skip: bool = False,
        sampler_seed: int | None = None,
    ):
        """Set the data-loader options; ``sampler_seed`` is stored as ``data_seed``."""
        self.per_device_train_batch_size = train_batch_size
        self.per_device_eval_batch_size = eval_batch_size
        self.dataloader_drop_last = drop_last
        self.dataloader_num_workers = num_workers
        self.dataloader_pin_memory = pin_memory
        self.dataloader_persistent_workers = persistent_workers
        self.dataloader_prefetch_factor = prefetch_factor
        self.auto_find_batch_size = auto_find_batch_size
        self.ignore_data_skip = ignore_data_skip
        self.data_seed = sampler_seed
        return self
