"""DeepSpeed "auto" filling from arguments (no deepspeed or transformers needed)."""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace

import pytest
import torch
import trainer_dist as td


def make_args(**kw):
    base = {
        "per_device_train_batch_size": 4,
        "gradient_accumulation_steps": 2,
        "world_size": 3,
        "max_grad_norm": 0.5,
        "learning_rate": 3e-4,
        "adam_beta1": 0.8,
        "adam_beta2": 0.95,
        "adam_epsilon": 1e-6,
        "weight_decay": 0.01,
        "warmup_steps": 0.1,
        "bf16": True,
    }
    base.update(kw)
    return SimpleNamespace(**base)


def all_auto_config(stage: int = 3) -> dict:
    return {
        "train_micro_batch_size_per_gpu": "auto",
        "train_batch_size": "auto",
        "gradient_accumulation_steps": "auto",
        "gradient_clipping": "auto",
        "fp16": {"enabled": "auto"},
        "bf16": {"enabled": "auto"},
        "optimizer": {
            "type": "AdamW",
            "params": {"lr": "auto", "betas": "auto", "eps": "auto", "weight_decay": "auto"},
        },
        "scheduler": {
            "type": "WarmupDecayLR",
            "params": {
                "warmup_min_lr": "auto",
                "warmup_max_lr": "auto",
                "warmup_num_steps": "auto",
                "total_num_steps": "auto",
            },
        },
        "zero_optimization": {
            "stage": stage,
            "reduce_bucket_size": "auto",
            "stage3_prefetch_bucket_size": "auto",
            "stage3_param_persistence_threshold": "auto",
        },
    }


def model_with_hidden(size: int):
    return SimpleNamespace(config=SimpleNamespace(hidden_size=size))


def test_every_auto_key_is_filled():
    config = all_auto_config()
    out = td.fill_deepspeed_config(
        config, make_args(), model=model_with_hidden(64), num_training_steps=100
    )
    assert out is config
    assert out["train_micro_batch_size_per_gpu"] == 4
    assert out["gradient_accumulation_steps"] == 2
    assert out["train_batch_size"] == 3 * 4 * 2
    assert out["gradient_clipping"] == 0.5
    assert out["fp16"]["enabled"] is False
    assert out["bf16"]["enabled"] is True
    params = out["optimizer"]["params"]
    assert params == {"lr": 3e-4, "betas": [0.8, 0.95], "eps": 1e-6, "weight_decay": 0.01}
    sched = out["scheduler"]["params"]
    assert sched == {
        "warmup_min_lr": 0,
        "warmup_max_lr": 3e-4,
        "warmup_num_steps": 10,
        "total_num_steps": 100,
    }
    zero = out["zero_optimization"]
    assert zero["reduce_bucket_size"] == 64 * 64
    assert zero["stage3_prefetch_bucket_size"] == int(0.9 * 64 * 64)
    assert zero["stage3_param_persistence_threshold"] == 640
    assert "auto" not in json.dumps(out)


def test_two_stage_filling_leaves_model_keys_for_later():
    config = all_auto_config()
    td.fill_deepspeed_config(config, make_args())
    assert config["train_batch_size"] == 24
    assert config["scheduler"]["params"]["total_num_steps"] == "auto"
    assert config["zero_optimization"]["reduce_bucket_size"] == "auto"
    accelerator = SimpleNamespace(
        state=SimpleNamespace(deepspeed_plugin=SimpleNamespace(deepspeed_config=config))
    )
    td.finalize_deepspeed_config(accelerator, make_args(), model_with_hidden(32), 50)
    assert config["scheduler"]["params"]["total_num_steps"] == 50
    assert config["scheduler"]["params"]["warmup_num_steps"] == 5
    assert config["zero_optimization"]["reduce_bucket_size"] == 1024


def test_stage2_keeps_stage3_keys_auto_and_hidden_sizes_list():
    config = all_auto_config(stage=2)
    model = SimpleNamespace(config=SimpleNamespace(hidden_sizes=[8, 16, 12]))
    td.fill_deepspeed_config(config, make_args(), model=model, num_training_steps=10)
    assert config["zero_optimization"]["reduce_bucket_size"] == 256
    assert config["zero_optimization"]["stage3_prefetch_bucket_size"] == "auto"


def test_text_config_hidden_size_and_missing_hidden_size_error():
    model = SimpleNamespace(config=SimpleNamespace(text_config=SimpleNamespace(hidden_size=10)))
    assert td.deepspeed.model_hidden_size(model) == 10
    with pytest.raises(ValueError, match="hidden_size"):
        td.fill_deepspeed_config(
            all_auto_config(), make_args(), model=torch.nn.Linear(2, 2), num_training_steps=5
        )


def test_explicit_matching_values_pass_and_are_kept():
    config = {
        "train_micro_batch_size_per_gpu": 4,
        "gradient_accumulation_steps": 2,
        "optimizer": {"params": {"lr": 3e-4, "betas": [0.8, 0.95]}},
        "zero_optimization": {"stage": 2, "reduce_bucket_size": 1000},
    }
    before = copy.deepcopy(config)
    td.fill_deepspeed_config(config, make_args(), model=model_with_hidden(4), num_training_steps=10)
    assert config == before


def test_mismatches_are_all_reported():
    config = {
        "train_micro_batch_size_per_gpu": 16,
        "train_batch_size": 7,
        "gradient_clipping": 1.0,
        "optimizer": {"params": {"lr": 0.1, "betas": [0.9, 0.999]}},
        "scheduler": {"params": {"total_num_steps": 999, "warmup_num_steps": 1}},
        "bf16": {"enabled": False},
        "zero_optimization": {"stage": 1},
    }
    with pytest.raises(td.DeepSpeedConfigMismatchError) as info:
        td.fill_deepspeed_config(
            config, make_args(), model=model_with_hidden(4), num_training_steps=100
        )
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    for expected in (
        "- ds train_micro_batch_size_per_gpu=16 vs hf per_device_train_batch_size=4",
        "- ds train_batch_size=7 vs hf train_batch_size (calculated)=24",
        "- ds gradient_clipping=1.0 vs hf max_grad_norm=0.5",
        "- ds optimizer.params.lr=0.1 vs hf learning_rate=0.0003",
        "- ds optimizer.params.betas=[0.9, 0.999] vs hf adam_beta1+adam_beta2=[0.8, 0.95]",
        "- ds scheduler.params.total_num_steps=999 vs hf num_training_steps (calculated)=100",
        "- ds scheduler.params.warmup_num_steps=1 vs hf warmup_steps=10",
        "- ds bf16.enabled=False vs hf bf16|bf16_full_eval=True",
    ):
        assert expected in message
    assert len(info.value.mismatches) == 8
    assert "'auto'" in message


def test_auto_find_batch_size_relaxes_batch_checks():
    config = {"train_micro_batch_size_per_gpu": 16, "train_batch_size": 7, "zero_optimization": {}}
    td.fill_deepspeed_config(config, make_args(), auto_find_batch_size=True)
    assert config["train_micro_batch_size_per_gpu"] == 16


def test_save_on_each_node_and_world_size_from_env(monkeypatch):
    args = make_args(save_on_each_node=True)
    del args.world_size
    monkeypatch.setenv("WORLD_SIZE", "2")
    config = {"train_batch_size": "auto", "zero_optimization": {}}
    td.fill_deepspeed_config(config, args)
    assert config["train_batch_size"] == 2 * 4 * 2
    assert config["checkpoint"] == {"use_node_local_storage": True}


def test_warmup_from_args_method_is_preferred():
    args = make_args()
    args.get_warmup_steps = lambda n: 7
    config = {"scheduler": {"params": {"warmup_num_steps": "auto"}}}
    td.fill_deepspeed_config(config, args, num_training_steps=100)
    assert config["scheduler"]["params"]["warmup_num_steps"] == 7
    assert td.deepspeed.warmup_steps_for(make_args(warmup_steps=5), 100) == 5
    assert td.deepspeed.warmup_steps_for(make_args(warmup_steps=0), 100) == 0


def test_load_config_from_path_string_and_dict(tmp_path):
    path = tmp_path / "ds.json"
    path.write_text(json.dumps(all_auto_config()))
    assert td.load_deepspeed_config(str(path)) == all_auto_config()
    assert td.load_deepspeed_config(json.dumps({"a": 1})) == {"a": 1}
    original = all_auto_config()
    loaded = td.load_deepspeed_config(original)
    loaded["zero_optimization"]["stage"] = 0
    assert original["zero_optimization"]["stage"] == 3, "a deep copy"
    with pytest.raises(ValueError, match="not an existing file"):
        td.load_deepspeed_config("missing.json")
    with pytest.raises(TypeError):
        td.load_deepspeed_config(3)


def test_deepspeed_dtype():
    assert td.deepspeed_dtype({"bf16": {"enabled": True}}) is torch.bfloat16
    assert (
        td.deepspeed_dtype({"fp16": {"enabled": True}, "bf16": {"enabled": False}}) is torch.float16
    )
    assert td.deepspeed_dtype({}) is torch.float32


def test_build_accelerator_with_deepspeed_plugin_on_cpu(tmp_path):
    pytest.importorskip("deepspeed")
    config = {
        "train_micro_batch_size_per_gpu": "auto",
        "train_batch_size": "auto",
        "gradient_accumulation_steps": "auto",
        "gradient_clipping": "auto",
        "bf16": {"enabled": "auto"},
        "tensor_parallel": {"autotp_size": 1},
        "zero_optimization": {"stage": 2, "reduce_bucket_size": "auto"},
    }
    path = tmp_path / "ds_config.json"
    path.write_text(json.dumps(config))
    # (use_cpu would switch DeepSpeed off, as in accelerate; this host has no GPU anyway)
    args = make_args(deepspeed=str(path), world_size=1)
    rt = td.create_runtime(args)
    assert rt.is_deepspeed_enabled
    ds_config = rt.accelerator.state.deepspeed_plugin.deepspeed_config
    assert ds_config["train_micro_batch_size_per_gpu"] == 4
    assert ds_config["train_batch_size"] == 8
    assert ds_config["gradient_accumulation_steps"] == 2
    assert ds_config["gradient_clipping"] == 0.5
    assert ds_config["bf16"]["enabled"] is True
    assert ds_config["zero_optimization"]["reduce_bucket_size"] == "auto"
    # DeepSpeed casts and synchronises by itself: the loop's contexts are no-ops
    assert rt.autocast() is td.NULL_CONTEXT
    assert rt.sync_context(torch.nn.Linear(1, 1), sync=False) is td.NULL_CONTEXT
    assert td.get_tp_size(rt.accelerator) == 1
    td.finalize_deepspeed_config(rt.accelerator, args, model_with_hidden(16), num_training_steps=10)
    assert ds_config["zero_optimization"]["reduce_bucket_size"] == 256
    assert json.loads(path.read_text()) == config, "the user's file is untouched"


def test_deepspeed_plugin_works_without_transformers(monkeypatch):
    pytest.importorskip("deepspeed")
    import importlib.metadata
    import importlib.util

    real_find_spec, real_version = importlib.util.find_spec, importlib.metadata.version

    def find_spec(name, *args):
        return None if name == "transformers" else real_find_spec(name, *args)

    def version(name):
        if name == "transformers":
            raise importlib.metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(importlib.metadata, "version", version)
    config = {"train_micro_batch_size_per_gpu": "auto", "zero_optimization": {"stage": 3}}
    rt = td.create_runtime(make_args(deepspeed=config, world_size=1))
    assert rt.is_deepspeed_enabled
    assert rt.accelerator.state.deepspeed_plugin.zero3_init_flag is False


def test_no_warmup_is_filled_as_one_step_deepspeed_accepts():
    args = make_args(warmup_steps=0)
    config = {"scheduler": {"params": {"warmup_num_steps": "auto", "total_num_steps": "auto"}}}
    td.fill_deepspeed_config(config, args, num_training_steps=20)
    assert config["scheduler"]["params"] == {"warmup_num_steps": 1, "total_num_steps": 20}
    explicit = {"scheduler": {"params": {"warmup_num_steps": 0}}}
    td.fill_deepspeed_config(explicit, args, num_training_steps=20)  # agrees with the args
    assert explicit["scheduler"]["params"]["warmup_num_steps"] == 0


@pytest.mark.parametrize(
    ("sections", "optimizer", "scheduler"),
    [
        ((), "trainer", None),
        (("scheduler",), "trainer", "DummyScheduler"),
        (("optimizer",), "DummyOptim", "callable"),
        (("optimizer", "scheduler"), "DummyOptim", "DummyScheduler"),
    ],
)
def test_who_builds_optimizer_and_schedule(sections, optimizer, scheduler):
    pytest.importorskip("deepspeed")  # accelerate exports these only with DeepSpeed
    from accelerate.utils import DummyOptim, DummyScheduler

    params = [torch.nn.Parameter(torch.zeros(2))]
    mine = torch.optim.SGD(params, lr=0.1)
    config = {section: {"type": "X", "params": {}} for section in sections}
    made = []

    def make_scheduler(opt):
        made.append(opt)
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)

    got_opt, got_sched = td.deepspeed_optimizer_and_scheduler(
        config, params, lambda: mine, make_scheduler
    )
    if optimizer == "trainer":
        assert got_opt is mine
        assert config["zero_allow_untested_optimizer"] is True
    else:
        assert isinstance(got_opt, DummyOptim) and got_opt.params is params
        assert "zero_allow_untested_optimizer" not in config
    if scheduler is None:
        assert got_sched is None  # the trainer builds it after accelerator.prepare
    else:
        assert isinstance(got_sched, DummyScheduler) and got_sched.optimizer is got_opt
        has_callable = got_sched.lr_scheduler_callable is not None
        assert has_callable == (scheduler == "callable")
        if has_callable:
            assert isinstance(
                got_sched.lr_scheduler_callable(mine), torch.optim.lr_scheduler.LambdaLR
            )
            assert made == [mine]


def test_launcher_deepspeed_plugin_gets_auto_values_from_args(monkeypatch, tmp_path):
    pytest.importorskip("deepspeed")
    path = tmp_path / "launcher_ds.json"
    path.write_text(
        json.dumps(
            {
                "train_micro_batch_size_per_gpu": "auto",
                "gradient_accumulation_steps": "auto",
                "gradient_clipping": "auto",
                "optimizer": {"type": "AdamW", "params": {"lr": "auto"}},
                "zero_optimization": {"stage": 2},
            }
        )
    )
    # what `accelerate launch --use_deepspeed --deepspeed_config_file ...` exports
    monkeypatch.setenv("ACCELERATE_USE_DEEPSPEED", "true")
    monkeypatch.setenv("ACCELERATE_DEEPSPEED_CONFIG_FILE", str(path))
    rt = td.create_runtime(make_args(world_size=1, deepspeed=None))
    assert rt.is_deepspeed_enabled
    config = rt.accelerator.state.deepspeed_plugin.deepspeed_config
    assert config["train_micro_batch_size_per_gpu"] == 4
    assert config["gradient_accumulation_steps"] == 2
    assert config["gradient_clipping"] == 0.5
    assert config["optimizer"]["params"]["lr"] == 3e-4
