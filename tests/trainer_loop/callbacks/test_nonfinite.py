"""Non-finite losses: warned once at the next logging step, last finite checkpoint kept, opt-in stop."""

from __future__ import annotations

import logging

import pytest
import torch
from helpers.arguments import cpu_args
from helpers.models import RegressionDataset, RegressionModel
from safetensors.torch import load_file
from trainer_loop import Trainer
from trainer_loop.callbacks.nonfinite import NonFiniteWatch, StopOnNonFiniteCallback


class NaNAt(RegressionModel):
    """Regression model whose loss is NaN on forward pass number ``at`` (1-based)."""

    def __init__(self, at: int):
        super().__init__()
        self.at, self.calls = at, 0

    def forward(self, input_x, labels=None, **kwargs):
        self.calls += 1
        loss, y = super().forward(input_x, labels)
        return (loss * float("nan") if self.calls == self.at else loss), y


def _train(tmp_path, model, callbacks=None, **overrides):
    trainer = Trainer(
        model=model,
        args=cpu_args(tmp_path, **overrides),
        train_dataset=RegressionDataset(length=64),
        callbacks=callbacks,
    )
    trainer.train()
    return trainer


def _nonfinite_warnings(caplog):
    return [r.getMessage() for r in caplog.records if "Non-finite loss" in r.getMessage()]


def test_nan_loss_warns_once_at_the_next_logging_step(tmp_path, caplog):
    seen_at = []

    class Spy(StopOnNonFiniteCallback):
        def on_non_finite(self, args, state, control, step, **kwargs):
            seen_at.append((step, state.global_step))
            return control

    with caplog.at_level(logging.WARNING):
        trainer = _train(tmp_path, NaNAt(3), [Spy()], max_steps=12, logging_steps=4)
    messages = _nonfinite_warnings(caplog)
    assert len(messages) == 1
    assert "at step 3, seen at step 4" in messages[0]
    assert seen_at == [(3, 4)]
    assert trainer.state.global_step == 12  # without the stop callback the run goes on


def test_finite_run_says_nothing(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        _train(tmp_path, RegressionModel(), max_steps=6, logging_steps=2)
    assert not _nonfinite_warnings(caplog)


def test_stop_callback_stops_without_saving_the_bad_weights(tmp_path):
    stopper = StopOnNonFiniteCallback()
    trainer = _train(
        tmp_path,
        NaNAt(3),
        [stopper],
        max_steps=12,
        logging_steps=4,
        save_strategy="steps",
        save_steps=2,
    )
    assert trainer.state.global_step == 4 and stopper.stopped_at == 4
    names = sorted(p.name for p in (tmp_path / "out").glob("checkpoint-*"))
    assert names == ["checkpoint-2"]  # step 4 (a save step) was not written with NaN weights


def _finite_checkpoints(out):
    names = []
    for folder in out.glob("checkpoint-*"):
        weights = load_file(str(folder / "model.safetensors"))
        if all(torch.isfinite(t).all() for t in weights.values()):
            names.append(folder.name)
    return names


@pytest.mark.parametrize("limit", [1, 2])
def test_rotation_keeps_the_newest_checkpoint_with_finite_weights(tmp_path, caplog, limit):
    with caplog.at_level(logging.WARNING):
        _train(
            tmp_path,
            NaNAt(5),
            max_steps=12,
            logging_steps=3,
            save_strategy="steps",
            save_steps=2,
            save_total_limit=limit,
        )
    out = tmp_path / "out"
    names = {p.name for p in out.glob("checkpoint-*")}
    assert "checkpoint-12" in names and len(names) == limit + 1
    assert _finite_checkpoints(out) == ["checkpoint-4"]
    assert any(
        "checkpoint-4, the newest checkpoint with finite" in r.getMessage() for r in caplog.records
    )


def test_watch_keeps_the_first_bad_step():
    watch = NonFiniteWatch()
    watch.observe(torch.tensor(1.0), torch.tensor(2.0), 1)
    watch.observe(torch.tensor(1.0), torch.tensor(float("inf")), 2)
    watch.observe(torch.tensor(float("nan")), torch.tensor(1.0), 3)
    assert watch.poll() == 2  # the first bad step, from the gradient norm
    # tensors of several elements are reduced on their device, read back only by poll()
    deferred = NonFiniteWatch()
    deferred.observe(torch.tensor([1.0, float("nan")]), None, 4)
    deferred.observe(torch.tensor([float("inf"), 0.0]), None, 5)
    assert deferred.first_step is None
    assert deferred.poll() == 4
    plain = NonFiniteWatch()
    plain.observe(torch.tensor(1.0), float("nan"), 7)  # a float norm (e.g. DeepSpeed)
    assert plain.poll() == 7


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_watch_adds_no_host_sync_on_cuda():
    watch = NonFiniteWatch()
    loss = torch.tensor(float("nan"), device="cuda")
    norm = torch.tensor(1.0, device="cuda")
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for step in range(1, 4):
            watch.observe(loss, norm, step)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert watch.poll() == 1
