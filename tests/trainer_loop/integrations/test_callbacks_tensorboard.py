"""TensorBoardCallback and the report_to integration lookup."""

from __future__ import annotations

import importlib.util
import logging
import os
from types import SimpleNamespace

import pytest
from trainer_loop.integrations import (
    INTEGRATION_TO_CALLBACK,
    TensorBoardCallback,
    get_available_reporting_integrations,
    get_reporting_integration_callbacks,
    rewrite_logs,
)
from trainer_loop.integrations import base as integration_base
from trainer_loop.integrations import tensorboard as tensorboard_module
from trainer_loop.state import TrainerControl, TrainerState


def make_args(tmp_path, **kw):
    return SimpleNamespace(
        output_dir=str(tmp_path / "out"), logging_dir=None, to_json_string=lambda: '{"lr": 1}', **kw
    )


def event_files(folder):
    return [
        os.path.join(root, f)
        for root, _, files in os.walk(folder)
        for f in files
        if f.startswith("events.out.tfevents")
    ]


def read_scalars(path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(path)
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv("TENSORBOARD_LOGGING_DIR", raising=False)


def test_rewrite_logs():
    assert rewrite_logs({"loss": 1, "eval_acc": 2, "test_f1": 3}) == {
        "train/loss": 1,
        "eval/acc": 2,
        "test/f1": 3,
    }


def test_writes_event_files_to_logging_dir(tmp_path, no_env, caplog):
    pytest.importorskip("tensorboard")
    args = make_args(tmp_path)
    args.logging_dir = str(tmp_path / "tb")
    cb = TensorBoardCallback()
    state, control = TrainerState(), TrainerControl()
    cb.on_train_begin(args, state, control, model=SimpleNamespace(config=None))
    for step in (1, 2):
        state.global_step = step
        cb.on_log(args, state, control, logs={"loss": 1.0 / step, "eval_acc": 0.5, "note": "hi"})
    with caplog.at_level(logging.WARNING):
        cb.on_log(args, state, control, logs={"weird": [1, 2]})
    assert "weird" in caplog.text
    cb.on_train_end(args, state, control)
    assert cb.tb_writer is None and cb.logging_dir == str(tmp_path / "tb")
    files = event_files(tmp_path / "tb")
    assert len(files) == 1
    scalars = read_scalars(files[0])
    assert scalars["train/loss"] == [(1, 1.0), (2, 0.5)]
    assert scalars["eval/acc"] == [(1, 0.5), (2, 0.5)]
    assert not (tmp_path / "out").exists()


def test_default_dir_env_and_trial(tmp_path, monkeypatch):
    pytest.importorskip("tensorboard")
    monkeypatch.delenv("TENSORBOARD_LOGGING_DIR", raising=False)
    cb = TensorBoardCallback()
    state = TrainerState()
    cb.on_log(make_args(tmp_path), state, TrainerControl(), logs={"loss": 1.0})
    cb.on_train_end(None, state, TrainerControl())
    assert os.path.dirname(cb.logging_dir) == str(tmp_path / "out" / "runs")
    assert len(event_files(tmp_path / "out" / "runs")) == 1

    monkeypatch.setenv("TENSORBOARD_LOGGING_DIR", str(tmp_path / "env"))
    cb = TensorBoardCallback()
    state = TrainerState(is_hyper_param_search=True, trial_name="t1")
    for trial in ("t1", "t2"):
        state.trial_name = trial
        cb.on_train_begin(make_args(tmp_path), state, TrainerControl())
        cb.on_train_end(None, state, TrainerControl())
    assert cb.logging_dir == str(tmp_path / "env" / "t2")
    assert len(event_files(tmp_path / "env" / "t1")) == 1


def test_only_main_process_writes(tmp_path, no_env):
    pytest.importorskip("tensorboard")
    cb = TensorBoardCallback()
    state = TrainerState(is_world_process_zero=False)
    cb.on_train_begin(make_args(tmp_path), state, TrainerControl())
    cb.on_log(make_args(tmp_path), state, TrainerControl(), logs={"loss": 1.0})
    assert cb.tb_writer is None and not (tmp_path / "out").exists()


def test_missing_tensorboard_names_the_extra(monkeypatch):
    monkeypatch.setattr(tensorboard_module, "is_tensorboard_available", lambda: False)
    with pytest.raises(ImportError, match=r'pip install "trainer-loop\[tensorboard\]"'):
        TensorBoardCallback()
    with pytest.raises(ImportError, match=r"trainer-loop\[tensorboard\]"):
        get_reporting_integration_callbacks(["tensorboard"])
    TensorBoardCallback(tb_writer=object())  # a writer of one's own needs no package


def test_reporting_lookup(monkeypatch):
    pytest.importorskip("tensorboard")
    assert get_reporting_integration_callbacks(None) == []
    assert get_reporting_integration_callbacks("none") == []
    assert get_reporting_integration_callbacks(["none"]) == []
    assert get_reporting_integration_callbacks("tensorboard") == [TensorBoardCallback]
    assert get_reporting_integration_callbacks(["tensorboard", "tensorboard"]) == [
        TensorBoardCallback
    ]
    everything = get_reporting_integration_callbacks("all")
    assert TensorBoardCallback in everything
    assert everything == [
        INTEGRATION_TO_CALLBACK[n] for n in get_available_reporting_integrations()
    ]
    with pytest.raises(ValueError, match="tensorboard.*wandb"):
        get_reporting_integration_callbacks(["tensorbored"])


def test_missing_client_names_the_extra(monkeypatch):
    missing = {"wandb", "mlflow"}
    real = integration_base.has_module
    monkeypatch.setattr(integration_base, "has_module", lambda n: n not in missing and real(n))
    for name in ("wandb", "mlflow"):
        module = importlib.import_module(f"trainer_loop.integrations.{name}")
        monkeypatch.setattr(module, "has_module", integration_base.has_module)
        with pytest.raises(ImportError, match=rf'pip install "trainer-loop\[{name}\]"'):
            get_reporting_integration_callbacks([name])


def test_with_trainer_args(tmp_path, no_env):
    pytest.importorskip("tensorboard")
    trainer_args = pytest.importorskip("trainer_args")
    args = trainer_args.TrainingArguments(
        output_dir=str(tmp_path / "out"), logging_dir=str(tmp_path / "tb"), report_to="tensorboard"
    )
    callbacks = [cls() for cls in get_reporting_integration_callbacks(args.report_to)]
    assert [type(cb) for cb in callbacks] == [TensorBoardCallback]
    state = TrainerState(global_step=1)
    callbacks[0].on_train_begin(args, state, TrainerControl())
    callbacks[0].on_log(args, state, TrainerControl(), logs={"loss": 2.0})
    callbacks[0].on_train_end(args, state, TrainerControl())
    assert read_scalars(event_files(tmp_path / "tb")[0])["train/loss"] == [(1, 2.0)]
