"""Each training step starts with the whole model in training mode, as with ``model.train()``."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from helpers.arguments import cpu_args  # noqa: E402
from helpers.models import RegressionDataset, RegressionModel  # noqa: E402
from torch import nn  # noqa: E402
from trainer_loop import Trainer, TrainerCallback  # noqa: E402
from trainer_loop.train_mode import TrainMode  # noqa: E402


class WithDropout(RegressionModel):
    def __init__(self):
        super().__init__(a=1.0, b=1.0)
        self.drop = nn.Dropout(0.0)
        self.seen: list[bool] = []

    def forward(self, input_x, labels=None, **kwargs):
        self.seen.append(self.drop.training)
        return super().forward(self.drop(input_x), labels)


def args(tmp_path, **extra):
    return cpu_args(tmp_path, max_steps=4, **extra)


def test_a_submodule_put_in_eval_mode_by_a_callback_trains_again_at_the_next_step(tmp_path):
    model = WithDropout()

    class EvalTheDropout(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            model.drop.eval()

    trainer = Trainer(
        model=model,
        args=args(tmp_path),
        train_dataset=RegressionDataset(length=16),
        callbacks=[EvalTheDropout()],
    )
    trainer.train()
    assert model.seen == [True] * 4


def test_evaluation_during_training_does_not_leave_the_model_in_eval_mode(tmp_path):
    model = WithDropout()
    trainer = Trainer(
        model=model,
        args=args(tmp_path, eval_strategy="steps", eval_steps=1, per_device_eval_batch_size=8),
        train_dataset=RegressionDataset(length=16),
        eval_dataset=RegressionDataset(length=8),
    )
    trainer.train()
    # training forwards see training mode; the evaluation forwards in between see eval mode
    assert model.seen == [True, False] * 4


def test_a_module_that_overrides_train_is_called_every_step():
    calls = []

    class Merging(nn.Linear):
        def train(self, mode=True):
            calls.append(mode)
            return super().train(mode)

    model = nn.Sequential(nn.Linear(2, 2), Merging(2, 2))
    mode = TrainMode()
    for _ in range(3):
        mode.apply(model)
    assert calls == [True, True, True]


def test_plain_models_are_only_walked_when_a_module_is_not_training():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout())
    mode = TrainMode()
    model.eval()
    mode.apply(model)
    assert all(m.training for m in model.modules())
    model[1].eval()
    mode.apply(model)
    assert model[1].training
    other = nn.Linear(1, 1).eval()
    mode.apply(other)  # a different model is taken afresh
    assert other.training
