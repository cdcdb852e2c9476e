"""``trainer_loop.Trainer`` scenarios run in two CPU processes (gloo) and, for reference, in one.

``test_dist_trainer.py`` launches this file on two ranks and calls the same functions in its own
process with one rank. Both runs see the same global batches: the training sampler is seeded
identically on every rank and batch ``j`` of the shared index stream goes to rank ``j % 2``, so
step ``k`` on two ranks with 4 samples each covers exactly the 8 samples of step ``k`` of one
process with a batch of 8 (64 samples, so no batch is completed with repeated samples). DDP
averages the two ranks' mean-loss gradients, which equals the gradient of the 8-sample mean loss.

Usage (every rank): ``python dist_trainer_worker.py ROOT``. Rank 0 writes ``ROOT/dist.pt`` with
the results; every rank writes ``ROOT/writes_<rank>.json`` listing the files it wrote.
"""

from __future__ import annotations

import json
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
TRAIN_LEN = 64  # a multiple of GLOBAL_BATCH: no batch is completed with repeated samples
EVAL_ODD = 13  # not divisible by the world size: the gathered tail holds duplicates to drop
EVAL_EVEN = 12  # divisible by 2 but not by 2 x 4: the second rank's last batch is all padding
RESUME_FROM = 5  # mid-epoch (8 optimizer steps per epoch)


def make_args(output_dir: str | Path, world_size: int, **overrides) -> TrainingArguments:
    settings = dict(
        output_dir=str(output_dir),
        per_device_train_batch_size=GLOBAL_BATCH // world_size,
        per_device_eval_batch_size=4,
        learning_rate=0.05,
        num_train_epochs=2,
        seed=7,
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        optim="adamw_torch",
        save_strategy="steps",
        save_steps=RESUME_FROM,
        logging_steps=1,
        ddp_find_unused_parameters=False,
    )
    settings.update(overrides)
    return TrainingArguments(**settings)


def compute_metrics(prediction) -> dict[str, float]:
    logits, labels = prediction.predictions, prediction.label_ids
    return {
        "accuracy": float((logits.argmax(-1) == labels).mean()),
        "logit_mean": float(logits.mean()),
        "count": float(len(labels)),
    }


def eval_sets() -> dict[str, list]:
    return {
        "odd": classification_data(n=EVAL_ODD, seed=1),
        "even": classification_data(n=EVAL_EVEN, seed=2),
    }


def build_trainer(output_dir: str | Path, world_size: int, **overrides) -> Trainer:
    torch.manual_seed(0)
    return Trainer(
        model=TinyMLP(),
        args=make_args(output_dir, world_size, **overrides),
        train_dataset=classification_data(n=TRAIN_LEN, seed=0),
        eval_dataset=eval_sets(),
        compute_metrics=compute_metrics,
    )


def weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def without_speed(metrics: dict[str, float]) -> dict[str, float]:
    speed = ("_runtime", "_samples_per_second", "_steps_per_second")
    return {k: v for k, v in metrics.items() if not k.endswith(speed)}


def train_evaluate_predict(root: Path, world_size: int) -> dict:
    """Train, evaluate on both eval sets, predict on the odd one, save the final model."""
    trainer = build_trainer(root / "run", world_size)
    output = trainer.train()
    result = {
        "weights": weights(trainer.model),
        "train_loss": output.training_loss,
        "step_losses": [e["loss"] for e in trainer.state.log_history if "loss" in e],
        "model_type": type(trainer.model).__name__,
        "model_wrapped_type": type(trainer.model_wrapped).__name__,
        "metrics": without_speed(trainer.evaluate()),
    }
    prediction = trainer.predict(eval_sets()["odd"])
    result["predictions"] = torch.from_numpy(prediction.predictions)
    result["label_ids"] = torch.from_numpy(prediction.label_ids)
    result["predict_metrics"] = without_speed(prediction.metrics)
    trainer.save_model()
    return result


def train_with_accumulation(root: Path, world_size: int) -> dict[str, torch.Tensor]:
    """Two micro-batches per step; DDP must skip the all-reduce on the first (no_sync)."""
    trainer = build_trainer(
        root / "accumulation",
        world_size,
        per_device_train_batch_size=GLOBAL_BATCH // world_size // 2,
        gradient_accumulation_steps=2,
        save_strategy="no",
    )
    trainer.train()
    return weights(trainer.model)


def resume(root: Path, world_size: int) -> dict[str, torch.Tensor]:
    """Resume the run of :func:`train_evaluate_predict` from a mid-epoch checkpoint."""
    checkpoint = root / "run" / f"checkpoint-{RESUME_FROM}"
    trainer = build_trainer(root / "resumed", world_size)
    trainer.train(resume_from_checkpoint=str(checkpoint))
    return weights(trainer.model)


# ------------------------------------------------------------------------------ file writes


class WriteRecorder:
    """Records every file this process creates, renames into place or writes with torch/safetensors."""

    def __init__(self, root: Path):
        self.root = str(root)
        self.paths: list[str] = []

    def note(self, path) -> None:
        if isinstance(path, (str, os.PathLike)):
            path = os.path.abspath(os.fspath(path))
            if path.startswith(self.root):
                self.paths.append(os.path.relpath(path, self.root))

    def install(self) -> None:
        import safetensors.torch

        def audit(event: str, args: tuple) -> None:
            if event == "open" and args and _opens_for_writing(args):
                self.note(args[0])
            elif event == "os.rename":
                self.note(args[1])
            elif event == "os.mkdir" and not os.path.exists(args[0]):
                # (os.makedirs(exist_ok=True) fires the event for existing folders too)
                self.note(args[0])

        sys.addaudithook(audit)
        self._wrap(torch, "save")
        self._wrap(safetensors.torch, "save_file")

    def _wrap(self, module, name: str) -> None:
        original = getattr(module, name)

        def wrapper(obj, path, *args, **kwargs):
            self.note(path)
            return original(obj, path, *args, **kwargs)

        setattr(module, name, wrapper)


def _opens_for_writing(args: tuple) -> bool:
    # the "open" audit event carries (path, mode, flags); os.open gives mode=None
    mode = args[1] if len(args) > 1 else None
    flags = args[2] if len(args) > 2 else 0
    if isinstance(mode, str):
        return any(c in mode for c in "wax+")
    return bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))


def main() -> int:
    root = Path(sys.argv[1]).resolve()
    rank = int(os.environ["RANK"])
    world_size = int(os.environ["WORLD_SIZE"])
    recorder = WriteRecorder(root)
    recorder.install()
    results = {"ddp": train_evaluate_predict(root, world_size)}
    results["resumed_weights"] = resume(root, world_size)
    results["accumulation_weights"] = train_with_accumulation(root, world_size)
    if rank == 0:
        torch.save(results, root / "dist.pt")
    with open(root / f"writes_{rank}.json", "w", encoding="utf-8") as fh:
        json.dump(recorder.paths, fh)
    worker_done(rank)
    return 0


if __name__ == "__main__":
    sys.exit(main())
