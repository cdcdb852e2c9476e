"""After ``trainer.install_as_transformers()`` our log records are seen through transformers' loggers.

Each check runs on transformers' own Trainer and on ours installed as transformers, the way
transformers' tests watch its logs: ``CaptureLogger(logging.get_logger())`` with a verbosity,
``patch("transformers.<module>.logger.warning")``. Without the call nothing reaches them.
"""

from __future__ import annotations

import importlib
import logging
import os
from unittest.mock import patch

import pytest

pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

import trainer  # noqa: E402
from helpers.models import RegressionDataset, RegressionModel  # noqa: E402
from trainer_loop.reporting.log_setup import PACKAGE_LOGGERS  # noqa: E402

hf_logging = importlib.import_module("transformers.utils.logging")
testing_utils = importlib.import_module("transformers.testing_utils")
CaptureLogger, LoggingLevel = testing_utils.CaptureLogger, testing_utils.LoggingLevel


@pytest.fixture(params=["transformers", "ours"])
def library(request):
    """``transformers`` (the module) whose Trainer is transformers' or, installed, ours."""
    saved_verbosity = hf_logging.get_verbosity()
    if request.param == "ours":
        trainer.install_as_transformers()
    try:
        yield request.param, importlib.import_module("transformers")
    finally:
        if request.param == "ours":
            trainer.restore_transformers()
        hf_logging.set_verbosity(saved_verbosity)


def _trainer(transformers, out, callbacks=None, **overrides):
    settings = dict(
        per_device_train_batch_size=4,
        learning_rate=0.1,
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        save_strategy="no",
        max_steps=2,
    )
    args = transformers.TrainingArguments(output_dir=str(out), **{**settings, **overrides})
    return transformers.Trainer(
        model=RegressionModel(),
        args=args,
        train_dataset=RegressionDataset(length=16),
        eval_dataset=RegressionDataset(length=8),
        callbacks=callbacks,
    )


def _ours_or_theirs(name, transformers):
    base = [c.__module__ for c in transformers.Trainer.__mro__ if c.__name__ == "Trainer"]
    assert base == (["trainer_loop.trainer"] if name == "ours" else ["transformers.trainer"])


def test_log_level_sets_what_transformers_logger_shows(library, tmp_path):
    name, transformers = library
    _ours_or_theirs(name, transformers)
    root = hf_logging.get_logger()
    with LoggingLevel(logging.INFO):
        with CaptureLogger(root) as shown:
            _trainer(transformers, tmp_path / "debug", log_level="debug").train()
        assert "Running training" in shown.out
    with LoggingLevel(logging.INFO):
        with CaptureLogger(root) as quiet:
            _trainer(transformers, tmp_path / "error", log_level="error").train()
        assert "Running training" not in quiet.out
    with LoggingLevel(logging.WARNING):  # "passive": transformers' verbosity decides
        with CaptureLogger(root) as passive:
            _trainer(transformers, tmp_path / "passive").train()
        assert "Running training" not in passive.out


def test_resume_with_other_settings_is_logged_by_transformers_logger(library, tmp_path):
    name, transformers = library
    with CaptureLogger(hf_logging.get_logger()) as captured:
        first = _trainer(transformers, tmp_path, save_strategy="steps", save_steps=5, max_steps=5)
        first.train()
        again = _trainer(transformers, tmp_path, save_strategy="steps", save_steps=10, max_steps=6)
        again.train(resume_from_checkpoint=os.path.join(tmp_path, "checkpoint-5"))
    assert "save_steps: 10 (from args) != 5 (from trainer_state.json)" in captured.out


def test_callback_warnings_go_through_transformers_callback_and_trainer_loggers(library, tmp_path):
    name, transformers = library

    class Recorder(transformers.TrainerCallback):
        pass

    with patch("transformers.trainer_callback.logger.warning") as warn:
        _trainer(transformers, tmp_path / "dup", callbacks=[Recorder, Recorder])
    assert str(Recorder) in warn.call_args[0][0]

    t = _trainer(transformers, tmp_path / "flow")
    with patch("transformers.trainer_callback.logger.warning") as warn:
        type(t.callback_handler)([Recorder()], t.model, None, None, None)
    assert "DefaultFlowCallback" in warn.call_args[0][0]

    stateful = dict(
        save_strategy="steps",
        eval_strategy="steps",
        save_steps=2,
        eval_steps=2,
        load_best_model_at_end=True,
    )
    early = transformers.EarlyStoppingCallback()
    _trainer(transformers, tmp_path / "stateful", callbacks=[early], **stateful).train()
    resumed = _trainer(
        transformers,
        tmp_path / "stateful",
        restore_callback_states_from_checkpoint=True,
        **{**stateful, "load_best_model_at_end": False},
    )
    with patch("transformers.trainer.logger.warning") as warn:
        resumed.train(resume_from_checkpoint=os.path.join(tmp_path, "stateful", "checkpoint-2"))
    assert any("EarlyStoppingCallback" in call[0][0] for call in warn.call_args_list)


def _logger_setup():
    return {
        name: (
            logging.getLogger(name).level,
            logging.getLogger(name).propagate,
            list(logging.getLogger(name).handlers),
        )
        for name in PACKAGE_LOGGERS
    }


def test_without_the_call_nothing_reaches_transformers_and_restore_puts_loggers_back(tmp_path):
    before = _logger_setup()
    with CaptureLogger(hf_logging.get_logger()) as captured, LoggingLevel(logging.INFO):
        logging.getLogger("trainer_loop.training.loop").warning("not for transformers")
    assert "not for transformers" not in captured.out

    trainer.install_as_transformers()
    try:
        with CaptureLogger(hf_logging.get_logger("transformers.trainer")) as captured:
            logging.getLogger("trainer_loop.training.loop").warning("seen as %s", "transformers")
            logging.getLogger("trainer_args").warning("an argument")
            logging.getLogger("trainer_loop.training.loop").debug("below the verbosity")
        assert captured.out.splitlines() == ["seen as transformers"]
    finally:
        trainer.restore_transformers()
    assert _logger_setup() == before


def test_log_level_sets_the_library_verbosity_not_a_child_level(library, tmp_path):
    """A Trainer's log_level changes transformers' verbosity, which set_verbosity changes back;
    no child logger keeps a level of its own (it would outlive later set_verbosity calls)."""
    _, transformers = library
    _trainer(transformers, tmp_path, log_level="error")
    assert hf_logging.get_verbosity() == logging.ERROR
    for name in (
        "transformers.trainer",
        "transformers.trainer_callback",
        "transformers.training_args",
    ):
        assert logging.getLogger(name).level == logging.NOTSET, name
    hf_logging.set_verbosity_info()
    assert logging.getLogger("transformers.trainer").getEffectiveLevel() == logging.INFO
