"""The run object: per-run state lives in one place, and the trainer gains no attribute later."""

from __future__ import annotations

import math

import pytest
from helpers.arguments import cpu_args
from helpers.models import RegressionDataset, RegressionModel
from trainer_loop import BackgroundCheckpointing, Trainer, TrainerCallback
from trainer_loop.run import LossWindow


def _trainer(tmp_path, **overrides):
    settings = dict(
        max_steps=6,
        logging_steps=2,
        eval_strategy="steps",
        eval_steps=3,
        save_strategy="steps",
        save_steps=3,
    )
    settings.update(overrides)
    return Trainer(
        model=RegressionModel(),
        args=cpu_args(tmp_path, **settings),
        train_dataset=RegressionDataset(length=32),
        eval_dataset=RegressionDataset(length=8),
    )


@pytest.mark.parametrize("background", [False, True])
def test_no_attribute_is_added_after_init(tmp_path, background):
    trainer = _trainer(tmp_path)
    if background:
        trainer.add_callback(BackgroundCheckpointing())
    before = set(vars(trainer))
    trainer.train()
    trainer.evaluate()
    trainer.predict(RegressionDataset(length=8))
    trainer.save_model()
    trainer.train(resume_from_checkpoint=True)
    assert set(vars(trainer)) - before == set()


def test_the_run_exists_only_while_training(tmp_path):
    seen = []

    class Probe(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            seen.append(trainer._run)

    trainer = _trainer(tmp_path)
    trainer.add_callback(Probe())
    assert trainer._run is None
    trainer.train()
    assert trainer._run is None
    assert len({id(run) for run in seen}) == 1 and seen[0].plan.max_steps == 6
    assert seen[0].loss is not None and seen[0].nonfinite is not None


def test_plan_matches_set_initial_training_values(tmp_path):
    trainer = _trainer(tmp_path, max_steps=-1, num_train_epochs=2, gradient_accumulation_steps=3)
    plans = []

    class Probe(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            plans.append(trainer._run.plan.as_tuple())

    trainer.add_callback(Probe())
    trainer.train()
    expected = trainer.set_initial_training_values(trainer.args, trainer.get_train_dataloader())
    assert plans == [expected]
    epochs, updates, examples, samples, total_batch, batches, max_steps = expected
    assert (epochs, updates, examples, batches, max_steps) == (2, 3, 32, 8, 6)


def test_trl_style_writes_to_the_loss_window_names_take_effect(tmp_path):
    """TRL writes _globalstep_last_logged and _total_loss_scalar; they drive what is logged."""

    class Rewinding(Trainer):
        def training_step(self, model, inputs, num_items_in_batch=None):
            loss = super().training_step(model, inputs, num_items_in_batch)
            assert self.current_gradient_accumulation_steps == 1
            self._total_loss_scalar = self._total_loss_scalar  # a round trip keeps the value
            return loss

        def _maybe_log_save_evaluate(self, tr_loss, *args, **kwargs):
            if self.control.should_log:
                self._globalstep_last_logged = self.state.global_step - 1  # one-step windows
            super()._maybe_log_save_evaluate(tr_loss, *args, **kwargs)

    trainer = Rewinding(
        model=RegressionModel(),
        args=cpu_args(tmp_path, max_steps=4, logging_steps=2),
        train_dataset=RegressionDataset(length=32),
    )
    output = trainer.train()
    logged = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    assert len(logged) == 2 and all(math.isfinite(v) for v in logged)
    # Each window held two steps of loss but was divided by one step.
    plain = Trainer(
        model=RegressionModel(),
        args=cpu_args(tmp_path / "plain", max_steps=4, logging_steps=2),
        train_dataset=RegressionDataset(length=32),
    )
    plain.train()
    reference = [e["loss"] for e in plain.state.log_history if "loss" in e]
    assert logged == pytest.approx([2 * v for v in reference])
    # The run's mean loss sums the logged windows over the steps taken, as before.
    assert output.training_loss == pytest.approx(sum(2 * v for v in reference) / 4)
    assert trainer._globalstep_last_logged == trainer.state.global_step  # no run: empty window


def test_loss_window_replaces_a_non_finite_loss_by_the_window_mean():
    import torch

    window = LossWindow(torch.device("cpu"), global_step=0, nan_inf_filter=True)
    assert window.add(torch.tensor(2.0), global_step=0) == 2.0
    window.add(torch.tensor(float("nan")), global_step=1)
    assert window.running.item() == pytest.approx(3.0)  # 2 + 2/(1+1)
    saved = window.saved()
    again = LossWindow(torch.device("cpu"), global_step=0, nan_inf_filter=True)
    again.restore(saved)
    assert again.saved() == saved
