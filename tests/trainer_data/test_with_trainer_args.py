"""The builders read the sibling package's TrainingArguments."""

from __future__ import annotations

import pytest
import torch

trainer_args = pytest.importorskip("trainer_args")

from trainer_data import build_eval_dataloader, build_train_dataloader, skip_first_batches  # noqa: E402


def test_builders_with_trainer_args(tmp_path):
    args = trainer_args.TrainingArguments(
        output_dir=str(tmp_path),
        per_device_train_batch_size=3,
        per_device_eval_batch_size=6,
        seed=5,
        dataloader_drop_last=True,
    )
    data = [{"x": float(i), "label": i % 2} for i in range(20)]
    train = build_train_dataloader(data, None, args)
    assert len(train) == 6 and all(b["x"].shape == (3,) for b in train)
    train.set_epoch(0)
    perm = torch.randperm(20, generator=torch.Generator().manual_seed(5)).tolist()
    assert [int(v) for b in train for v in b["x"]] == perm[:18]
    resumed = skip_first_batches(train, 4)
    resumed.set_epoch(0)
    assert [int(v) for b in resumed for v in b["x"]] == perm[12:18]
    evals = build_eval_dataloader(data, None, args)
    assert [len(b["x"]) for b in evals] == [6, 6, 6]
