"""Side by side with transformers.TrainingArguments 5.3.0: same to_dict(), same errors."""

import json
import warnings

import pytest

transformers = pytest.importorskip("transformers")

from trainer_args import HfArgumentParser, TrainingArguments  # noqa: E402

HF = transformers.TrainingArguments

#: Values that depend on the machine rather than on the arguments.
MACHINE_DEPENDENT = {"disable_tqdm"}

ARGUMENT_SETS = [
    {},
    {"output_dir": "out", "num_train_epochs": 1.5, "max_steps": 10},
    {"eval_strategy": "steps", "eval_steps": 50, "save_steps": 100, "load_best_model_at_end": True},
    {"eval_strategy": "epoch", "save_strategy": "epoch", "load_best_model_at_end": True},
    {"eval_strategy": "steps", "logging_steps": 25},
    {
        "eval_strategy": "steps",
        "eval_steps": 0.1,
        "save_steps": 0.2,
        "load_best_model_at_end": True,
    },
    {"eval_strategy": "steps", "eval_steps": 0.5, "save_steps": 1, "load_best_model_at_end": True},
    {"save_strategy": "best", "eval_strategy": "steps", "load_best_model_at_end": True},
    {"metric_for_best_model": "accuracy"},
    {"metric_for_best_model": "eval_loss", "greater_is_better": True},
    {"lr_scheduler_type": "reduce_lr_on_plateau", "eval_strategy": "epoch"},
    {
        "lr_scheduler_type": "cosine",
        "warmup_steps": 0.1,
        "lr_scheduler_kwargs": '{"num_cycles": "2"}',
    },
    {"warmup_ratio": 0.05},
    {"optim": "adafactor", "learning_rate": 1e-3, "weight_decay": 0.01, "adam_beta1": 0.8},
    {"fp16": True, "use_cpu": True},
    {"report_to": "tensorboard", "run_name": "r1", "logging_strategy": "epoch"},
    {"report_to": ["wandb", "mlflow"], "logging_steps": 0.05},
    {"include_num_input_tokens_seen": True, "debug": "underflow_overflow"},
    {"torch_compile_mode": "reduce-overhead"},
    {"fsdp": "full_shard auto_wrap", "fsdp_config": {"fsdp_min_num_params": 100}},
    {"fsdp": "shard_grad_op offload", "fsdp_config": '{"transformer_layer_cls_to_wrap": "Block"}'},
    {"accelerator_config": {"split_batches": True, "even_batches": False}},
    {"gradient_checkpointing": True, "gradient_checkpointing_kwargs": '{"use_reentrant": "false"}'},
    {
        "push_to_hub": True,
        "hub_model_id": "me/model",
        "hub_strategy": "checkpoint",
        "hub_token": "x",
    },
    {"dataloader_num_workers": 2, "dataloader_prefetch_factor": 4, "use_cpu": True},
    {"label_names": ["labels"], "include_for_metrics": ["inputs", "loss"], "save_total_limit": 2},
    {
        "deepspeed": {"train_batch_size": "auto", "zero_optimization": {"stage": 0}},
        "output_dir": "~/ckpt",
    },
]


def _hf(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return HF(**kwargs)


def _comparable(d):
    return {k: v for k, v in d.items() if k not in MACHINE_DEPENDENT}


def _copy(kwargs):
    return json.loads(json.dumps(kwargs))


@pytest.mark.parametrize("kwargs", ARGUMENT_SETS, ids=lambda k: ",".join(k) or "defaults")
def test_to_dict_matches(kwargs):
    ours = TrainingArguments(**_copy(kwargs))
    theirs = _hf(**_copy(kwargs))
    assert _comparable(ours.to_dict()) == _comparable(theirs.to_dict())
    assert json.loads(ours.to_json_string()) == json.loads(json.dumps(ours.to_dict()))


def test_fsdp_plugin_args_match():
    kwargs = {
        "fsdp": "full_shard auto_wrap",
        "fsdp_config": {"transformer_layer_cls_to_wrap": ["Block"]},
    }
    ours = TrainingArguments(**_copy(kwargs))
    theirs = _hf(**_copy(kwargs))
    assert ours.fsdp_plugin_args == theirs.fsdp_plugin_args


def test_report_to_all_matches():
    assert TrainingArguments(report_to="all").report_to == _hf(report_to="all").report_to


def test_fields_and_defaults_match():
    import dataclasses

    ours = dataclasses.fields(TrainingArguments)
    theirs = dataclasses.fields(HF)
    assert [f.name for f in ours] == [f.name for f in theirs]
    for a, b in zip(ours, theirs):
        assert a.default == b.default, a.name
        assert (a.default_factory is dataclasses.MISSING) == (
            b.default_factory is dataclasses.MISSING
        )


def test_warmup_steps_match():
    for warmup in (0, 0.1, 0.33, 7):
        ours, theirs = TrainingArguments(warmup_steps=warmup), _hf(warmup_steps=warmup)
        for total in (1, 10, 333):
            assert ours.get_warmup_steps(total) == theirs.get_warmup_steps(total)


def test_set_groups_match():
    def apply(args):
        args.set_training(learning_rate=1e-4, batch_size=32, num_epochs=2)
        args.set_evaluate(strategy="steps", steps=100, delay=1.0)
        args.set_save(strategy="epoch", total_limit=3)
        args.set_logging(strategy="steps", steps=10, report_to=["tensorboard"], level="info")
        args.set_push_to_hub("me/awesome-model", strategy="end", token="secret")
        args.set_optimizer(name="sgd", beta1=0.8)
        args.set_lr_scheduler(name="cosine", warmup_steps=0.05)
        args.set_dataloader(train_batch_size=16, eval_batch_size=64, sampler_seed=3)
        args.set_testing(batch_size=32, loss_only=True)
        return args.to_dict()

    assert _comparable(apply(TrainingArguments("w"))) == _comparable(apply(_hf(output_dir="w")))


def test_parser_matches_on_command_line():
    argv = [
        "--output_dir", "o", "--eval_strategy", "steps", "--eval_steps", "10", "--no_log_on_each_node",
        "--fp16", "--use_cpu", "--lr_scheduler_type", "cosine", "--report_to", "tensorboard",
        "--lr_scheduler_kwargs", '{"num_cycles": 2}', "--label_names", "a", "b", "--seed", "7",
        "--hub_private_repo", "true", "--push_to_hub",
    ]  # fmt: skip
    (ours,) = HfArgumentParser(TrainingArguments).parse_args_into_dataclasses(
        argv, look_for_args_file=False
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (theirs,) = transformers.HfArgumentParser(HF).parse_args_into_dataclasses(
            argv, look_for_args_file=False
        )
    assert _comparable(ours.to_dict()) == _comparable(theirs.to_dict())


ERROR_CASES = [
    {"eval_strategy": "step"},
    {"save_strategy": "epochs"},
    {"logging_strategy": "never"},
    {"hub_strategy": "every"},
    {"lr_scheduler_type": "cosin"},
    {"optim": "adamw"},
    {"debug": "underflow"},
    {"fsdp": "full_shard shard_grad_op"},
    {"fsdp": "offload"},
    {"fsdp": "ful_shard"},
    {
        "fsdp": "full_shard auto_wrap",
        "fsdp_config": {"min_num_params": 5, "transformer_layer_cls_to_wrap": "B"},
    },
    {
        "fsdp": "full_shard",
        "fsdp_config": {"sync_module_states": "false", "cpu_ram_efficient_loading": "true"},
    },
    {"fp16": True, "bf16": True, "use_cpu": True},
    {"fp16_full_eval": True, "bf16_full_eval": True, "use_cpu": True},
    {"lr_scheduler_type": "reduce_lr_on_plateau"},
    {"warmup_steps": -1},
    {"dataloader_prefetch_factor": 2},
    {"logging_steps": 0},
    {"logging_steps": 10.5},
    {"eval_strategy": "steps", "eval_steps": 2.5},
    {"save_steps": 3.3},
    {"eval_strategy": "steps", "logging_steps": 0, "logging_strategy": "epoch"},
    {"load_best_model_at_end": True, "eval_strategy": "epoch", "save_strategy": "steps"},
    {"load_best_model_at_end": True, "eval_strategy": "steps", "eval_steps": 30, "save_steps": 100},
    {
        "load_best_model_at_end": True,
        "eval_strategy": "steps",
        "eval_steps": 0.3,
        "save_steps": 100,
    },
    {
        "load_best_model_at_end": True,
        "eval_strategy": "steps",
        "eval_steps": 0.3,
        "save_steps": 0.5,
    },
    {"torch_empty_cache_steps": 0},
    {"lr_scheduler_kwargs": "{not json"},
    {"accelerator_config": {"split_batch": True}},
]


@pytest.mark.parametrize(
    "kwargs", ERROR_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items())
)
def test_errors_raise_in_both(kwargs):
    with pytest.raises((ValueError, TypeError)):
        _hf(**_copy(kwargs))
    with pytest.raises(ValueError):
        TrainingArguments(**_copy(kwargs))


#: Where we are stricter: these are accepted by transformers but rejected by trainer_args.
STRICTER_CASES = [
    {"log_level": "verbose"},
    {"train_sampling_strategy": "shuffled"},
    {"report_to": "wandbb"},
    {"include_num_input_tokens_seen": "some"},
    {"per_device_train_batch_size": 0},
    {"gradient_accumulation_steps": 0},
    {"warmup_ratio": 1.5},
    {"lr_scheduler_kwargs": "cosine"},
    {"logging_steps": -5},
]


@pytest.mark.parametrize("kwargs", STRICTER_CASES, ids=lambda k: ",".join(k))
def test_stricter_than_transformers(kwargs):
    _hf(**_copy(kwargs))
    with pytest.raises(ValueError):
        TrainingArguments(**_copy(kwargs))


def test_enums_match():
    import trainer_args
    from transformers import debug_utils, trainer_utils, training_args

    sources = {
        "IntervalStrategy": trainer_utils,
        "SaveStrategy": trainer_utils,
        "HubStrategy": trainer_utils,
        "SchedulerType": trainer_utils,
        "FSDPOption": trainer_utils,
        "OptimizerNames": training_args,
        "ParallelMode": training_args,
        "DebugOption": debug_utils,
    }
    for name, module in sources.items():
        ours, theirs = getattr(trainer_args, name), getattr(module, name)
        assert [(m.name, m.value) for m in ours] == [(m.name, m.value) for m in theirs], name


@pytest.mark.parametrize(
    "kwargs", ARGUMENT_SETS[:6] + [{"use_cpu": True, "hub_token": "secret"}], ids=str
)
def test_sanitized_dict_matches(kwargs):
    ours = TrainingArguments(**_copy(kwargs)).to_sanitized_dict()
    theirs = _hf(**_copy(kwargs)).to_sanitized_dict()
    assert _comparable(ours) == _comparable(theirs)


@pytest.mark.parametrize(
    "argv",
    [
        ["--output_dir", "o"],
        ["--do_train", "--do_eval", "false", "--num_train_epochs", "2.5", "--warmup_steps", "0.1"],
        [
            "--eval_strategy",
            "epoch",
            "--save_strategy",
            "epoch",
            "--load_best_model_at_end",
            "--metric_for_best_model",
            "f1",
        ],
        [
            "--optim",
            "adafactor",
            "--lr_scheduler_type",
            "constant",
            "--report_to",
            "none",
            "--disable_tqdm",
            "true",
        ],
        [
            "--fsdp",
            "full_shard auto_wrap",
            "--fsdp_config",
            '{"min_num_params": 10}',
            "--debug",
            "underflow_overflow",
        ],
        ["--include_num_input_tokens_seen", "--no-remove-unused-columns", "--logging_steps", "0.5"],
    ],
)
def test_parsers_agree(argv):
    (ours,) = HfArgumentParser(TrainingArguments).parse_args_into_dataclasses(
        argv, look_for_args_file=False
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (theirs,) = transformers.HfArgumentParser(HF).parse_args_into_dataclasses(
            argv, look_for_args_file=False
        )
    assert _comparable(ours.to_dict()) == _comparable(theirs.to_dict())
