"""Section "resume": time from ``train()`` to the first resumed step on streaming data.

A ``datasets`` stream over 4 local parquet shards with a per-row map, batch 32, a tiny model. One
run of ours writes checkpoints at each point (rows consumed = step x 32); then ours and
transformers resume from the same checkpoints (transformers ignores ``data_state.json`` and
re-reads the consumed rows, as it does with its own checkpoints). Reported: seconds from the
``train()`` call to the end of the first resumed step, and the rows the map saw again.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from tools.bench.contenders import _quiet, trainer_api

BATCH = 32
MAPPED = {"rows": 0}


class _Regression(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.tensor(0.0))
        self.b = nn.Parameter(torch.tensor(0.0))

    def forward(self, input_x, labels=None):
        y = input_x * self.a + self.b
        return (nn.functional.mse_loss(y, labels), y)


def _shards(folder: str, rows: int, shards: int = 4) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    paths = []
    for shard in range(shards):
        n = math.ceil(rows / shards)
        x = rng.normal(size=n).astype(np.float32)
        y = (2.0 * x + 3.0 + rng.normal(scale=0.1, size=n)).astype(np.float32)
        path = os.path.join(folder, f"part-{shard:05d}.parquet")
        pq.write_table(pa.table({"input_x": x, "labels": y}), path)
        paths.append(path)
    return paths


def _row(row: dict) -> dict:
    MAPPED["rows"] += 1
    return {"input_x": math.tanh(row["input_x"]) + row["input_x"], "labels": row["labels"]}


def _stream(paths: list[str]):
    from datasets import load_dataset

    return load_dataset("parquet", data_files=paths, split="train", streaming=True).map(_row)


def _trainer(which: str, paths: list[str], out: str, max_steps: int, save_steps: int):
    Trainer, TrainerCallback, TrainingArguments = trainer_api(which)  # noqa: N806
    stamps: list[float] = []

    class Stamp(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            stamps.append(time.perf_counter())

    args = TrainingArguments(
        output_dir=out,
        per_device_train_batch_size=BATCH,
        max_steps=max_steps,
        save_strategy="steps",
        save_steps=save_steps,
        learning_rate=0.01,
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        seed=0,
    )
    model = _Regression()
    trainer = Trainer(model=model, args=args, train_dataset=_stream(paths), callbacks=[Stamp()])
    return trainer, stamps


def bench_resume(points: tuple[int, ...], rounds: int = 1) -> dict[str, Any]:
    """Resume cost at each number of consumed rows in ``points`` (multiples of 32)."""
    steps = [rows // BATCH for rows in points]
    every = math.gcd(*steps)
    result: dict[str, Any] = {"batch": BATCH, "shards": 4, "points": {}}
    with tempfile.TemporaryDirectory() as tmp, _quiet():
        paths = _shards(tmp, max(points) + 8 * BATCH)
        first = os.path.join(tmp, "first")
        trainer, _ = _trainer("ours", paths, first, max(steps), every)
        trainer.train()
        for rows, step in zip(points, steps):
            checkpoint = os.path.join(first, f"checkpoint-{step}")
            entry: dict[str, Any] = {"step": step}
            for which in ("ours", "transformers"):
                times, again = [], 0
                for r in range(rounds):
                    out = os.path.join(tmp, f"{which}-{step}-{r}")
                    trainer, stamps = _trainer(which, paths, out, step + 1, 10**9)
                    MAPPED["rows"] = 0
                    t0 = time.perf_counter()
                    trainer.train(resume_from_checkpoint=checkpoint)
                    times.append(stamps[0] - t0)
                    again = max(MAPPED["rows"] - BATCH, 0)
                entry[which] = {
                    "first_step_s": sorted(times)[len(times) // 2],
                    "rows_reread": again,
                }
            result["points"][str(rows)] = entry
    return result
