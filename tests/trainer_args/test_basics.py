"""Defaults, field layout and basic normalisation of TrainingArguments."""

import dataclasses

import pytest
import trainer_args
from trainer_args import IntervalStrategy, SaveStrategy, SchedulerType, TrainingArguments


def test_has_109_fields_in_order():
    names = [f.name for f in dataclasses.fields(TrainingArguments)]
    assert len(names) == 109
    assert names[:3] == ["output_dir", "per_device_train_batch_size", "num_train_epochs"]
    assert names[-3:] == ["warmup_ratio", "logging_dir", "local_rank"]


def test_defaults():
    args = TrainingArguments()
    assert args.output_dir == "trainer_output"
    assert args.eval_strategy is IntervalStrategy.NO
    assert args.save_strategy is SaveStrategy.STEPS
    assert args.lr_scheduler_type is SchedulerType.LINEAR
    assert args.optim == "adamw_torch_fused"
    assert args.report_to == []
    assert args.debug == []
    assert args.fsdp == []
    assert args.include_for_metrics == []
    assert args.train_batch_size >= 8


def test_all_exports_exist():
    for name in trainer_args.__all__:
        assert hasattr(trainer_args, name)


def test_eval_steps_default_to_logging_steps():
    args = TrainingArguments(eval_strategy="steps", logging_steps=20)
    assert args.eval_steps == 20
    assert args.do_eval is True


@pytest.mark.parametrize("value", ["wandb", ["wandb"]])
def test_report_to_becomes_list(value):
    assert TrainingArguments(report_to=value).report_to == ["wandb"]


def test_report_to_none_is_empty():
    assert TrainingArguments(report_to="none").report_to == []
    assert TrainingArguments(report_to=["none"]).report_to == []
