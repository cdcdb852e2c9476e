"""``trainer train --resume`` equals an uninterrupted run; ``torchrun`` runs the same command."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys

import pytest
from helpers.launch import free_port
from helpers.trainer_cli import training, write_yaml
from trainer.cli import main

pytest.importorskip("datasets")
pytestmark = pytest.mark.slow


def _lm_config(tmp_path, text_files, name: str, **extra) -> dict:
    return {
        "task": "causal-lm",
        "model": {
            "factory": "trainer.tiny_gpt:build_tiny_gpt",
            "kwargs": {"n_embd": 32, "n_layer": 1, "n_head": 2, "n_positions": 32},
            "tokenizer": "byte",
        },
        "data": {"train": "train.txt", "validation": "valid.txt", "max_length": 32},
        "training": training(tmp_path, name, **extra),
    }


def _weights(path):
    from safetensors.torch import load_file

    return load_file(str(path / "model.safetensors"))


def test_resumed_run_equals_the_uninterrupted_one(tmp_path, text_files):
    import torch

    whole = write_yaml(tmp_path / "whole.yaml", _lm_config(tmp_path, text_files, "whole"))
    main(["train", str(whole)])
    # The second run was stopped after its step-3 checkpoint: only that checkpoint is left.
    os.makedirs(tmp_path / "resumed")
    shutil.copytree(tmp_path / "whole" / "checkpoint-3", tmp_path / "resumed" / "checkpoint-3")
    main(["train", str(whole), "--resume", "--set", f"training.output_dir={tmp_path / 'resumed'}"])
    expected, got = _weights(tmp_path / "whole"), _weights(tmp_path / "resumed")
    assert expected.keys() == got.keys()
    for key in expected:
        assert torch.equal(expected[key], got[key]), key
    history = [
        json.loads((tmp_path / d / "trainer_state.json").read_text())["log_history"]
        for d in ("whole", "resumed")
    ]
    losses = [[e["loss"] for e in h if "loss" in e] for h in history]
    assert losses[0] == losses[1] and len(losses[0]) == 3


def test_resume_reads_a_trained_tokenizer_back_from_the_checkpoint(tmp_path, text_files):
    pytest.importorskip("transformers")
    import torch
    from helpers.trainer_cli import TINY_GPT2, model_config

    config = _lm_config(tmp_path, text_files, "whole")
    # WordPiece training breaks ties differently from run to run: resuming must not refit it
    config["model"] = {
        "config": str(model_config(tmp_path, "gpt2", TINY_GPT2)),
        "tokenizer": {"train": "wordpiece", "vocab_size": 60},
    }
    whole = write_yaml(tmp_path / "whole.yaml", config)
    main(["train", str(whole)])
    checkpoint = tmp_path / "resumed" / "checkpoint-3"
    shutil.copytree(tmp_path / "whole" / "checkpoint-3", checkpoint)
    resumed_dir = f"training.output_dir={tmp_path / 'resumed'}"
    main(["train", str(whole), "--resume", str(checkpoint), "--set", resumed_dir])
    expected, got = _weights(tmp_path / "whole"), _weights(tmp_path / "resumed")
    for key in expected:
        assert torch.equal(expected[key], got[key]), key
    vocab = [(tmp_path / d / "tokenizer.json").read_text() for d in ("whole", "resumed")]
    assert vocab[0] == vocab[1]


def test_resume_without_a_checkpoint_says_so(tmp_path, text_files):
    path = write_yaml(tmp_path / "run.yaml", _lm_config(tmp_path, text_files, "run"))
    with pytest.raises(FileNotFoundError, match="--resume: no checkpoint-N folder in output_dir="):
        main(["train", str(path), "--resume"])


def test_resume_from_a_missing_checkpoint_says_so(tmp_path, text_files):
    path = write_yaml(tmp_path / "run.yaml", _lm_config(tmp_path, text_files, "run"))
    with pytest.raises(FileNotFoundError, match="--resume 'nowhere': no such checkpoint folder"):
        main(["train", str(path), "--resume", "nowhere"])


@pytest.mark.distributed
def test_two_process_torchrun_on_cpu(tmp_path, text_files):
    config = _lm_config(
        tmp_path,
        text_files,
        "ddp",
        max_steps=-1,
        num_train_epochs=1,
        per_device_train_batch_size=4,
        eval_strategy="epoch",
        save_strategy="epoch",
    )
    if importlib.util.find_spec("transformers") is not None:
        # rank 0 fits the tokenizer and hands it to rank 1 (WordPiece is not reproducible)
        from helpers.trainer_cli import TINY_GPT2, model_config

        config["model"] = {
            "config": str(model_config(tmp_path, "gpt2", TINY_GPT2)),
            "tokenizer": {"train": "wordpiece", "vocab_size": 60},
        }
    path = write_yaml(tmp_path / "ddp.yaml", config)
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="", ACCELERATE_USE_CPU="true")
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node=2",
        f"--master-port={free_port()}",
        "-m",
        "trainer",
        "train",
        str(path),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    from trainer import lm_data

    out = tmp_path / "ddp"
    if (out / "tokenizer.json").is_file():
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(out)
        assert json.loads((out / "config.json").read_text())["vocab_size"] == len(tokenizer)
    else:
        from trainer.byte_tokenizer import ByteTokenizer

        tokenizer = ByteTokenizer()
    paragraphs = text_files["train"].read_text().strip().split("\n\n")
    blocks = len(lm_data.pack(lm_data.token_ids(tokenizer, paragraphs), 32))
    state = json.loads((tmp_path / "ddp" / "trainer_state.json").read_text())
    # two processes share each epoch: half the steps of a single process
    assert state["global_step"] == math.ceil(blocks / (2 * 4))
    assert (tmp_path / "ddp" / "model.safetensors").is_file()
    assert done.stdout.count("task causal-lm:") == 1  # the summary comes from rank 0 only


@pytest.mark.distributed
def test_two_process_accelerate_launch_on_cpu(tmp_path, text_files):
    pytest.importorskip("accelerate")
    config = _lm_config(
        tmp_path,
        text_files,
        "acc",
        max_steps=-1,
        num_train_epochs=1,
        per_device_train_batch_size=4,
        eval_strategy="no",
        save_strategy="no",
    )
    path = write_yaml(tmp_path / "acc.yaml", config)
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu"]
    command += ["--num_processes=2", "--num_machines=1", "--mixed_precision=no"]
    command += ["--dynamo_backend=no", f"--main_process_port={free_port()}"]
    command += ["-m", "trainer", "train", str(path)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    from trainer import lm_data
    from trainer.byte_tokenizer import ByteTokenizer

    paragraphs = text_files["train"].read_text().strip().split("\n\n")
    blocks = len(lm_data.pack(lm_data.token_ids(ByteTokenizer(), paragraphs), 32))
    state = json.loads((tmp_path / "acc" / "trainer_state.json").read_text())
    assert state["global_step"] == math.ceil(blocks / (2 * 4))


def test_a_restarted_job_resumes_from_the_newest_checkpoint(tmp_path, text_files, monkeypatch):
    import torch

    whole = write_yaml(tmp_path / "whole.yaml", _lm_config(tmp_path, text_files, "whole"))
    main(["train", str(whole)])
    os.makedirs(tmp_path / "resumed")
    shutil.copytree(tmp_path / "whole" / "checkpoint-3", tmp_path / "resumed" / "checkpoint-3")
    monkeypatch.setenv("TORCHELASTIC_RESTART_COUNT", "1")  # torchrun started the job again
    main(["train", str(whole), "--set", f"training.output_dir={tmp_path / 'resumed'}"])
    expected, got = _weights(tmp_path / "whole"), _weights(tmp_path / "resumed")
    for key in expected:
        assert torch.equal(expected[key], got[key]), key


def test_resume_auto_starts_afresh_without_a_checkpoint(tmp_path, monkeypatch):
    from trainer.train_command import checkpoint_to_resume, restarted_by_launcher

    assert checkpoint_to_resume("auto", str(tmp_path / "nothing-yet")) is None
    (tmp_path / "empty").mkdir()
    assert checkpoint_to_resume("auto", str(tmp_path / "empty")) is None
    assert restarted_by_launcher({"TORCHELASTIC_RESTART_COUNT": "0"}) is None
    assert restarted_by_launcher({"SLURM_RESTART_COUNT": "2"}) == "SLURM_RESTART_COUNT"
    monkeypatch.setenv("TORCHELASTIC_RESTART_COUNT", "1")
    assert checkpoint_to_resume(None, str(tmp_path / "empty")) is None
