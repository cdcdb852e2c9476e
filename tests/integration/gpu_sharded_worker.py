"""FSDP (versions 1 and 2) and DeepSpeed ZeRO-2 on CUDA through ``trainer_loop.Trainer``: train,
checkpoint, resume. Run on every GPU rank by ``test_gpu_sharded.py``; rank 0 writes
``ROOT/gpu.pt``. accelerate enables FSDP only on GPUs (on CPU it falls back to DDP), so these
scenarios cannot run on the CPU-only CI.

Usage (every rank): ``python gpu_sharded_worker.py ROOT``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

import dist_deepspeed_worker as zero  # noqa: E402  (same folder, on sys.path as a script)
import torch  # noqa: E402
from helpers.launch import worker_done  # noqa: E402
from helpers.models import TinyMLP, classification_data  # noqa: E402
from trainer_args import TrainingArguments  # noqa: E402
from trainer_loop import Trainer  # noqa: E402

RESUME_FROM = 3


def build_fsdp_trainer(output_dir: Path, world_size: int, version: int) -> Trainer:
    torch.manual_seed(0)
    args = TrainingArguments(
        output_dir=str(output_dir),
        per_device_train_batch_size=8 // world_size,
        learning_rate=0.05,
        num_train_epochs=1,
        seed=7,
        report_to="none",
        disable_tqdm=True,
        save_strategy="steps",
        save_steps=RESUME_FROM,
        logging_steps=1,
        fsdp="full_shard",
        fsdp_config={"version": version},
    )
    return Trainer(model=TinyMLP(), args=args, train_dataset=classification_data(n=64, seed=0))


def full_weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    state = trainer.accelerator.get_state_dict(trainer.model_wrapped)  # a collective call
    return {k: v.detach().float().cpu().clone() for k, v in (state or {}).items()}


def fsdp_train_and_resume(root: Path, world_size: int, version: int) -> dict:
    name = f"fsdp{version}"
    trainer = build_fsdp_trainer(root / name, world_size, version)
    trainer.train()
    trainer.save_model()
    result = {
        "enabled": trainer.is_fsdp_enabled,
        "model_wrapped_type": type(trainer.model_wrapped).__name__,
        "weights": full_weights(trainer),
        "losses": [e["loss"] for e in trainer.state.log_history if "loss" in e],
    }
    resumed = build_fsdp_trainer(root / f"{name}_resumed", world_size, version)
    resumed.train(resume_from_checkpoint=str(root / name / f"checkpoint-{RESUME_FROM}"))
    result["resumed_weights"] = full_weights(resumed)
    result["resumed_losses"] = [e["loss"] for e in resumed.state.log_history if "loss" in e]
    return result


def main() -> int:
    root = Path(sys.argv[1]).resolve()
    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    results = {
        "fsdp1": fsdp_train_and_resume(root, world_size, 1),
        "fsdp2": fsdp_train_and_resume(root, world_size, 2),
        "zero2": zero.train_and_resume(
            root, world_size, "zero2", zero.zero2_config(False), on_gpu=True
        ),
    }
    if rank == 0:
        torch.save(results, root / "gpu.pt")
    worker_done(rank)
    return 0


if __name__ == "__main__":
    sys.exit(main())
