"""Accelerator creation, ``model``/``model_wrapped`` and the DeepSpeed set-up of ``train()``."""

from __future__ import annotations

import os

import pytest

torch = pytest.importorskip("torch")

from helpers.arguments import cpu_args  # noqa: E402
from helpers.models import RegressionDataset, RegressionModel, TinyMLP  # noqa: E402
from trainer_args import TrainingArguments  # noqa: E402
from trainer_loop import Trainer  # noqa: E402


@pytest.fixture(autouse=True)
def restore_environment():
    """accelerate's DeepSpeedPlugin exports ACCELERATE_USE_DEEPSPEED; keep it from later tests."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
    from accelerate.state import AcceleratorState, GradientState

    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()


def make_args(tmp_path, **overrides) -> TrainingArguments:
    settings = dict(num_train_epochs=1)
    return cpu_args(tmp_path, **(settings | overrides))


def test_init_builds_the_accelerator_through_the_overridable_method(tmp_path):
    calls = []

    class Custom(Trainer):
        def create_accelerator_and_postprocess(self):
            calls.append(type(self.model).__name__)
            super().create_accelerator_and_postprocess()

    trainer = Custom(model=RegressionModel(), args=make_args(tmp_path))
    assert calls == ["RegressionModel"]
    assert trainer.accelerator is not None
    assert trainer.is_deepspeed_enabled is False and trainer.is_fsdp_enabled is False


@pytest.mark.parametrize("bf16", [False, True])
def test_single_process_model_wrapped_is_the_model(tmp_path, bf16):
    model = RegressionModel()
    trainer = Trainer(
        model=model, args=make_args(tmp_path, bf16=bf16), train_dataset=RegressionDataset(16)
    )
    assert trainer.model is trainer.model_wrapped is model
    trainer.train()
    # nothing wraps a lone CPU process (bf16 autocast patches forward in place)
    assert trainer.model is model
    assert trainer.model_wrapped is model


# ------------------------------------------------------------------------------ DeepSpeed


class WithHidden(TinyMLP):
    class config:  # noqa: N801  (stands in for a transformers config)
        hidden_size = 32


def deepspeed_trainer(tmp_path, sections: dict, **overrides) -> Trainer:
    pytest.importorskip("deepspeed")
    config = {
        "train_micro_batch_size_per_gpu": "auto",
        "zero_optimization": {"stage": 2, "reduce_bucket_size": "auto"},
        **sections,
    }
    # use_cpu would switch DeepSpeed off (as accelerate does); this host has no GPU anyway
    args = make_args(tmp_path, use_cpu=False, deepspeed=config, warmup_steps=2, **overrides)
    return Trainer(model=WithHidden(), args=args)


SCHEDULE = {
    "type": "WarmupDecayLR",
    "params": {"warmup_num_steps": "auto", "total_num_steps": "auto", "warmup_max_lr": "auto"},
}
OPTIMIZER = {"type": "AdamW", "params": {"lr": "auto", "weight_decay": "auto"}}


def test_deepspeed_init_with_config_optimizer_and_schedule(tmp_path):
    pytest.importorskip("deepspeed")  # accelerate exports these only with DeepSpeed
    from accelerate.utils import DummyOptim, DummyScheduler

    trainer = deepspeed_trainer(
        tmp_path, {"optimizer": OPTIMIZER, "scheduler": SCHEDULE}, learning_rate=0.01
    )
    assert trainer.is_deepspeed_enabled
    assert trainer.place_model_on_device is False
    optimizer, scheduler = trainer._deepspeed_init(12)
    assert isinstance(optimizer, DummyOptim)
    assert isinstance(scheduler, DummyScheduler) and scheduler.lr_scheduler_callable is None
    assert {id(p) for p in optimizer.params} == {id(p) for p in trainer.model.parameters()}
    config = trainer.accelerator.state.deepspeed_plugin.deepspeed_config
    assert config["scheduler"]["params"] == {
        "warmup_num_steps": 2,
        "total_num_steps": 12,
        "warmup_max_lr": 0.01,
    }
    assert config["optimizer"]["params"] == {"lr": 0.01, "weight_decay": 0.0}
    assert config["zero_optimization"]["reduce_bucket_size"] == 32 * 32
    assert config["train_micro_batch_size_per_gpu"] == 4


def test_deepspeed_init_with_config_optimizer_uses_the_trainer_schedule(tmp_path):
    pytest.importorskip("deepspeed")  # accelerate exports these only with DeepSpeed
    from accelerate.utils import DummyScheduler

    trainer = deepspeed_trainer(tmp_path, {"optimizer": OPTIMIZER}, lr_scheduler_type="cosine")
    optimizer, scheduler = trainer._deepspeed_init(10)
    assert isinstance(scheduler, DummyScheduler)
    # accelerate calls this once DeepSpeed built the optimizer
    real = torch.optim.AdamW(trainer.model.parameters(), lr=1.0)
    made = scheduler.lr_scheduler_callable(real)
    assert isinstance(made, torch.optim.lr_scheduler.LambdaLR)
    assert made.optimizer is real
    assert trainer.lr_scheduler is None  # the trainer's own slot is filled by prepare


def test_deepspeed_init_without_sections_hands_over_the_trainer_optimizer(tmp_path):
    trainer = deepspeed_trainer(tmp_path, {}, optim="sgd", learning_rate=0.5)
    optimizer, scheduler = trainer._deepspeed_init(10)
    assert isinstance(optimizer, torch.optim.SGD) and optimizer is trainer.optimizer
    assert optimizer.param_groups[0]["lr"] == 0.5
    assert scheduler is None  # created by the trainer after accelerator.prepare
    config = trainer.accelerator.state.deepspeed_plugin.deepspeed_config
    assert config["zero_allow_untested_optimizer"] is True
    # a second run starts from a fresh optimizer, not the one DeepSpeed wrapped
    again, _ = trainer._deepspeed_init(10)
    assert again is not optimizer


def test_deepspeed_inference_needs_zero3(tmp_path):
    from trainer_loop.training.deepspeed_setup import deepspeed_init

    trainer = deepspeed_trainer(tmp_path, {"optimizer": OPTIMIZER})
    with pytest.raises(ValueError, match="stage 3"):
        deepspeed_init(trainer, 0, inference=True)


class FusedSGD(torch.optim.Optimizer):
    """Stands in for lomo-optim's Lomo: updates inside ``fused_backward``, ``step`` does nothing."""

    def __init__(self, model, lr: float):
        super().__init__(model.parameters(), {"lr": lr})
        self.calls: list[float] = []

    def fused_backward(self, loss, lr):
        self.calls.append(lr)
        loss.backward()
        with torch.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    p -= lr * p.grad
                    p.grad = None

    def step(self, closure=None):
        return None


def test_lomo_optimizers_get_the_scheduled_learning_rate_in_their_backward(tmp_path):
    model = RegressionModel()
    optimizer = FusedSGD(model, lr=0.1)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 / (step + 1))
    args = TrainingArguments(
        output_dir=str(tmp_path),
        optim="lomo",
        per_device_train_batch_size=8,
        max_steps=3,
        max_grad_norm=0.0,
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        save_strategy="no",
    )
    before = model.a.item()
    Trainer(
        model=model,
        args=args,
        train_dataset=RegressionDataset(length=24),
        optimizers=(optimizer, schedule),
    ).train()
    assert optimizer.calls == pytest.approx([0.1, 0.05, 0.1 / 3])
    assert model.a.item() != before
