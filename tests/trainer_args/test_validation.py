"""Every invalid value or combination raises ValueError naming the field, the value and the choices."""

import json

import pytest
from trainer_args import FSDPOption, TrainingArguments


@pytest.mark.parametrize(
    ("kwargs", "fragments"),
    [
        ({"eval_strategy": "step"}, ["eval_strategy='step'", "'epoch'", "did you mean 'steps'?"]),
        ({"save_strategy": "bestt"}, ["save_strategy='bestt'", "did you mean 'best'?"]),
        ({"logging_strategy": "epochs"}, ["logging_strategy", "did you mean 'epoch'?"]),
        ({"hub_strategy": "every_saves"}, ["hub_strategy", "did you mean 'every_save'?"]),
        ({"lr_scheduler_type": "cosin"}, ["lr_scheduler_type='cosin'", "did you mean 'cosine'?"]),
        ({"optim": "adamw_torh"}, ["optim='adamw_torh'", "did you mean 'adamw_torch'?"]),
        ({"debug": "underflow_overfow"}, ["debug", "did you mean 'underflow_overflow'?"]),
        ({"fsdp": "full_shrd"}, ["fsdp='full_shrd'", "did you mean 'full_shard'?"]),
        ({"log_level": "warn"}, ["log_level='warn'", "did you mean 'warning'?"]),
        ({"log_level_replica": "infos"}, ["log_level_replica", "did you mean 'info'?"]),
        (
            {"train_sampling_strategy": "randm"},
            ["train_sampling_strategy", "did you mean 'random'?"],
        ),
        ({"ddp_backend": "ncl"}, ["ddp_backend='ncl'", "did you mean 'nccl'?"]),
        ({"report_to": "tensorbord"}, ["report_to='tensorbord'", "did you mean 'tensorboard'?"]),
        (
            {"include_num_input_tokens_seen": "non-padding"},
            ["include_num_input_tokens_seen", "non_padding"],
        ),
        (
            {"accelerator_config": {"split_batch": True}},
            ["accelerator_config key", "split_batches"],
        ),
    ],
)
def test_bad_choice_names_field_value_and_suggestion(kwargs, fragments):
    with pytest.raises(ValueError) as info:
        TrainingArguments(**kwargs)
    message = str(info.value).lower()
    for fragment in fragments:
        assert fragment.lower() in message


def test_no_suggestion_for_unrelated_value():
    with pytest.raises(ValueError, match="allowed values are") as info:
        TrainingArguments(eval_strategy="zzzzzz")
    assert "did you mean" not in str(info.value).lower()


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"fp16": True, "bf16": True}, "fp16=True and bf16=True"),
        ({"fp16_full_eval": True, "bf16_full_eval": True}, "fp16_full_eval"),
        ({"lr_scheduler_type": "reduce_lr_on_plateau"}, "needs evaluation"),
        ({"warmup_steps": -0.5}, "warmup_steps=-0.5"),
        ({"warmup_ratio": 2.0}, "warmup_ratio=2.0"),
        ({"dataloader_prefetch_factor": 2}, "dataloader_num_workers"),
        ({"logging_steps": 0}, "logging_steps=0"),
        ({"logging_steps": 2.5}, "whole number"),
        ({"eval_strategy": "steps", "eval_steps": 7.5}, "eval_steps=7.5"),
        ({"save_steps": 1.5}, "save_steps=1.5"),
        ({"save_steps": -1}, "save_steps=-1"),
        ({"eval_strategy": "steps", "logging_strategy": "no", "logging_steps": 0}, "eval_steps"),
        ({"torch_empty_cache_steps": 0}, "torch_empty_cache_steps=0"),
        ({"per_device_train_batch_size": 0}, "per_device_train_batch_size=0"),
        ({"per_device_eval_batch_size": -1}, "per_device_eval_batch_size"),
        ({"gradient_accumulation_steps": 0}, "gradient_accumulation_steps=0"),
        ({"dataloader_num_workers": -1}, "dataloader_num_workers"),
        ({"lr_scheduler_kwargs": "{bad json"}, "lr_scheduler_kwargs"),
        ({"lr_scheduler_kwargs": "[1, 2]"}, "lr_scheduler_kwargs"),
        ({"gradient_checkpointing_kwargs": "use_reentrant"}, "gradient_checkpointing_kwargs"),
        ({"fsdp_config": "missing.json"}, "fsdp_config='missing.json'"),
        ({"accelerator_config": "missing.json"}, "accelerator_config"),
        ({"deepspeed": "missing_ds.json"}, "deepspeed='missing_ds.json'"),
        ({"fsdp": "offload"}, "fsdp='offload'"),
        ({"fsdp": "full_shard shard_grad_op"}, "exclude each other"),
        (
            {
                "fsdp": "full_shard auto_wrap",
                "fsdp_config": {"min_num_params": 1, "transformer_layer_cls_to_wrap": "X"},
            },
            "min_num_params",
        ),
        (
            {
                "fsdp": "full_shard",
                "fsdp_config": {"sync_module_states": False, "cpu_ram_efficient_loading": True},
            },
            "sync_module_states",
        ),
        ({"fsdp": "full_shard", "fsdp_config": {"forward_prefetch": "maybe"}}, "forward_prefetch"),
    ],
)
@pytest.mark.filterwarnings("ignore:fsdp_config has no effect")
def test_invalid_values(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern.replace("[", r"\[").replace("(", r"\(")):
        TrainingArguments(**kwargs)


@pytest.mark.parametrize(
    ("eval_strategy", "save_strategy", "eval_steps", "save_steps", "ok"),
    [
        ("steps", "steps", 50, 100, True),
        ("steps", "steps", 30, 100, False),
        ("epoch", "epoch", None, 500, True),
        ("epoch", "steps", None, 500, False),
        ("no", "no", None, 500, True),
        ("steps", "best", 30, 100, True),
        ("steps", "steps", 0.1, 0.2, True),
        ("steps", "steps", 0.1, 0.25, False),
        ("steps", "steps", 0.5, 1, True),
        ("steps", "steps", 0.3, 100, False),
        ("steps", "steps", 7, 0.5, False),
    ],
)
def test_load_best_model_at_end_consistency(
    eval_strategy, save_strategy, eval_steps, save_steps, ok
):
    kwargs = dict(
        load_best_model_at_end=True,
        eval_strategy=eval_strategy,
        save_strategy=save_strategy,
        eval_steps=eval_steps,
        save_steps=save_steps,
    )
    if ok:
        TrainingArguments(**kwargs)
    else:
        with pytest.raises(ValueError, match="load_best_model_at_end"):
            TrainingArguments(**kwargs)


def test_fractional_steps_are_kept_and_whole_floats_become_int():
    args = TrainingArguments(
        logging_steps=0.1, eval_strategy="steps", eval_steps=0.25, save_steps=0.5
    )
    assert (args.logging_steps, args.eval_steps, args.save_steps) == (0.1, 0.25, 0.5)
    args = TrainingArguments(
        logging_steps=10.0, eval_strategy="steps", eval_steps=20.0, save_steps=40.0
    )
    assert (args.logging_steps, args.eval_steps, args.save_steps) == (10, 20, 40)
    assert all(isinstance(v, int) for v in (args.logging_steps, args.eval_steps, args.save_steps))


def test_warmup_semantics():
    assert TrainingArguments(warmup_steps=0.1).get_warmup_steps(95) == 10
    assert TrainingArguments(warmup_steps=12).get_warmup_steps(95) == 12
    assert TrainingArguments(warmup_steps=0).get_warmup_steps(95) == 0
    args = TrainingArguments(warmup_ratio=0.2)
    assert args.warmup_steps == 0.2 and args.get_warmup_steps(10) == 2


def test_metric_for_best_model_and_greater_is_better():
    args = TrainingArguments(
        load_best_model_at_end=True, eval_strategy="epoch", save_strategy="epoch"
    )
    assert args.metric_for_best_model == "loss" and args.greater_is_better is False
    assert TrainingArguments(metric_for_best_model="accuracy").greater_is_better is True
    assert TrainingArguments(metric_for_best_model="eval_loss").greater_is_better is False
    assert (
        TrainingArguments(metric_for_best_model="f1", greater_is_better=False).greater_is_better
        is False
    )
    plateau = TrainingArguments(lr_scheduler_type="reduce_lr_on_plateau", eval_strategy="epoch")
    assert plateau.metric_for_best_model == "loss"
    assert TrainingArguments().metric_for_best_model is None


def test_report_to_all_and_none(monkeypatch):
    from trainer_args import report_to

    monkeypatch.setattr(report_to, "_module_present", lambda m: m in ("tensorboard", "wandb"))
    assert TrainingArguments(report_to="all").report_to == ["tensorboard", "wandb"]
    assert TrainingArguments(report_to=["all"]).report_to == ["tensorboard", "wandb"]
    assert TrainingArguments(report_to=None).report_to == []


def test_json_string_fields_are_parsed():
    with pytest.warns(UserWarning, match="no effect unless fsdp is set") as record:
        args = _parse_all()
    assert record[0].filename == __file__  # the warning points at the caller
    assert args.lr_scheduler_kwargs == {"num_cycles": 3, "power": 0.5, "flag": True, "name": "x"}


def _parse_all():
    return TrainingArguments(
        lr_scheduler_kwargs='{"num_cycles": "3", "power": "0.5", "flag": "true", "name": "x"}',
        gradient_checkpointing_kwargs='{"use_reentrant": "False"}',
        accelerator_config='{"split_batches": "true"}',
        fsdp_config='{"fsdp_min_num_params": "10"}',
        deepspeed='{"zero_optimization": {"stage": "2"}}',
    )


def test_json_string_values_are_coerced():
    with pytest.warns(UserWarning):
        args = _parse_all()
    assert args.gradient_checkpointing_kwargs == {"use_reentrant": False}
    assert args.accelerator_config["split_batches"] is True
    assert args.fsdp_config["min_num_params"] == 10
    assert args.deepspeed == {"zero_optimization": {"stage": 2}}


def test_config_files_are_read(tmp_path):
    (tmp_path / "acc.json").write_text(json.dumps({"even_batches": False}))
    (tmp_path / "fsdp.json").write_text(json.dumps({"fsdp_transformer_layer_cls_to_wrap": "Block"}))
    (tmp_path / "ds.json").write_text("{}")
    args = TrainingArguments(
        accelerator_config=str(tmp_path / "acc.json"),
        fsdp="full_shard auto_wrap",
        fsdp_config=str(tmp_path / "fsdp.json"),
        deepspeed=str(tmp_path / "ds.json"),
    )
    assert args.accelerator_config["even_batches"] is False
    assert args.fsdp == [FSDPOption.FULL_SHARD, FSDPOption.AUTO_WRAP]
    assert args.fsdp_config["transformer_layer_cls_to_wrap"] == ["Block"]
    assert args.fsdp_plugin_args["transformer_cls_names_to_wrap"] == "Block"
    assert args.deepspeed == str(tmp_path / "ds.json")


def test_misc_normalisation(monkeypatch):
    monkeypatch.setenv("HOME", "/home/someone")
    args = TrainingArguments(
        output_dir="~/out",
        include_num_input_tokens_seen=True,
        torch_compile_backend="eager",
        fp16=True,
        use_cpu=True,
        fsdp=True,
        debug=["underflow_overflow tpu_metrics_debug"],
    )
    assert args.output_dir == "/home/someone/out"
    assert args.include_num_input_tokens_seen == "all"
    assert args.torch_compile is True and args.torch_compile_backend == "eager"
    assert args.mixed_precision == "fp16"
    assert args.dataloader_pin_memory is False
    assert args.fsdp == [FSDPOption.FULL_SHARD]
    assert [d.value for d in args.debug] == ["underflow_overflow", "tpu_metrics_debug"]
    assert TrainingArguments(torch_compile=True).torch_compile_backend == "inductor"
    assert TrainingArguments(bf16=True).mixed_precision == "bf16"
