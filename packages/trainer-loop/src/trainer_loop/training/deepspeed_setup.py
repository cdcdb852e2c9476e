"""DeepSpeed set-up at the start of ``train()``: finish the config, choose optimizer and schedule.

When the accelerator carries a DeepSpeed plugin, the values of its config that need the model or
the number of steps (``"auto"`` bucket sizes, ``total_num_steps``, ``warmup_num_steps``) are filled
just before ``accelerator.prepare``, and the optimizer/schedule handed to ``prepare`` are either
the trainer's own or accelerate placeholders for the ones the config declares (see
:func:`trainer_dist.deepspeed_optimizer_and_scheduler`).
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from trainer_dist import deepspeed_optimizer_and_scheduler, finalize_deepspeed_config

logger = logging.getLogger(__name__)


def deepspeed_init(trainer: Any, num_training_steps: int, inference: bool = False) -> tuple:
    """Finalize the DeepSpeed config of ``trainer.accelerator``; return ``(optimizer, scheduler)``.

    ``inference=True`` (evaluation without training, ZeRO-3 only) drops the optimizer and
    scheduler sections and returns ``(None, None)``.
    """
    args = trainer.args
    config = finalize_deepspeed_config(trainer.accelerator, args, trainer.model, num_training_steps)
    _match_deepspeed_log_level(args)
    if inference:
        stage = (config.get("zero_optimization") or {}).get("stage")
        if stage != 3:
            raise ValueError(
                "DeepSpeed inference without training needs ZeRO stage 3 in the config "
                f"(got stage {stage}); evaluate without DeepSpeed or switch the config to stage 3."
            )
        config.pop("optimizer", None)
        config.pop("scheduler", None)
        return None, None
    # A second train() must not reuse the optimizer DeepSpeed wrapped the first time.
    trainer.optimizer = None
    parameters = [p for p in trainer.model.parameters() if p.requires_grad]

    def create_scheduler(optimizer: Any) -> Any:
        # Called by accelerate once DeepSpeed has built the optimizer; a shallow copy keeps the
        # trainer's own lr_scheduler slot untouched (accelerate returns the wrapped schedule).
        clone = copy.copy(trainer)
        clone.lr_scheduler = None
        return clone.create_scheduler(num_training_steps=num_training_steps, optimizer=optimizer)

    return deepspeed_optimizer_and_scheduler(
        config, parameters, trainer.create_optimizer, create_scheduler
    )


def _match_deepspeed_log_level(args: Any) -> None:
    try:
        from deepspeed.utils import logger as deepspeed_logger
    except ImportError:  # accelerate already needs deepspeed for its plugin; nothing to adjust
        return
    level = getattr(args, "get_process_log_level", None)
    if callable(level):
        deepspeed_logger.setLevel(level())
