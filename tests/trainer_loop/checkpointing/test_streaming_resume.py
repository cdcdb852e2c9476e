"""Resuming on streaming data restores the data position instead of reading the consumed rows."""

from __future__ import annotations

import json
import os

import pytest
import torch

pytest.importorskip("datasets")
pytest.importorskip("pyarrow")

from helpers.arguments import cpu_args  # noqa: E402
from helpers.models import RegressionModel  # noqa: E402
from helpers.streaming import MAPPED, stream, write_shards  # noqa: E402
from trainer import Trainer  # noqa: E402


def _train(tmp_path, paths, resume=None, out="out", **overrides):
    settings = dict(
        output_dir=str(tmp_path / out),
        max_steps=12,
        learning_rate=0.05,
        save_strategy="steps",
        save_steps=9,
        seed=3,
    )
    settings.update(overrides)
    trainer = Trainer(
        model=RegressionModel(), args=cpu_args(tmp_path, **settings), train_dataset=stream(paths)
    )
    MAPPED["rows"] = 0
    trainer.train(resume_from_checkpoint=resume)
    return trainer, MAPPED["rows"]


def _weights(trainer):
    return {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}


@pytest.mark.parametrize("workers", [0, 2])
def test_stream_resume_restores_position_and_ends_bitwise_equal(tmp_path, workers):
    paths = write_shards(tmp_path / "data")
    full, _ = _train(tmp_path, paths, dataloader_num_workers=workers)
    checkpoint = os.path.join(full.args.output_dir, "checkpoint-9")
    with open(os.path.join(checkpoint, "data_state.json")) as f:
        saved = json.load(f)
    assert saved["position"]["kind"] == ("dataset" if workers == 0 else "loader")
    assert saved["source"]["num_shards"] == 4

    resumed, mapped = _train(
        tmp_path, paths, resume=checkpoint, out="again", dataloader_num_workers=workers
    )
    for key, value in _weights(full).items():
        assert torch.equal(value, _weights(resumed)[key]), key
    if workers == 0:  # 3 steps of 4 rows remain: the 36 consumed rows are not mapped again
        assert mapped == 12


def test_checkpoint_without_data_state_skips_and_says_so(tmp_path, caplog):
    paths = write_shards(tmp_path / "data")
    full, _ = _train(tmp_path, paths)
    checkpoint = os.path.join(full.args.output_dir, "checkpoint-9")
    os.remove(os.path.join(checkpoint, "data_state.json"))  # as transformers writes them
    with caplog.at_level("INFO", logger="trainer_loop"):
        resumed, mapped = _train(tmp_path, paths, resume=checkpoint, out="again")
    assert mapped == 48
    assert "reading 36 examples again" in caplog.text
    for key, value in _weights(full).items():
        assert torch.equal(value, _weights(resumed)[key]), key


def test_data_state_of_other_files_is_refused(tmp_path):
    paths = write_shards(tmp_path / "data")
    full, _ = _train(tmp_path, paths)
    checkpoint = os.path.join(full.args.output_dir, "checkpoint-9")
    other = write_shards(tmp_path / "other", shards=3)
    with pytest.raises(ValueError, match="belongs to other training data .*shard count was 4"):
        _train(tmp_path, other, resume=checkpoint, out="again")


def test_map_style_checkpoints_record_the_batch_layout(tmp_path):
    from helpers.models import RegressionDataset

    args = cpu_args(tmp_path, max_steps=4, save_strategy="steps", save_steps=2)
    Trainer(model=RegressionModel(), args=args, train_dataset=RegressionDataset()).train()
    with open(os.path.join(args.output_dir, "checkpoint-2", "data_state.json")) as f:
        saved = json.load(f)
    assert saved["position"] is None
    assert (saved["world_size"], saved["per_device_batch"], saved["accumulation"]) == (1, 4, 1)


def test_background_checkpoints_hold_the_data_position(tmp_path):
    from trainer_loop import BackgroundCheckpointing

    paths = write_shards(tmp_path / "data")
    args = cpu_args(tmp_path, max_steps=4, save_strategy="steps", save_steps=3)
    trainer = Trainer(
        model=RegressionModel(),
        args=args,
        train_dataset=stream(paths),
        callbacks=[BackgroundCheckpointing()],
    )
    trainer.train()
    with open(os.path.join(args.output_dir, "checkpoint-3", "data_state.json")) as f:
        saved = json.load(f)
    assert saved["position"]["kind"] == "dataset" and saved["global_step"] == 3
