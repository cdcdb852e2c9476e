"""Resuming on another number of processes: the two-process side (gloo on CPU).

``test_resume_other_world.py`` runs the one-process side in its own process and launches this
file on two ranks: ``python resume_world_worker.py ROOT``. The two ranks train without a break
(``ROOT/two``, checkpoint at step 13, mid-epoch; ``ROOT/two_items`` with a model that
divides by ``num_items_in_batch``), then resume the one-process checkpoint
``ROOT/one/checkpoint-13`` (``ROOT/two_from_one``), and, on a streaming dataset split by shards,
try to resume a one-process stream checkpoint (``ROOT/stream_one/checkpoint-3``). Rank 0 saves the
weights in ``ROOT/two.pt``. Global batch 16 everywhere: 8 per device x 2 processes, or 8 x 2
accumulation steps on one process, which (as in transformers) halves each step's gradient: the
resume rescales the optimizer's moments to follow.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

import torch  # noqa: E402
from helpers.arguments import cpu_args  # noqa: E402
from helpers.launch import worker_done  # noqa: E402
from helpers.models import TinyMLP, classification_data  # noqa: E402
from trainer_loop import Trainer  # noqa: E402

PER_DEVICE = 8
TRAIN_LEN = 160  # 10 optimizer steps of 16 per epoch
STOP_AT = 13  # mid-way through the second epoch


class ItemsMLP(TinyMLP):
    """Takes ``num_items_in_batch`` and divides its summed loss by it, as transformers' models do."""

    def forward(self, x, labels=None, num_items_in_batch=None, **kwargs):
        logits = self.net(x)
        if labels is None:
            return {"logits": logits}
        loss = torch.nn.functional.cross_entropy(logits, labels, reduction="sum")
        return {"loss": loss / num_items_in_batch, "logits": logits}


MODELS = {"plain": TinyMLP, "items": ItemsMLP}


def train(
    output_dir, world_size: int, resume=None, model: str = "plain", **overrides
) -> dict[str, torch.Tensor]:
    settings = dict(
        output_dir=str(output_dir),
        per_device_train_batch_size=PER_DEVICE,
        gradient_accumulation_steps=2 // world_size,
        num_train_epochs=2,
        learning_rate=0.05,
        seed=7,
        save_strategy="steps",
        save_steps=STOP_AT,
        ddp_find_unused_parameters=False,
    )
    args = cpu_args(Path(output_dir), **{**settings, **overrides})
    torch.manual_seed(0)
    trainer = Trainer(
        model=MODELS[model](), args=args, train_dataset=classification_data(TRAIN_LEN)
    )
    trainer.train(resume_from_checkpoint=None if resume is None else str(resume))
    return _weights(trainer)


def _weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}


def stream_refusal(root: Path) -> str:
    """The error of a 2-process resume from a 1-process checkpoint of a stream split by shards."""
    from helpers.models import RegressionModel
    from helpers.streaming import stream

    paths = sorted(str(p) for p in (root / "shards").glob("*.parquet"))
    args = cpu_args(root, output_dir=str(root / "stream_two"), max_steps=6)
    trainer = Trainer(model=RegressionModel(), args=args, train_dataset=stream(paths))
    try:
        trainer.train(resume_from_checkpoint=str(root / "stream_one" / "checkpoint-3"))
    except ValueError as error:
        return str(error)
    return ""


def train_stream(root: Path, name: str, world_size: int, resume=None) -> dict:
    """A one-shard stream (split by examples across processes), global batch 4."""
    from helpers.models import RegressionModel
    from helpers.streaming import stream

    paths = sorted(str(p) for p in (root / "one_shard").glob("*.parquet"))
    args = cpu_args(
        root,
        output_dir=str(root / name),
        per_device_train_batch_size=4 // world_size,
        max_steps=6,
        learning_rate=0.05,
        seed=3,
        save_strategy="steps",
        save_steps=3,
        ddp_find_unused_parameters=False,
    )
    trainer = Trainer(model=RegressionModel(), args=args, train_dataset=stream(paths))
    trainer.train(resume_from_checkpoint=None if resume is None else str(resume))
    return _weights(trainer)


def main() -> int:
    root = Path(sys.argv[1]).resolve()
    rank = int(os.environ["RANK"])
    results = {
        "two": train(root / "two", 2),
        "two_items": train(root / "two_items", 2, model="items"),
        "two_from_one": train(root / "two_from_one", 2, resume=root / "one" / "checkpoint-13"),
        "stream_refusal": stream_refusal(root),
        "stream_two_from_one": train_stream(
            root, "stream_two_from_one", 2, resume=root / "stream1_one" / "checkpoint-3"
        ),
    }
    if rank == 0:
        torch.save(results, root / "two.pt")
    worker_done(rank)
    return 0


if __name__ == "__main__":
    sys.exit(main())
