"""The runtime built from the sibling package's ``trainer_args.TrainingArguments``."""

from __future__ import annotations

import pytest

trainer_args = pytest.importorskip("trainer_args")
TrainingArguments = getattr(trainer_args, "TrainingArguments", None)
if TrainingArguments is None:  # pragma: no cover - only while trainer_args is being written
    pytest.skip("trainer_args.TrainingArguments not available yet", allow_module_level=True)

import trainer_dist as td  # noqa: E402


def test_runtime_from_trainer_args():
    args = TrainingArguments(
        output_dir="out",
        use_cpu=True,
        bf16=True,
        gradient_accumulation_steps=2,
        accelerator_config={"even_batches": False},
        ddp_timeout=321,
    )
    rt = td.create_runtime(args)
    assert rt.mixed_precision == "bf16"
    assert rt.gradient_accumulation_steps == 2
    assert rt.world_size == args.world_size == 1
    assert rt.accelerator.dataloader_config.even_batches is False
    assert rt.accelerator.init_handler.timeout.total_seconds() == 321


def test_fsdp_and_deepspeed_from_trainer_args():
    args = TrainingArguments(
        output_dir="out",
        use_cpu=True,
        fsdp="full_shard auto_wrap",
        fsdp_config={"transformer_layer_cls_to_wrap": "Block"},
    )
    kwargs = td.fsdp_plugin_kwargs(args)
    assert kwargs["sharding_strategy"] == "FULL_SHARD"
    assert kwargs["transformer_cls_names_to_wrap"] == "Block"
    config = {
        "train_batch_size": "auto",
        "gradient_accumulation_steps": "auto",
        "zero_optimization": {},
    }
    td.fill_deepspeed_config(
        config, TrainingArguments(output_dir="out", gradient_accumulation_steps=4)
    )
    assert config["gradient_accumulation_steps"] == 4
    assert config["train_batch_size"] == 8 * 4
