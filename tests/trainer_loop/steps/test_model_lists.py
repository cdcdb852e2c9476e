"""The loop's kept module and parameter lists behave as ``model.train()``, ``model.parameters()``
and ``model.zero_grad()`` would, also when the model changes during a run."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from helpers.arguments import cpu_args  # noqa: E402
from helpers.models import RegressionDataset, RegressionModel  # noqa: E402
from torch import nn  # noqa: E402
from trainer_loop import Trainer, TrainerCallback  # noqa: E402
from trainer_loop.steps.model_lists import ModelLists  # noqa: E402


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
    lists = ModelLists()
    for _ in range(3):
        lists.train(model)
    assert calls == [True, True, True]


def test_plain_models_are_only_walked_when_a_module_is_not_training():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout())
    lists = ModelLists()
    model.eval()
    lists.train(model)
    assert all(m.training for m in model.modules())
    model[1].eval()
    lists.train(model)
    assert model[1].training
    other = nn.Linear(1, 1).eval()
    lists.train(other)  # a different model is taken afresh
    assert other.training


class WithExtra(RegressionModel):
    """Adds ``extra * c`` to the prediction once a callback has registered ``c``."""

    def forward(self, input_x, labels=None, **kwargs):
        y = input_x * self.a + self.b
        if hasattr(self, "c"):
            y = y + self.c
        return (nn.functional.mse_loss(y, labels), y)


class Watch(TrainerCallback):
    """Records, after clipping, the gradient norm over ``model.parameters()``, and at each step's
    start which parameters still hold a gradient."""

    def __init__(self, model):
        self.model, self.norms, self.stale = model, [], []

    def on_step_begin(self, args, state, control, **kwargs):
        self.stale.append([n for n, p in self.model.named_parameters() if p.grad is not None])

    def on_pre_optimizer_step(self, args, state, control, **kwargs):
        grads = [p.grad for p in self.model.parameters() if p.grad is not None]
        self.norms.append(torch.nn.utils.get_total_norm(grads).item())


def test_a_parameter_registered_mid_run_is_clipped_and_zeroed_like_the_others(tmp_path):
    model = WithExtra()

    class AddParameter(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 2:
                model.c = nn.Parameter(torch.tensor(5.0))

    watch = Watch(model)
    trainer = Trainer(
        model=model,
        args=args(tmp_path, logging_steps=1, max_grad_norm=0.5),
        train_dataset=RegressionDataset(length=16),
        callbacks=[AddParameter(), watch],
    )
    trainer.train()
    logged = [e["grad_norm"] for e in trainer.state.log_history if "grad_norm" in e]
    assert len(logged) == 4 and min(logged) > 0.5  # every step was clipped
    # clipped to 0.5 over every parameter: from step 3 on, the new one was scaled with the rest
    assert watch.norms == pytest.approx([0.5] * 4)
    assert watch.stale == [[]] * 4  # zero_grad reached the new parameter too
    assert model.c.grad is None


def test_a_model_that_overrides_zero_grad_gets_its_own_call_every_step(tmp_path):
    calls = []

    class OwnZeroGrad(RegressionModel):
        def zero_grad(self, set_to_none=True):
            calls.append(set_to_none)
            super().zero_grad(set_to_none)

    trainer = Trainer(
        model=OwnZeroGrad(),
        args=args(tmp_path),
        train_dataset=RegressionDataset(length=16),
    )
    trainer.train()
    assert len(calls) == 1 + 4  # once before the first step, then after every update


def test_parameter_lists_follow_registrations_and_stand_aside_for_offloaded_models():
    model = nn.Sequential(nn.Linear(2, 2))
    lists = ModelLists()
    lists.forget(lists_allowed=True)
    assert lists.parameters(model) == list(model.parameters())
    model.append(nn.Linear(2, 1))  # a submodule registered after the lists were taken
    assert lists.parameters(model) == list(model.parameters())
    model[0].weight = nn.Parameter(torch.zeros(2, 2))  # a parameter replaced
    assert lists.parameters(model) == list(model.parameters())

    offloaded = nn.Sequential(nn.Linear(2, 2))
    offloaded[0]._hf_hook = object()  # accelerate's offloading hooks swap parameters on each call
    assert not isinstance(lists.parameters(offloaded), list)
    lists.forget(lists_allowed=False)  # sharded runs keep the model's own walk
    assert not isinstance(lists.parameters(nn.Linear(1, 1)), list)


def test_zero_grad_through_the_lists_clears_every_gradient():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    lists = ModelLists()
    lists.forget(lists_allowed=True)
    model(torch.ones(1, 2)).sum().backward()
    lists.zero_grad(model)
    assert all(p.grad is None for p in model.parameters())
