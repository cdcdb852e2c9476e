"""Side by side with transformers 5.3: DeepSpeed filling, eval containers, real TrainingArguments."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest

transformers = pytest.importorskip("transformers")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import trainer_dist as td  # noqa: E402


def hf_args(**kw):
    base = {
        "output_dir": "out",
        "use_cpu": True,
        "per_device_train_batch_size": 4,
        "gradient_accumulation_steps": 3,
        "learning_rate": 2e-4,
        "adam_beta1": 0.85,
        "adam_beta2": 0.98,
        "adam_epsilon": 1e-7,
        "weight_decay": 0.05,
        "max_grad_norm": 0.7,
        "warmup_steps": 0.2,
        "bf16": True,
        "report_to": "none",
    }
    base.update(kw)
    return transformers.TrainingArguments(**base)


AUTO_CONFIG = {
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
        "stage": 3,
        "reduce_bucket_size": "auto",
        "stage3_prefetch_bucket_size": "auto",
        "stage3_param_persistence_threshold": "auto",
    },
}


@pytest.fixture
def hf_ds_config_cls():
    pytest.importorskip("deepspeed")
    from transformers.integrations.deepspeed import (
        HfTrainerDeepSpeedConfig,
        unset_hf_deepspeed_config,
    )

    yield HfTrainerDeepSpeedConfig
    unset_hf_deepspeed_config()


def transformers_fill(cls, config, args, model, steps):
    hf = cls(copy.deepcopy(config))
    hf.trainer_config_process(args)
    hf.trainer_config_finalize(args, model, steps)
    return hf.config


@pytest.mark.parametrize("stage", [2, 3])
@pytest.mark.parametrize("precision", [{"bf16": True}, {"bf16": False, "fp16_full_eval": True}])
def test_fill_matches_transformers(hf_ds_config_cls, stage, precision):
    args = hf_args(**precision, save_on_each_node=True)
    config = copy.deepcopy(AUTO_CONFIG)
    config["zero_optimization"]["stage"] = stage
    model = SimpleNamespace(config=SimpleNamespace(hidden_size=48))
    expected = transformers_fill(hf_ds_config_cls, config, args, model, 77)
    ours = td.fill_deepspeed_config(copy.deepcopy(config), args, model=model, num_training_steps=77)
    assert ours == expected


def test_mismatch_lines_match_transformers(hf_ds_config_cls):
    args = hf_args()
    config = {
        "train_micro_batch_size_per_gpu": 2,
        "gradient_accumulation_steps": 1,
        "gradient_clipping": 1.0,
        "optimizer": {
            "params": {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0}
        },
        "scheduler": {
            "params": {"warmup_max_lr": 1.0, "total_num_steps": 5, "warmup_num_steps": 3}
        },
        "fp16": {"enabled": True},
        "zero_optimization": {"stage": 2},
    }
    model = SimpleNamespace(config=SimpleNamespace(hidden_size=8))
    with pytest.raises(ValueError) as theirs:
        transformers_fill(hf_ds_config_cls, config, args, model, 10)
    with pytest.raises(td.DeepSpeedConfigMismatchError) as ours:
        td.fill_deepspeed_config(copy.deepcopy(config), args, model=model, num_training_steps=10)
    their_lines = [line for line in str(theirs.value).splitlines() if line.startswith("- ds ")]
    assert ours.value.mismatches == their_lines
    assert len(their_lines) == 11


def random_batches(seed: int, n: int = 5):
    g = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(n):
        rows = int(torch.randint(1, 4, (1,), generator=g))
        width = int(torch.randint(2, 7, (1,), generator=g))
        batches.append(
            (
                torch.randn(rows, width, 3, generator=g),
                {
                    "labels": torch.randint(0, 9, (rows, width), generator=g),
                    "loss": torch.randn(rows),
                },
            )
        )
    return batches


@pytest.mark.parametrize("do_concat", [True, False])
@pytest.mark.parametrize("accumulation", [None, 2])
def test_eval_accumulator_matches_eval_loop_container(do_concat, accumulation):
    from transformers.trainer_pt_utils import EvalLoopContainer

    theirs = EvalLoopContainer(do_concat, padding_index=-100)
    ours = td.EvalAccumulator(do_concat, padding_index=-100, accumulation_steps=accumulation)
    for step, batch in enumerate(random_batches(0)):
        theirs.add(batch)
        ours.add(batch)
        if accumulation is not None and (step + 1) % accumulation == 0:
            theirs.to_cpu_and_numpy()
            assert ours.maybe_offload(step)
            assert ours.num_pending == 0
        else:
            assert not ours.maybe_offload(step)
    expected, got = theirs.get_arrays(), ours.get_arrays()
    assert_nested_equal(got, expected)


def test_nested_helpers_match_transformers():
    from transformers import trainer_pt_utils as hf

    a, b = random_batches(1, 2)
    assert_nested_equal(td.nested_concat(a, b), hf.nested_concat(a, b))
    na, nb = hf.nested_numpify(a), hf.nested_numpify(b)
    assert_nested_equal(td.nested_concat(na, nb), hf.nested_concat(na, nb))
    assert_nested_equal(td.nested_numpify(a), hf.nested_numpify(a))
    assert td.find_batch_size(a) == hf.find_batch_size(a)
    assert_nested_equal(td.nested_truncate(a, 1), hf.nested_truncate(a, 1))
    bf = torch.ones(2, 2, dtype=torch.bfloat16)
    assert td.nested_numpify(bf).dtype == hf.nested_numpify(bf).dtype == np.float32


def assert_nested_equal(got, expected):
    assert type(got) is type(expected)
    if isinstance(expected, (list, tuple)):
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert_nested_equal(g, e)
    elif isinstance(expected, dict):
        assert got.keys() == expected.keys()
        for k in expected:
            assert_nested_equal(got[k], expected[k])
    elif isinstance(expected, torch.Tensor):
        assert torch.equal(got, expected)
    else:
        np.testing.assert_array_equal(got, expected)
        assert got.dtype == expected.dtype


def test_build_accelerator_from_transformers_training_arguments():
    args = hf_args(
        bf16=True,
        gradient_accumulation_steps=2,
        ddp_find_unused_parameters=False,
        ddp_timeout=99,
        accelerator_config={"even_batches": False, "non_blocking": True},
        data_seed=11,
    )
    rt = td.create_runtime(args)
    assert rt.mixed_precision == "bf16"
    assert rt.gradient_accumulation_steps == 2
    assert rt.accelerator.dataloader_config.even_batches is False
    assert rt.accelerator.dataloader_config.non_blocking is True
    assert rt.accelerator.dataloader_config.data_seed == 11
    assert rt.accelerator.ddp_handler.find_unused_parameters is False
    assert rt.accelerator.init_handler.timeout.total_seconds() == 99
    assert td.full_eval_dtype(args) is None
    assert td.autocast_context(args, rt.accelerator) is not td.NULL_CONTEXT


def test_fsdp_kwargs_match_transformers_plugin_args():
    args = hf_args(
        bf16=False,
        fsdp="full_shard auto_wrap",
        fsdp_config={
            "transformer_layer_cls_to_wrap": ["Block"],
            "backward_prefetch": "backward_post",
        },
    )
    ours = td.fsdp_plugin_kwargs(args)
    theirs = dict(args.fsdp_plugin_args)

    def norm(v):
        return str(getattr(v, "value", v)).upper()

    assert {k: norm(v) for k, v in ours.items()} == {k: norm(v) for k, v in theirs.items()}
