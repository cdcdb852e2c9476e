"""The meta-package: every documented name resolves, and importing it stays cheap."""

from __future__ import annotations

import subprocess
import sys

import pytest
import trainer


def test_every_exported_name_resolves():
    for name in trainer.__all__:
        assert getattr(trainer, name) is not None, name


def test_import_loads_no_torch():
    code = "import sys, trainer; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute"):
        trainer.NotAThing  # noqa: B018


def test_drop_in_names_match_transformers():
    transformers = pytest.importorskip("transformers")
    for name in (
        "Trainer",
        "TrainingArguments",
        "TrainerCallback",
        "EarlyStoppingCallback",
        "EvalPrediction",
        "IntervalStrategy",
        "SchedulerType",
        "get_scheduler",
        "default_data_collator",
        "set_seed",
    ):
        assert hasattr(transformers, name) and hasattr(trainer, name), name


def test_demo_trains_on_bundled_data(tmp_path):
    pytest.importorskip("datasets")
    from trainer import TrainingArguments, demo

    args = TrainingArguments(
        output_dir=str(tmp_path / "moons"),
        num_train_epochs=1,
        per_device_train_batch_size=64,
        learning_rate=3e-3,
        report_to="none",
        disable_tqdm=True,
        save_strategy="no",
        optim="adamw_torch",
    )
    metrics = demo.run(args)
    assert metrics["eval_loss"] < 0.69
    assert (tmp_path / "moons" / "model.safetensors").is_file()
