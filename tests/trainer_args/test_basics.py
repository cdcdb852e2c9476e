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


def test_replace_and_deepcopy_keep_values():
    import copy

    args = TrainingArguments(
        eval_strategy="steps", fsdp="full_shard", debug="underflow_overflow", report_to="wandb"
    )
    changed = dataclasses.replace(args, learning_rate=1.0)
    assert changed.to_dict() == {**args.to_dict(), "learning_rate": 1.0}
    assert copy.deepcopy(args).to_dict() == args.to_dict()


def test_subclass_with_extra_fields_runs_validation_and_parser():
    from trainer_args import HfArgumentParser

    @dataclasses.dataclass
    class Seq2SeqLike(TrainingArguments):
        sortish_sampler: bool = False
        generation_max_length: int | None = None

    (args,) = HfArgumentParser(Seq2SeqLike).parse_args_into_dataclasses(
        ["--sortish_sampler", "--generation_max_length", "20", "--eval_strategy", "epoch"],
        look_for_args_file=False,
    )
    assert args.sortish_sampler and args.generation_max_length == 20 and args.do_eval
    assert args.to_dict()["generation_max_length"] == 20
    with pytest.raises(ValueError, match="did you mean 'steps'"):
        Seq2SeqLike(eval_strategy="step")


def test_n_gpu_can_be_pinned():
    args = TrainingArguments(per_device_train_batch_size=4)
    args._n_gpu = 1
    assert args.n_gpu == 1 and args.train_batch_size == 4


def test_enum_members_are_strings():
    from trainer_args import DebugOption, FSDPOption, HubStrategy, OptimizerNames, ParallelMode

    for enum_cls in (IntervalStrategy, SaveStrategy, HubStrategy, SchedulerType, OptimizerNames, FSDPOption,
                     DebugOption, ParallelMode):  # fmt: skip
        for member in enum_cls:
            assert isinstance(member, str) and member == member.value
            # As in transformers: str() names the member, .value is the plain string.
            assert str(member) == f"{enum_cls.__name__}.{member.name}" == f"{member}"
    assert len(OptimizerNames) == 42 and len(SchedulerType) == 11
    assert SaveStrategy.values() == ["no", "steps", "epoch", "best"]
    with pytest.raises(ValueError, match="did you mean 'epoch'"):
        IntervalStrategy("epoc")
