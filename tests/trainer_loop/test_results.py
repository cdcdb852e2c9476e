"""Result types, checkpoint constants and checkpoint lookup."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from trainer_loop import results
from trainer_loop.checkpointing.folders import get_last_checkpoint, sorted_checkpoints
from trainer_loop.results import (
    BestRun,
    EvalLoopOutput,
    EvalPrediction,
    HPSearchBackend,
    PredictionOutput,
    TrainOutput,
)


def test_constants_match_reference():
    assert {
        name: getattr(results, name)
        for name in (
            "TRAINING_ARGS_NAME",
            "TRAINER_STATE_NAME",
            "OPTIMIZER_NAME",
            "SCHEDULER_NAME",
            "SCALER_NAME",
            "FSDP_MODEL_NAME",
            "PREFIX_CHECKPOINT_DIR",
            "WEIGHTS_NAME",
            "SAFE_WEIGHTS_NAME",
            "SAFE_WEIGHTS_INDEX_NAME",
            "CONFIG_NAME",
        )
    } == {
        "TRAINING_ARGS_NAME": "training_args.bin",
        "TRAINER_STATE_NAME": "trainer_state.json",
        "OPTIMIZER_NAME": "optimizer.pt",
        "SCHEDULER_NAME": "scheduler.pt",
        "SCALER_NAME": "scaler.pt",
        "FSDP_MODEL_NAME": "pytorch_model_fsdp",
        "PREFIX_CHECKPOINT_DIR": "checkpoint",
        "WEIGHTS_NAME": "pytorch_model.bin",
        "SAFE_WEIGHTS_NAME": "model.safetensors",
        "SAFE_WEIGHTS_INDEX_NAME": "model.safetensors.index.json",
        "CONFIG_NAME": "config.json",
    }


def test_eval_prediction_unpacks_like_a_tuple():
    preds, labels = np.arange(3), np.ones(3)
    p = EvalPrediction(preds, labels)
    a, b = p
    assert a is preds and b is labels and len(p) == 2 and p[1] is labels
    with pytest.raises(IndexError):
        p[2]
    with pytest.raises(IndexError):
        p[-1]
    full = EvalPrediction(preds, labels, inputs="in", losses="loss")
    assert list(full) == [preds, labels, "in", "loss"]
    assert list(EvalPrediction(preds, labels, losses="loss")) == [preds, labels, "loss"]
    assert "losses" in repr(full)


def test_named_tuples_fields():
    assert EvalLoopOutput._fields == ("predictions", "label_ids", "metrics", "num_samples")
    assert PredictionOutput._fields == ("predictions", "label_ids", "metrics")
    assert TrainOutput._fields == ("global_step", "training_loss", "metrics")
    assert BestRun._fields == ("run_id", "objective", "hyperparameters", "run_summary")
    assert BestRun("1", 0.5, {}).run_summary is None
    step, loss, metrics = TrainOutput(10, 0.5, {"train_loss": 0.5})
    assert (step, loss, metrics) == (10, 0.5, {"train_loss": 0.5})


def test_hp_search_backend():
    assert [b.value for b in HPSearchBackend] == ["optuna", "ray", "wandb"]
    assert HPSearchBackend("optuna") is HPSearchBackend.OPTUNA == "optuna"
    with pytest.raises(ValueError, match="optuna"):
        HPSearchBackend("sigopt")


def make_checkpoints(folder, steps):
    for step in steps:
        os.makedirs(folder / f"checkpoint-{step}")
    (folder / "checkpoint-99999").write_text("a file, not a folder")
    os.makedirs(folder / "checkpoint-x")
    os.makedirs(folder / "checkpoint-7-tmp")


def test_get_last_checkpoint(tmp_path):
    assert get_last_checkpoint(tmp_path) is None
    make_checkpoints(tmp_path, [5, 40, 100])
    assert get_last_checkpoint(tmp_path) == os.path.join(tmp_path, "checkpoint-100")
    assert get_last_checkpoint(str(tmp_path)) == os.path.join(str(tmp_path), "checkpoint-100")


def test_sorted_checkpoints(tmp_path):
    assert sorted_checkpoints(tmp_path / "missing") == []
    make_checkpoints(tmp_path, [100, 5, 40, 20])
    names = [os.path.basename(p) for p in sorted_checkpoints(tmp_path)]
    assert names == ["checkpoint-5", "checkpoint-20", "checkpoint-40", "checkpoint-100"]
    best = os.path.join(tmp_path, "checkpoint-20")
    names = [os.path.basename(p) for p in sorted_checkpoints(tmp_path, best_model_checkpoint=best)]
    assert names == ["checkpoint-5", "checkpoint-40", "checkpoint-20", "checkpoint-100"]
    newest = os.path.join(tmp_path, "checkpoint-100")
    assert sorted_checkpoints(tmp_path, best_model_checkpoint=newest)[-1] == newest


def test_sorted_checkpoints_by_mtime(tmp_path):
    make_checkpoints(tmp_path, [1, 2, 3])
    now = time.time()
    for step, age in ((1, 10), (2, 30), (3, 20)):
        os.utime(tmp_path / f"checkpoint-{step}", (now - age, now - age))
    names = [os.path.basename(p) for p in sorted_checkpoints(tmp_path, use_mtime=True)]
    assert names == ["checkpoint-2", "checkpoint-3", "checkpoint-1"]
    for step in (1, 2, 3):  # indistinguishable times: falls back to step order
        os.utime(tmp_path / f"checkpoint-{step}", (now, now))
    names = [os.path.basename(p) for p in sorted_checkpoints(tmp_path, use_mtime=True)]
    assert names == ["checkpoint-1", "checkpoint-2", "checkpoint-3"]


def test_matches_transformers(tmp_path):
    tu = pytest.importorskip("transformers.trainer_utils")
    make_checkpoints(tmp_path, [3, 30, 12])
    best = os.path.join(tmp_path, "checkpoint-12")
    assert get_last_checkpoint(tmp_path) == tu.get_last_checkpoint(tmp_path)
    # transformers also lists "checkpoint-7-tmp" (its regex is not anchored); we skip such
    # half-written folders on purpose
    theirs = [p for p in tu.sort_checkpoints(tmp_path) if not p.endswith("-tmp")]
    assert sorted_checkpoints(tmp_path) == theirs
    assert len(tu.sort_checkpoints(tmp_path)) == len(theirs) + 1
    theirs = tu.sort_checkpoints(tmp_path, best_model_checkpoint=best)
    assert sorted_checkpoints(tmp_path, best_model_checkpoint=best) == [
        p for p in theirs if not p.endswith("-tmp")
    ]
    ours, theirs = EvalPrediction(1, 2, losses=3), tu.EvalPrediction(1, 2, losses=3)
    assert tuple(ours) == tuple(theirs)
    for name in ("EvalLoopOutput", "PredictionOutput", "TrainOutput", "BestRun"):
        assert getattr(results, name)._fields == getattr(tu, name)._fields
    assert [b.value for b in HPSearchBackend] == [b.value for b in tu.HPSearchBackend]
