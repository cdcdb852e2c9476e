"""The per-worker function of ``test_ray_train_fault_tolerance.py`` (importable by Ray workers).

Two things a user adds to a Trainer script for Ray Train: ``prepare_trainer(trainer)`` and the
``RayTrainReportCallback``; and, to survive a restart, resuming from ``ray.train.get_checkpoint()``.
On the first attempt (no checkpoint yet) rank 1 dies abruptly after step ``die_at``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch


def train_loop(config: dict) -> None:
    import ray.train
    from helpers.arguments import cpu_args
    from helpers.models import TinyMLP, classification_data
    from ray.train.huggingface.transformers import RayTrainReportCallback, prepare_trainer
    from trainer_loop import Trainer, TrainerCallback

    class DieAtStep(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if (
                state.global_step == config["die_at"]
                and ray.train.get_context().get_world_rank() == 1
            ):
                time.sleep(5)  # the controller registers the checkpoint reported before
                os._exit(17)  # no clean-up, like a lost node

    checkpoint = ray.train.get_checkpoint()
    callbacks = [RayTrainReportCallback()]
    if checkpoint is None and config["die_at"]:
        callbacks.append(DieAtStep())
    args = cpu_args(
        Path(config["output_dir"]),
        output_dir=config["output_dir"],
        max_steps=config["max_steps"],
        learning_rate=0.05,
        seed=5,
        save_strategy="steps",
        save_steps=config["save_steps"],
        ddp_find_unused_parameters=False,
    )
    torch.manual_seed(0)
    trainer = Trainer(
        model=TinyMLP(), args=args, train_dataset=classification_data(64), callbacks=callbacks
    )
    trainer = prepare_trainer(trainer)
    if checkpoint is None:
        trainer.train()
    else:
        with checkpoint.as_directory() as folder:
            trainer.train(
                resume_from_checkpoint=os.path.join(folder, RayTrainReportCallback.CHECKPOINT_NAME)
            )
    if ray.train.get_context().get_world_rank() == 0:
        torch.save(trainer.model.state_dict(), os.path.join(config["output_dir"], "final.pt"))
