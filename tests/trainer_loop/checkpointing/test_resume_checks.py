"""Checkpoints are checked before resuming: kill -9 during a save, half-written folders, damaged files."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap

import pytest
from helpers.arguments import cpu_args
from helpers.models import RegressionDataset, RegressionModel
from trainer_loop import Trainer, TrainerCallback
from trainer_loop.checkpointing.checks import checkpoint_problems, inexact_resume_files
from trainer_loop.checkpointing.folders import resolve_resume_checkpoint

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Steps(TrainerCallback):
    def __init__(self):
        self.steps = []

    def on_step_end(self, args, state, control, **kwargs):
        self.steps.append(state.global_step)


def _trainer(tmp_path, callbacks=None, **overrides):
    settings = dict(max_steps=6, save_strategy="steps", save_steps=2, logging_steps=1)
    settings.update(overrides)
    return Trainer(
        model=RegressionModel(),
        args=cpu_args(tmp_path, **settings),
        train_dataset=RegressionDataset(length=64),
        callbacks=callbacks,
    )


def test_kill_during_a_save_then_resume_true_uses_the_previous_checkpoint(tmp_path):
    script = textwrap.dedent(
        f"""
        import os, pathlib, signal, sys
        sys.path.insert(0, {TESTS_DIR!r})
        from helpers.arguments import cpu_args
        from helpers.models import RegressionDataset, RegressionModel
        from trainer_loop import Trainer
        from trainer_loop.checkpointing.saving import SavingMixin

        original = SavingMixin._save_rng_state

        def dying(self, output_dir):
            if self.state.global_step == 4:
                os.kill(os.getpid(), signal.SIGKILL)  # the optimizer is written, the rest is not
            original(self, output_dir)

        SavingMixin._save_rng_state = dying
        args = cpu_args(pathlib.Path({str(tmp_path)!r}), max_steps=6, save_strategy="steps", save_steps=2)
        Trainer(model=RegressionModel(), args=args, train_dataset=RegressionDataset(length=64)).train()
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == -9, done.stderr[-2000:]
    out = tmp_path / "out"
    assert (out / "checkpoint-2").is_dir() and not (out / "checkpoint-4").exists()

    steps = Steps()
    trainer = _trainer(tmp_path, [steps])
    trainer.train(resume_from_checkpoint=True)
    assert steps.steps == [3, 4, 5, 6]
    assert (out / "checkpoint-6").is_dir()


def test_a_half_written_newest_folder_is_skipped_with_a_warning(tmp_path, caplog):
    _trainer(tmp_path, max_steps=4).train()
    out = tmp_path / "out"
    # what a writer without atomic saves leaves behind when killed: weights, nothing else
    partial = out / "checkpoint-6"
    partial.mkdir()
    (partial / "model.safetensors").write_bytes(
        (out / "checkpoint-4" / "model.safetensors").read_bytes()[:40]
    )
    steps = Steps()
    with caplog.at_level(logging.WARNING):
        _trainer(tmp_path, [steps]).train(resume_from_checkpoint=True)
    assert steps.steps == [5, 6]
    skipped = [r.getMessage() for r in caplog.records if "Skipping checkpoint" in r.getMessage()]
    assert len(skipped) == 1 and "checkpoint-6" in skipped[0]
    assert "trainer_state.json is missing" in skipped[0]
    assert "model.safetensors is damaged or truncated" in skipped[0]


def test_resume_by_path_without_trainer_state_is_an_error(tmp_path):
    _trainer(tmp_path, max_steps=2).train()
    folder = tmp_path / "out" / "checkpoint-2"
    (folder / "trainer_state.json").unlink()
    with pytest.raises(ValueError, match=r"checkpoint-2.*trainer_state\.json is missing"):
        _trainer(tmp_path).train(resume_from_checkpoint=str(folder))


def test_no_usable_checkpoint_lists_what_was_skipped(tmp_path):
    _trainer(tmp_path, max_steps=2).train()
    (tmp_path / "out" / "checkpoint-2" / "trainer_state.json").write_text("[1, 2")
    with pytest.raises(ValueError, match=r"no valid checkpoint.*Skipped: checkpoint-2 \(trainer"):
        resolve_resume_checkpoint(True, str(tmp_path / "out"))


def test_sharded_and_adapter_checkpoints_are_usable(tmp_path):
    import torch
    from safetensors.torch import save_file

    folder = tmp_path / "checkpoint-1"
    folder.mkdir()
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": 1}))
    save_file({"w": torch.zeros(3)}, str(folder / "model-00001-of-00002.safetensors"))
    save_file({"b": torch.zeros(2)}, str(folder / "model-00002-of-00002.safetensors"))
    index = {
        "weight_map": {
            "w": "model-00001-of-00002.safetensors",
            "b": "model-00002-of-00002.safetensors",
        }
    }
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    assert checkpoint_problems(str(folder)) == []
    os.remove(folder / "model-00002-of-00002.safetensors")
    assert checkpoint_problems(str(folder)) == [
        "model-00002-of-00002.safetensors (listed in model.safetensors.index.json) is missing"
    ]

    adapter = tmp_path / "checkpoint-2"
    adapter.mkdir()
    (adapter / "trainer_state.json").write_text(json.dumps({"global_step": 2}))
    save_file({"lora_A": torch.zeros(2, 2)}, str(adapter / "adapter_model.safetensors"))
    assert checkpoint_problems(str(adapter)) == []
    assert inexact_resume_files(str(adapter)) == ["optimizer.pt", "scheduler.pt", "rng_state.pth"]


def test_a_checkpoint_written_by_transformers_passes_the_checks(tmp_path):
    transformers = pytest.importorskip("transformers")
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "hf"),
        max_steps=2,
        save_steps=2,
        per_device_train_batch_size=4,
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
    )
    transformers.Trainer(
        model=RegressionModel(), args=args, train_dataset=RegressionDataset(length=16)
    ).train()
    folder = str(tmp_path / "hf" / "checkpoint-2")
    assert checkpoint_problems(folder) == []
    assert inexact_resume_files(folder) == []
    assert resolve_resume_checkpoint(True, str(tmp_path / "hf")) == folder
