"""Resuming: warnings for settings unlike the checkpoint's, and errors worded as transformers'."""

from __future__ import annotations

import io
import logging
import re

import pytest

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

import trainer_loop  # noqa: E402
from helpers.models import RegressionDataset, RegressionModel  # noqa: E402
from trainer_args import TrainingArguments  # noqa: E402

BASE = dict(
    per_device_train_batch_size=4,
    max_steps=4,
    save_steps=2,
    logging_steps=1,
    eval_steps=2,
    eval_strategy="steps",
    report_to="none",
    use_cpu=True,
    disable_tqdm=True,
)
LIBRARIES = {
    "ours": (trainer_loop.Trainer, TrainingArguments),
    "theirs": (transformers.Trainer, transformers.TrainingArguments),
}


def _trainer(library, out, **overrides):
    trainer_cls, args_cls = LIBRARIES[library]
    return trainer_cls(
        model=RegressionModel(),
        args=args_cls(output_dir=str(out), **{**BASE, **overrides}),
        train_dataset=RegressionDataset(length=32),
        eval_dataset=RegressionDataset(length=8, seed=3),
    )


def _mismatch_lines(text: str) -> list[str]:
    return sorted(
        re.findall(r"\t(\w+: \d+ \(from args\) != \d+ \(from trainer_state.json\))", text)
    )


def test_changed_settings_warn_like_transformers(tmp_path, caplog):
    changed = dict(save_steps=3, logging_steps=2, eval_steps=4, per_device_train_batch_size=2)
    _trainer("theirs", tmp_path / "t", max_steps=2).train()
    # transformers' own handler may hold an earlier test's stderr: listen on its logger directly.
    # An earlier test may have left transformers' verbosity above WARNING: set it for this capture.
    stream = io.StringIO()
    listener = logging.StreamHandler(stream)
    hf_logger = logging.getLogger("transformers")
    level, disabled = hf_logger.level, hf_logger.disabled
    hf_logger.addHandler(listener)
    hf_logger.setLevel(logging.WARNING)
    hf_logger.disabled = False
    try:
        _trainer("theirs", tmp_path / "t", **changed).train(resume_from_checkpoint=True)
    finally:
        hf_logger.removeHandler(listener)
        hf_logger.setLevel(level)
        hf_logger.disabled = disabled
    reference = _mismatch_lines(stream.getvalue())

    _trainer("ours", tmp_path / "o", max_steps=2).train()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="trainer_loop"):
        _trainer("ours", tmp_path / "o", **changed).train(resume_from_checkpoint=True)
    mine = _mismatch_lines(caplog.text)
    assert mine == reference
    assert mine == [
        "eval_steps: 4 (from args) != 2 (from trainer_state.json)",
        "logging_steps: 2 (from args) != 1 (from trainer_state.json)",
        "per_device_train_batch_size: 2 (from args) != 4 (from trainer_state.json)",
        "save_steps: 3 (from args) != 2 (from trainer_state.json)",
    ]


def test_same_settings_do_not_warn(tmp_path, caplog):
    _trainer("ours", tmp_path / "o", max_steps=2).train()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="trainer_loop"):
        _trainer("ours", tmp_path / "o").train(resume_from_checkpoint=True)
    assert "do not match" not in caplog.text


@pytest.mark.parametrize("library", ["ours", "theirs"])
def test_bogus_path_and_no_checkpoint_errors_read_as_transformers(tmp_path, library):
    bogus = tmp_path / "nowhere"
    with pytest.raises(ValueError, match=re.escape(f"Can't find a valid checkpoint at {bogus}")):
        _trainer(library, tmp_path / library).train(resume_from_checkpoint=str(bogus))
    empty = tmp_path / f"{library}-empty"
    with pytest.raises(
        ValueError, match=re.escape(f"No valid checkpoint found in output directory ({empty})")
    ):
        _trainer(library, empty).train(resume_from_checkpoint=True)


def test_missing_stateful_callback_is_the_last_warning_of_a_finished_resume(tmp_path, caplog):
    """Code that reads "the last warning" of a resume (transformers' own tests do) finds the one
    about the checkpoint's callback state, also when the checkpoint already reached max_steps."""
    first = _trainer("ours", tmp_path / "o", max_steps=2, save_steps=2)
    first.add_callback(
        trainer_loop.EarlyStoppingCallback(early_stopping_patience=5)
    )  # its state is saved
    first.args.metric_for_best_model = "loss"
    first.train()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="trainer_loop"):
        _trainer(
            "ours", tmp_path / "o", max_steps=2, restore_callback_states_from_checkpoint=True
        ).train(resume_from_checkpoint=True)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("training already finished" in w for w in warnings)
    assert "EarlyStoppingCallback" in warnings[-1], warnings
