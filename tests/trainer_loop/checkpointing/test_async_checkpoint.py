"""Checkpoints written in the background: same files, exact resume, kill -9, errors surface."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
import zipfile

import pytest
import torch
from helpers.arguments import cpu_args
from helpers.models import RegressionDataset, RegressionModel
from trainer_loop import BackgroundCheckpointing, CheckpointWriteError, Trainer
from trainer_loop.checkpointing import files as ckpt

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _files(folder):
    """Every file's bytes; for torch.save archives, each member but the per-save random id."""
    found = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            if zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as archive:
                    content = {
                        member: archive.read(member)
                        for member in archive.namelist()
                        if not member.endswith("serialization_id")
                    }
            else:
                with open(path, "rb") as f:
                    content = f.read()
            found[os.path.relpath(path, folder)] = content
    return found


def _regression(tmp_path, background, **overrides):
    settings = dict(max_steps=8, save_strategy="steps", save_steps=2, logging_steps=1, seed=7)
    settings.update(overrides)
    return Trainer(
        model=RegressionModel(),
        args=cpu_args(tmp_path, **settings),
        train_dataset=RegressionDataset(length=64),
        callbacks=[BackgroundCheckpointing()] if background else None,
    )


def _tiny_gpt2():
    pytest.importorskip("transformers")
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(vocab_size=64, n_positions=16, n_embd=16, n_layer=2, n_head=2)
    return GPT2LMHeadModel(config)  # tied input and output embeddings


class _TokenData(torch.utils.data.Dataset):
    def __len__(self):
        return 32

    def __getitem__(self, i):
        ids = torch.arange(i, i + 8) % 64
        return {"input_ids": ids, "labels": ids}


@pytest.mark.parametrize("model_kind", ["module", "gpt2"])
def test_background_checkpoints_are_bitwise_the_blocking_ones(tmp_path, monkeypatch, model_kind):
    written = {}
    for background in (False, True):
        run = tmp_path / ("background" if background else "blocking")
        run.mkdir()
        monkeypatch.chdir(run)  # the same relative output_dir, so training_args.bin matches too
        settings = dict(
            output_dir="out", max_steps=8, save_strategy="steps", save_steps=2, logging_steps=1,
            save_total_limit=2, per_device_train_batch_size=4, report_to="none", use_cpu=True,
            disable_tqdm=True, seed=7,
        )  # fmt: skip
        from trainer_args import TrainingArguments

        if model_kind == "module":
            model, data = RegressionModel(), RegressionDataset(length=64)
        else:
            model, data = _tiny_gpt2(), _TokenData()
        trainer = Trainer(
            model=model,
            args=TrainingArguments(**settings),
            train_dataset=data,
            callbacks=[BackgroundCheckpointing()] if background else None,
        )
        trainer.train()
        names = sorted(os.listdir("out"))
        written[background] = (names, {n: _files(os.path.join("out", n)) for n in names})
    assert written[True][0] == written[False][0] == ["checkpoint-6", "checkpoint-8"]
    for name in written[False][0]:
        blocking, background = written[False][1][name], written[True][1][name]
        assert sorted(background) == sorted(blocking)
        for file in blocking:
            assert background[file] == blocking[file], f"{name}/{file} differs"


def test_resume_from_a_background_checkpoint_is_exact(tmp_path):
    reference = _regression(tmp_path / "ref", background=False, save_strategy="no")
    reference.train()
    first = _regression(tmp_path / "bg", background=True, save_steps=4)
    first.train()
    resumed = _regression(tmp_path / "bg", background=True, save_steps=4)
    resumed.train(resume_from_checkpoint=str(tmp_path / "bg" / "out" / "checkpoint-4"))
    for name, value in reference.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[name], value), name


def test_training_goes_on_while_the_checkpoint_is_written(tmp_path, monkeypatch):
    release, reached = threading.Event(), []
    original = ckpt.atomic_torch_save

    def slow(obj, path):
        if threading.current_thread() is not threading.main_thread():
            reached.append(path)
            assert release.wait(30)
        original(obj, path)

    trainer = _regression(tmp_path, background=True, max_steps=4, save_steps=4)
    trainer.train()  # the step-4 save happens at the last step; train() waits for it
    assert (tmp_path / "out" / "checkpoint-4" / "optimizer.pt").is_file()
    monkeypatch.setattr(ckpt, "atomic_torch_save", slow)
    trainer.state.global_step = 5
    trainer._save_checkpoint(trainer.model, None)  # returns with the writer held
    assert trainer._checkpoint_writer.busy
    assert not (tmp_path / "out" / "checkpoint-5").exists()
    release.set()
    trainer._checkpoint_writer.wait()
    assert (tmp_path / "out" / "checkpoint-5" / "optimizer.pt").is_file()


def test_an_error_in_the_writer_surfaces_at_the_next_save(tmp_path, monkeypatch):
    original = ckpt.atomic_torch_save

    def failing(obj, path):
        if "checkpoint-2" in path and path.endswith("optimizer.pt"):
            raise OSError("disk full")
        original(obj, path)

    monkeypatch.setattr(ckpt, "atomic_torch_save", failing)
    trainer = _regression(tmp_path, background=True)
    with pytest.raises(CheckpointWriteError, match="checkpoint-2.*disk full") as raised:
        trainer.train()
    assert isinstance(raised.value.__cause__, OSError)
    assert trainer.state.global_step == 4  # raised at the next save, not at the end of train()
    out = tmp_path / "out"
    assert not (out / "checkpoint-2").exists() and (out / ".staging-checkpoint-2").is_dir()


def test_an_error_in_the_last_write_surfaces_at_the_end_of_train(tmp_path, monkeypatch):
    original = ckpt.atomic_torch_save

    def failing(obj, path):
        if "checkpoint-8" in path:
            raise OSError("disk full")
        original(obj, path)

    monkeypatch.setattr(ckpt, "atomic_torch_save", failing)
    with pytest.raises(CheckpointWriteError, match="checkpoint-8"):
        _regression(tmp_path, background=True).train()


def test_a_subclass_overriding_a_save_hook_saves_in_place(tmp_path, caplog):
    class Custom(Trainer):
        def _save_optimizer_and_scheduler(self, output_dir):
            super()._save_optimizer_and_scheduler(output_dir)

    trainer = Custom(
        model=RegressionModel(),
        args=cpu_args(tmp_path, max_steps=2, save_strategy="steps", save_steps=2),
        train_dataset=RegressionDataset(length=16),
        callbacks=[BackgroundCheckpointing()],
    )
    with caplog.at_level(logging.INFO, logger="trainer_loop.checkpointing"):
        trainer.train()
    assert "overrides _save_optimizer_and_scheduler" in caplog.text
    assert trainer._checkpoint_writer._what == ""  # nothing was handed to the writer thread
    assert (tmp_path / "out" / "checkpoint-2" / "optimizer.pt").is_file()


def test_kill_during_a_background_write_then_resume_is_exact(tmp_path):
    script = textwrap.dedent(
        f"""
        import os, pathlib, signal, sys, threading, time
        sys.path.insert(0, {TESTS_DIR!r})
        from helpers.arguments import cpu_args
        from helpers.models import RegressionDataset, RegressionModel
        from trainer_loop import BackgroundCheckpointing, Trainer
        from trainer_loop.checkpointing import files as ckpt

        original = ckpt.atomic_torch_save

        def slow(obj, path):
            if threading.current_thread() is not threading.main_thread():
                time.sleep(0.05)
                if "checkpoint-6" in path and path.endswith("optimizer.pt"):
                    os.kill(os.getpid(), signal.SIGKILL)  # weights written, the rest is not
            original(obj, path)

        ckpt.atomic_torch_save = slow
        args = cpu_args(
            pathlib.Path({str(tmp_path)!r}), max_steps=10, save_strategy="steps", save_steps=2,
            logging_steps=1, seed=7,
        )
        Trainer(
            model=RegressionModel(), args=args, train_dataset=RegressionDataset(length=64),
            callbacks=[BackgroundCheckpointing()],
        ).train()
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == -9, done.stderr[-2000:]
    out = tmp_path / "out"
    assert (out / "checkpoint-4").is_dir() and not (out / "checkpoint-6").exists()
    assert (out / ".staging-checkpoint-6" / "model.safetensors").is_file()

    resumed = _regression(tmp_path, background=True, max_steps=10)
    resumed.train(resume_from_checkpoint=True)
    assert (out / "checkpoint-10").is_dir()
    reference = _regression(tmp_path / "ref", background=False, max_steps=10, save_strategy="no")
    reference.train()
    for name, value in reference.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[name], value), name
    assert resumed.state.log_history[-2]["loss"] == reference.state.log_history[-2]["loss"]


def test_best_model_and_rotation_match_blocking_saves(tmp_path):
    finals, folders, best = {}, {}, {}
    for background in (False, True):
        run = tmp_path / ("background" if background else "blocking")
        trainer = Trainer(
            model=RegressionModel(),
            args=cpu_args(
                run, max_steps=8, save_strategy="steps", save_steps=2, eval_strategy="steps",
                eval_steps=2, load_best_model_at_end=True, save_total_limit=1, seed=7,
                metric_for_best_model="eval_loss", greater_is_better=True,  # the first is best
            ),
            train_dataset=RegressionDataset(length=64),
            eval_dataset=RegressionDataset(length=16, seed=3),
            callbacks=[BackgroundCheckpointing()] if background else None,
        )  # fmt: skip
        trainer.train()
        finals[background] = {k: v.clone() for k, v in trainer.model.state_dict().items()}
        folders[background] = sorted(os.listdir(run / "out"))
        best[background] = os.path.basename(trainer.state.best_model_checkpoint)
    assert folders[True] == folders[False] == ["checkpoint-2"]
    assert best[True] == best[False] == "checkpoint-2"
    for name, value in finals[False].items():
        assert torch.equal(finals[True][name], value), name


def test_the_host_copy_keeps_tied_weights_shared_and_ignores_later_updates():
    from trainer_loop.checkpointing.background import HostCopier

    weight = torch.nn.Parameter(torch.randn(4, 3))
    state = {"embed": weight, "head": weight, "step": torch.tensor(1.0), "betas": (0.9, 0.99)}
    copier = HostCopier()
    before = weight.detach().clone()
    first = copier.copy("model", state)
    assert first["embed"] is first["head"] and first["embed"] is not weight
    with torch.no_grad():
        weight.add_(1.0)
    assert torch.equal(first["embed"], before)  # the copy does not follow the update
    second = copier.copy("model", state)
    assert second["embed"].data_ptr() == first["embed"].data_ptr()  # buffers are reused
    assert torch.equal(second["embed"], weight) and second["betas"] == (0.9, 0.99)
