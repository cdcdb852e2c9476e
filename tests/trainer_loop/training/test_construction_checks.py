"""Trainer(...) refuses callbacks that are not callbacks and output folders it cannot write."""

from __future__ import annotations

import pytest
from helpers.arguments import cpu_args
from helpers.models import RegressionDataset, RegressionModel
from trainer_loop import Trainer


def _build(tmp_path, callbacks=None, **overrides):
    return Trainer(
        model=RegressionModel(),
        args=cpu_args(tmp_path, max_steps=2, **overrides),
        train_dataset=RegressionDataset(length=16),
        callbacks=callbacks,
    )


@pytest.mark.parametrize("item", [42, "EarlyStoppingCallback", None])
def test_a_callback_that_is_not_one_is_a_type_error_naming_it(tmp_path, item):
    with pytest.raises(TypeError, match=rf"callbacks: {item!r} .* is not a TrainerCallback"):
        _build(tmp_path, callbacks=[item])


def test_duck_typed_callbacks_still_work(tmp_path):
    class Counter:  # not a TrainerCallback subclass, but has event methods
        def __init__(self):
            self.steps = 0

        def on_step_end(self, args, state, control, **kwargs):
            self.steps += 1

    counter = Counter()
    _build(tmp_path, callbacks=[counter]).train()
    assert counter.steps == 2


def test_output_dir_that_is_a_file(tmp_path):
    (tmp_path / "out").write_text("not a folder")
    with pytest.raises(ValueError, match=r"output_dir='.*out' is a file"):
        _build(tmp_path)


def test_output_dir_that_cannot_be_created(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    target = tmp_path / "file" / "run"
    with pytest.raises(ValueError, match=r"output_dir='.*run' is not writable"):
        _build(tmp_path, output_dir=str(target))
