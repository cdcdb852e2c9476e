"""DeepSpeed ZeRO-2 through ``trainer_loop.Trainer`` on CPU processes (gloo), run by
``test_dist_deepspeed.py``.

DeepSpeed 0.19 has a CPU accelerator and falls back to gloo without oneCCL, so ZeRO-2 really runs
here: the engine shards optimizer states and gradients across the ranks. Two configs:

* ``trainer``: no optimizer/scheduler sections, so the trainer's AdamW and linear schedule are
  handed to DeepSpeed (``zero_allow_untested_optimizer``);
* ``deepspeed``: DeepSpeed builds AdamW (``torch_adam``) and ``WarmupDecayLR`` from the config,
  every hyper-parameter ``"auto"`` and filled from the arguments.

Each trains, writes checkpoints (DeepSpeed's ``global_step*`` folder beside the trainer files),
then a fresh trainer resumes from a mid-epoch checkpoint. Rank 0 writes ``ROOT/ds.pt``.
Usage (every rank): ``python dist_deepspeed_worker.py ROOT``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

import torch  # noqa: E402
from helpers.launch import worker_done  # noqa: E402
from helpers.models import TinyMLP, classification_data  # noqa: E402
from trainer_args import TrainingArguments  # noqa: E402
from trainer_loop import Trainer  # noqa: E402

GLOBAL_BATCH = 8
RESUME_FROM = 3  # mid-epoch: 8 optimizer steps per epoch

AUTO_SCHEDULE = {
    "type": "WarmupDecayLR",
    "params": {
        "warmup_min_lr": "auto",
        "warmup_max_lr": "auto",
        "warmup_num_steps": "auto",
        "total_num_steps": "auto",
    },
}
AUTO_OPTIMIZER = {
    "type": "AdamW",
    "params": {
        "lr": "auto",
        "betas": "auto",
        "eps": "auto",
        "weight_decay": "auto",
        "torch_adam": True,  # torch's AdamW: no compiled fused kernel needed
    },
}


def zero2_config(deepspeed_owns_optimizer: bool) -> dict:
    config = {
        "train_micro_batch_size_per_gpu": "auto",
        "train_batch_size": "auto",
        "gradient_accumulation_steps": "auto",
        "gradient_clipping": "auto",
        "bf16": {"enabled": "auto"},
        "zero_optimization": {"stage": 2, "reduce_bucket_size": "auto"},
    }
    if deepspeed_owns_optimizer:
        config["optimizer"] = AUTO_OPTIMIZER
        config["scheduler"] = AUTO_SCHEDULE
    return config


def make_args(
    output_dir: str | Path, world_size: int, deepspeed: dict | None, on_gpu: bool = False
) -> TrainingArguments:
    return TrainingArguments(
        output_dir=str(output_dir),
        per_device_train_batch_size=GLOBAL_BATCH // world_size,
        learning_rate=0.05,
        num_train_epochs=1,
        seed=7,
        report_to="none",
        disable_tqdm=True,
        optim="adamw_torch",
        save_strategy="steps",
        save_steps=RESUME_FROM,
        logging_steps=1,
        deepspeed=deepspeed,
        # Without a GPU accelerate only counts the processes when the backend is named.
        ddp_backend=None if on_gpu else "gloo",
    )


class TinyConfig:
    hidden_size = 32  # read to fill the "auto" ZeRO bucket sizes


def build_trainer(
    output_dir: Path, world_size: int, deepspeed: dict | None, on_gpu: bool = False
) -> Trainer:
    torch.manual_seed(0)
    model = TinyMLP()
    model.config = TinyConfig()
    return Trainer(
        model=model,
        args=make_args(output_dir, world_size, deepspeed, on_gpu),
        train_dataset=classification_data(n=64, seed=0),
    )


def weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def evaluate(trainer: Trainer) -> dict[str, float]:
    metrics = trainer.evaluate(classification_data(n=16, seed=1))
    return {k: v for k, v in metrics.items() if k in ("eval_loss", "epoch")}


def train_and_resume(
    root: Path, world_size: int, name: str, config: dict, on_gpu: bool = False
) -> dict:
    trainer = build_trainer(root / name, world_size, config, on_gpu)
    trainer.train()
    engine = trainer.model_wrapped
    result = {
        "eval": evaluate(trainer),
        "weights": weights(trainer.model),
        "model_wrapped_type": type(engine).__name__,
        "model_type": type(trainer.model).__name__,
        "zero_stage": engine.zero_optimization_stage(),
        "optimizer_type": type(trainer.optimizer).__name__,
        "scheduler_type": type(trainer.lr_scheduler).__name__,
        "config": trainer.accelerator.state.deepspeed_plugin.deepspeed_config,
        "learning_rates": [e["learning_rate"] for e in trainer.state.log_history if "loss" in e],
        "losses": [e["loss"] for e in trainer.state.log_history if "loss" in e],
    }
    resumed = build_trainer(root / f"{name}_resumed", world_size, config, on_gpu)
    resumed.train(resume_from_checkpoint=str(root / name / f"checkpoint-{RESUME_FROM}"))
    result["resumed_weights"] = weights(resumed.model)
    result["resumed_losses"] = [e["loss"] for e in resumed.state.log_history if "loss" in e]
    return result


def skip_shared_memory_kernel() -> None:
    """Use gloo's all-reduce instead of DeepSpeed's shared-memory CPU kernel.

    That kernel is only a speed-up, but it is compiled on first use (tens of seconds, and a C++
    toolchain), which a test should not depend on.
    """
    import deepspeed.comm.torch as deepspeed_torch_comm

    deepspeed_torch_comm.build_shm_op = lambda: None


def main() -> int:
    root = Path(sys.argv[1]).resolve()
    skip_shared_memory_kernel()
    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    results = {
        "trainer": train_and_resume(root, world_size, "trainer", zero2_config(False)),
        "deepspeed": train_and_resume(root, world_size, "deepspeed", zero2_config(True)),
    }
    if rank == 0:
        torch.save(results, root / "ds.pt")
    worker_done(rank)
    return 0


if __name__ == "__main__":
    sys.exit(main())
