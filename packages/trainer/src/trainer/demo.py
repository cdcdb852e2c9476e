"""The second demo (``trainer demo moons``): a small classifier on the two-moons points.

The points ship inside the package (``trainer/data/moons.csv``), so the demo runs from an
installed wheel as well as from the repository.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "data" / "moons.csv"


def load_moons(path: str | os.PathLike = DATA_FILE):
    """The CSV as a ``datasets.Dataset`` split 80/20 (the text column is dropped by the Trainer)."""
    import datasets

    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    columns = {
        "features": [[float(r["x"]), float(r["y"])] for r in rows],
        "note": [r["note"] for r in rows],
        "labels": [int(r["label"]) for r in rows],
    }
    split = datasets.Dataset.from_dict(columns).train_test_split(test_size=0.2, seed=0)
    return split["train"], split["test"]


def build_model(hidden: int = 64):
    """A two-layer MLP returning ``{"loss", "logits"}``."""
    import torch
    from torch import nn

    class MoonsClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(
                nn.Linear(2, hidden),
                nn.GELU(),
                nn.Linear(hidden, hidden),
                nn.GELU(),
                nn.Linear(hidden, 2),
            )

        def forward(self, features, labels=None):
            logits = self.net(features)
            if labels is None:
                return {"logits": logits}
            return {"loss": nn.functional.cross_entropy(logits, labels), "logits": logits}

    torch.manual_seed(0)
    return MoonsClassifier()


def accuracy(prediction) -> dict[str, float]:
    """Share of points whose most likely class is the label."""
    predicted = prediction.predictions.argmax(-1)
    return {"accuracy": float((predicted == prediction.label_ids).mean())}


def run(
    args=None, output_dir: str = "output/moons", max_steps: int | None = None
) -> dict[str, float]:
    """Train, evaluate and save; returns the final evaluation metrics."""
    from trainer import Trainer, TrainingArguments

    if args is None:
        args = TrainingArguments(
            output_dir=output_dir,
            num_train_epochs=8,
            max_steps=-1 if max_steps is None else max_steps,
            per_device_train_batch_size=32,
            learning_rate=3e-3,
            eval_strategy="epoch",
            save_strategy="epoch",
            save_total_limit=2,
            load_best_model_at_end=True,
            metric_for_best_model="accuracy",
            logging_steps=25,
            report_to="none",
            optim="adamw_torch",
        )
    train, test = load_moons()
    trainer = Trainer(
        model=build_model(),
        args=args,
        train_dataset=train,
        eval_dataset=test,
        compute_metrics=accuracy,
    )
    result = trainer.train()
    trainer.log_metrics("train", result.metrics)
    metrics = trainer.evaluate()
    trainer.log_metrics("eval", metrics)
    trainer.save_model()
    trainer.save_metrics("all", {**result.metrics, **metrics})
    print(f"\nCheckpoints and the final model are in {args.output_dir}")
    print(f"best checkpoint: {trainer.state.best_model_checkpoint}")
    return metrics
