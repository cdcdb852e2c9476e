"""The set_* groups, starting with the examples of the transformers documentation (seed 000)."""

import pytest
from trainer_args import (
    HubStrategy,
    IntervalStrategy,
    OptimizerNames,
    SaveStrategy,
    SchedulerType,
    TrainingArguments,
)


@pytest.fixture
def args():
    return TrainingArguments("working_dir")


# -- the documented examples ----------------------------------------------------------------------
def test_seed_set_dataloader(args):
    args = args.set_dataloader(train_batch_size=16, eval_batch_size=64)
    assert args.per_device_train_batch_size == 16


def test_seed_set_evaluate(args):
    args = args.set_evaluate(strategy="steps", steps=100)
    assert args.eval_steps == 100


def test_seed_set_logging(args):
    args = args.set_logging(strategy="steps", steps=100)
    assert args.logging_steps == 100


def test_seed_set_lr_scheduler(args):
    args = args.set_lr_scheduler(name="cosine", warmup_steps=0.05)
    assert args.warmup_steps == 0.05


def test_seed_set_optimizer(args):
    args = args.set_optimizer(name="adamw_torch", beta1=0.8)
    assert args.optim == "adamw_torch"


def test_seed_set_push_to_hub(args):
    args = args.set_push_to_hub("me/awesome-model")
    assert args.hub_model_id == "me/awesome-model"


def test_seed_set_save(args):
    args = args.set_save(strategy="steps", steps=100)
    assert args.save_steps == 100


def test_seed_set_testing(args):
    args = args.set_testing(batch_size=32)
    assert args.per_device_eval_batch_size == 32


def test_seed_set_training(args):
    args = args.set_training(learning_rate=1e-4, batch_size=32)
    assert args.learning_rate == 1e-4


# -- full semantics -------------------------------------------------------------------------------
def test_set_training_sets_everything(args):
    out = args.set_training(
        learning_rate=1e-3,
        batch_size=4,
        weight_decay=0.1,
        num_epochs=2,
        max_steps=50,
        gradient_accumulation_steps=3,
        seed=1,
        gradient_checkpointing=True,
    )
    assert out is args and args.do_train
    assert (args.per_device_train_batch_size, args.weight_decay, args.num_train_epochs) == (
        4,
        0.1,
        2,
    )
    assert (args.max_steps, args.gradient_accumulation_steps, args.seed) == (50, 3, 1)
    assert args.gradient_checkpointing is True


def test_set_evaluate(args):
    args.set_evaluate(
        strategy="epoch", batch_size=16, accumulation_steps=2, delay=1.5, loss_only=True
    )
    assert args.eval_strategy is IntervalStrategy.EPOCH and args.do_eval
    assert (args.per_device_eval_batch_size, args.eval_accumulation_steps, args.eval_delay) == (
        16,
        2,
        1.5,
    )
    assert args.prediction_loss_only is True
    args.set_evaluate(strategy="no")
    assert args.do_eval is False


def test_set_testing_turns_on_predict(args):
    assert args.set_testing(loss_only=True).do_predict is True
    assert args.prediction_loss_only is True


def test_set_save(args):
    args.set_save(strategy="best", total_limit=2, on_each_node=True)
    assert args.save_strategy is SaveStrategy.BEST
    assert (args.save_total_limit, args.save_on_each_node) == (2, True)


def test_set_logging(args):
    args.set_logging(
        strategy="epoch",
        report_to=["tensorboard"],
        level="info",
        first_step=True,
        replica_level="error",
    )
    assert args.logging_strategy is IntervalStrategy.EPOCH
    assert args.report_to == ["tensorboard"] and args.log_level == "info"
    assert args.logging_first_step and args.log_level_replica == "error"
    assert args.logging_nan_inf_filter is False and args.log_on_each_node is False


def test_set_push_to_hub(args):
    args.set_push_to_hub(
        "me/m",
        strategy="all_checkpoints",
        token="hf_x",
        private_repo=True,
        always_push=True,
        revision="dev",
    )
    assert args.push_to_hub and args.hub_strategy is HubStrategy.ALL_CHECKPOINTS
    assert (args.hub_token, args.hub_private_repo, args.hub_always_push, args.hub_revision) == (
        "hf_x",
        True,
        True,
        "dev",
    )
    assert "hf_x" not in args.to_json_string()


def test_set_optimizer(args):
    args.set_optimizer(
        name="sgd", learning_rate=0.1, weight_decay=0.01, beta2=0.9, epsilon=1e-6, args="a=1"
    )
    assert args.optim is OptimizerNames.SGD
    assert (args.learning_rate, args.weight_decay, args.adam_beta2, args.adam_epsilon) == (
        0.1,
        0.01,
        0.9,
        1e-6,
    )
    assert args.optim_args == "a=1"


def test_set_lr_scheduler(args):
    args.set_lr_scheduler(name="constant", num_epochs=5, max_steps=20, warmup_ratio=0.1)
    assert args.lr_scheduler_type is SchedulerType.CONSTANT
    assert (args.num_train_epochs, args.max_steps, args.warmup_steps) == (5, 20, 0.1)


def test_set_dataloader(args):
    args.set_dataloader(
        drop_last=True, num_workers=2, pin_memory=False, persistent_workers=True, prefetch_factor=3,
        auto_find_batch_size=True, ignore_data_skip=True, sampler_seed=9,
    )  # fmt: skip
    assert args.dataloader_drop_last and args.dataloader_num_workers == 2
    assert args.dataloader_pin_memory is False and args.dataloader_persistent_workers
    assert (args.dataloader_prefetch_factor, args.data_seed) == (3, 9)
    assert args.auto_find_batch_size and args.ignore_data_skip


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        ("set_evaluate", {"strategy": "steps", "steps": 0}),
        ("set_save", {"strategy": "steps", "steps": 0}),
        ("set_logging", {"strategy": "steps", "steps": 0}),
        ("set_evaluate", {"strategy": "stepz"}),
        ("set_save", {"strategy": "epochs"}),
        ("set_optimizer", {"name": "adamw_troch"}),
        ("set_lr_scheduler", {"name": "linaer"}),
        ("set_lr_scheduler", {"warmup_steps": -1}),
    ],
)
def test_set_groups_reject_bad_values(args, method, kwargs):
    with pytest.raises(ValueError):
        getattr(args, method)(**kwargs)


def test_bad_strategy_suggests(args):
    with pytest.raises(ValueError, match="did you mean 'steps'"):
        args.set_save(strategy="step")
