"""Fixtures for trainer_hub tests: a local fake Hub and a duck-typed trainer (no torch needed)."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("huggingface_hub")

from helpers.fake_hub import FAKE_TOKEN, serve_fake_hub  # noqa: E402
from trainer_args import TrainingArguments  # noqa: E402


@pytest.fixture
def fake_hub(monkeypatch):
    """A fake Hub on a local port, with ``huggingface_hub`` pointed at it for the test."""
    with serve_fake_hub(monkeypatch) as hub:
        yield hub


class RecordingHandler:
    """Stands in for the trainer's callback handler; records ``on_push_begin`` calls."""

    def __init__(self) -> None:
        self.pushes = 0

    def on_push_begin(self, args: Any, state: Any, control: Any) -> Any:
        self.pushes += 1
        return control


def _make_args(tmp_path, **overrides: Any) -> TrainingArguments:
    fields: dict[str, Any] = {
        "output_dir": str(tmp_path / "run"),
        "hub_token": FAKE_TOKEN,
        "report_to": "none",
        "learning_rate": 3e-4,
        "per_device_train_batch_size": 8,
        "per_device_eval_batch_size": 16,
        "max_steps": 6,
        "seed": 7,
    }
    fields.update(overrides)
    args = TrainingArguments(**fields)
    # Pin the GPU count (as a trainer may) so reading batch sizes does not load torch.
    args.__dict__["_n_gpu"] = 0
    return args


def _make_trainer(args: TrainingArguments, model: Any = None, log_history=None, **extra: Any):
    os.makedirs(args.output_dir, exist_ok=True)
    trainer = SimpleNamespace(
        args=args,
        model=model if model is not None else SimpleNamespace(),
        state=SimpleNamespace(log_history=list(log_history or []), global_step=0, epoch=0.0),
        control=SimpleNamespace(),
        callback_handler=RecordingHandler(),
        train_dataset=None,
        eval_dataset=None,
        processing_class=None,
        hub_model_id=None,
    )
    for key, value in extra.items():
        setattr(trainer, key, value)
    return trainer


def _write_checkpoint(output_dir, step: int, secret: str | None = None) -> str:
    folder = os.path.join(output_dir, f"checkpoint-{step}")
    os.makedirs(folder, exist_ok=True)
    files = {
        "model.safetensors": f"weights {step}".encode(),
        "config.json": b'{"model_type": "tiny"}',
        "optimizer.pt": b"optimizer",
        "scheduler.pt": b"scheduler",
        "rng_state.pth": b"rng",
        "trainer_state.json": f'{{"global_step": {step}}}'.encode(),
        "training_args.bin": b"pickled args" + (secret.encode() if secret else b""),
    }
    for name, data in files.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    return folder


@pytest.fixture
def make_args(tmp_path):
    """``make_args(**fields)``: ``TrainingArguments`` writing under ``tmp_path/run``, with the
    fake token as ``hub_token`` unless overridden."""
    return lambda **overrides: _make_args(tmp_path, **overrides)


@pytest.fixture
def make_trainer():
    """``make_trainer(args, model=None, log_history=None, **attributes)``: a duck-typed trainer
    holding just the attributes trainer_hub reads."""
    return _make_trainer


@pytest.fixture
def write_checkpoint():
    """``write_checkpoint(output_dir, step, secret=None)``: a checkpoint folder with the files
    the trainer writes (stand-in contents; ``secret`` is appended to training_args.bin)."""
    return _write_checkpoint
