"""build_accelerator / create_runtime configured from argument namespaces (single process, CPU)."""

from __future__ import annotations

import contextlib
import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
import torch
import trainer_dist as td
from trainer_dist._args import accelerator_config_dict


def make_args(**kw):
    base = {"use_cpu": True}
    base.update(kw)
    return SimpleNamespace(**base)


def test_defaults_cpu_no_mixed_precision():
    acc = td.build_accelerator(make_args())
    assert acc.device.type == "cpu"
    assert acc.state.mixed_precision == "no"
    assert acc.scaler is None
    assert acc.num_processes == 1
    assert acc.gradient_state.num_steps == 1


@pytest.mark.parametrize(
    ("flags", "expected"), [({"bf16": True}, "bf16"), ({"fp16": True}, "fp16"), ({}, "no")]
)
def test_mixed_precision_from_flags(flags, expected):
    assert td.mixed_precision_from_args(make_args(**flags)) == expected
    acc = td.build_accelerator(make_args(**flags))
    assert acc.state.mixed_precision == expected


def test_mixed_precision_env_fallback(monkeypatch):
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "bf16")
    assert td.mixed_precision_from_args(make_args()) == "bf16"
    assert td.mixed_precision_from_args(make_args(fp16=True)) == "fp16"


def test_gradient_accumulation_passed_to_accelerate():
    acc = td.build_accelerator(make_args(gradient_accumulation_steps=4))
    assert acc.gradient_state.num_steps == 4


def test_gradient_accumulation_kwargs_num_steps_updates_args():
    args = make_args(
        gradient_accumulation_steps=1,
        accelerator_config={
            "gradient_accumulation_kwargs": {"num_steps": 3, "sync_each_batch": True}
        },
    )
    acc = td.build_accelerator(args)
    assert args.gradient_accumulation_steps == 3
    assert acc.gradient_state.num_steps == 3
    assert acc.gradient_state.plugin_kwargs["sync_each_batch"] is True


def test_gradient_accumulation_conflict_raises():
    args = make_args(
        gradient_accumulation_steps=2,
        accelerator_config={"gradient_accumulation_kwargs": {"num_steps": 3}},
    )
    with pytest.raises(ValueError, match="num_steps"):
        td.build_accelerator(args)


def test_kwargs_handlers_from_ddp_fields():
    args = make_args(
        ddp_find_unused_parameters=False,
        ddp_bucket_cap_mb=64,
        ddp_broadcast_buffers=False,
        ddp_timeout=123,
    )
    acc = td.build_accelerator(args)
    assert acc.ddp_handler.find_unused_parameters is False
    assert acc.ddp_handler.bucket_cap_mb == 64
    assert acc.ddp_handler.broadcast_buffers is False
    assert acc.init_handler.timeout == timedelta(seconds=123)
    assert acc.init_handler.backend is None


def test_find_unused_parameters_default_follows_model():
    class Checkpointed(torch.nn.Module):
        is_gradient_checkpointing = True

    assert td.ddp_kwargs_from_args(make_args()).find_unused_parameters is True
    assert td.ddp_kwargs_from_args(make_args(), Checkpointed()).find_unused_parameters is False
    plain = SimpleNamespace(is_gradient_checkpointing=False)
    assert td.ddp_kwargs_from_args(make_args(), plain).find_unused_parameters is True
    gc_args = make_args(gradient_checkpointing=True)
    assert td.ddp_kwargs_from_args(gc_args, plain).find_unused_parameters is False
    defaults = td.ddp_kwargs_from_args(make_args())
    assert defaults.bucket_cap_mb == 25 and defaults.broadcast_buffers is True


def test_dataloader_config_from_accelerator_config(tmp_path):
    path = tmp_path / "acc.json"
    path.write_text(
        json.dumps({"split_batches": True, "even_batches": False, "use_seedable_sampler": False})
    )
    acc = td.build_accelerator(make_args(accelerator_config=str(path), data_seed=7))
    cfg = acc.dataloader_config
    assert cfg.split_batches is True
    assert cfg.even_batches is False
    assert cfg.use_seedable_sampler is False
    assert cfg.data_seed == 7
    assert cfg.non_blocking is False


def test_accelerator_config_dataclass_and_unknown_key():
    from dataclasses import dataclass

    @dataclass
    class Cfg:
        split_batches: bool = False
        dispatch_batches: bool | None = None
        even_batches: bool = True
        use_seedable_sampler: bool = True
        non_blocking: bool = True
        gradient_accumulation_kwargs: dict | None = None
        use_configured_state: bool = False

    assert accelerator_config_dict(make_args(accelerator_config=Cfg()))["non_blocking"] is True
    with pytest.raises(ValueError, match="bogus"):
        accelerator_config_dict(make_args(accelerator_config={"bogus": 1}))


def test_use_configured_state_requires_existing_state():
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    with pytest.raises(ValueError, match="use_configured_state"):
        td.build_accelerator(make_args(accelerator_config={"use_configured_state": True}))


def test_rebuild_with_other_args_resets_state():
    first = td.build_accelerator(make_args(bf16=True, gradient_accumulation_steps=2))
    assert first.state.mixed_precision == "bf16"
    second = td.build_accelerator(make_args(gradient_accumulation_steps=1))
    assert second.state.mixed_precision == "no"
    assert second.gradient_state.num_steps == 1


def test_tf32_request_without_ampere_raises():
    if torch.cuda.is_available():
        pytest.skip("CPU-only check")
    with pytest.raises(ValueError, match="tf32"):
        td.build_accelerator(make_args(tf32=True))
    td.apply_tf32(make_args(tf32=False))  # nothing to switch off: no error


def test_torch_compile_sets_dynamo_plugin():
    acc = td.build_accelerator(make_args(torch_compile=True, torch_compile_mode="reduce-overhead"))
    assert str(acc.state.dynamo_plugin.backend.value).lower() == "inductor"
    assert acc.state.dynamo_plugin.mode == "reduce-overhead"
    plain = td.build_accelerator(make_args())
    assert str(plain.state.dynamo_plugin.backend.value).lower() == "no"


def test_runtime_exposes_process_facts():
    rt = td.create_runtime(make_args(bf16=True, gradient_accumulation_steps=2))
    assert rt.world_size == 1
    assert rt.process_index == 0 and rt.local_process_index == 0
    assert rt.is_main_process and rt.is_local_main_process
    assert rt.device.type == "cpu"
    assert rt.mixed_precision == "bf16"
    assert rt.gradient_accumulation_steps == 2
    assert not rt.is_deepspeed_enabled and not rt.is_fsdp_enabled
    assert "world_size=1" in repr(rt)


def test_runtime_sync_controls_are_cheap_single_process():
    rt = td.create_runtime(make_args(gradient_accumulation_steps=2))
    model = torch.nn.Linear(2, 2)
    assert rt.sync_context(model, sync=False) is td.NULL_CONTEXT
    assert rt.sync_context(model, sync=True) is td.NULL_CONTEXT
    rt.set_sync_gradients(False)
    assert rt.accelerator.sync_gradients is False
    rt.set_sync_gradients(True)
    assert rt.accelerator.sync_gradients is True


def test_main_process_first_single_process():
    rt = td.create_runtime(make_args())
    order = []
    with td.main_process_first(rt.accelerator, local=True):
        order.append("body")
    with td.main_process_first(rt.accelerator, local=False, desc="tokenize"):
        order.append("body")
    rt.wait_for_everyone()
    assert order == ["body", "body"]


def test_gather_function_binds_use_gather_object():
    rt = td.create_runtime(make_args())
    gather = rt.gather_function(use_gather_object=False)
    out = gather(torch.arange(3))
    assert out.tolist() == [0, 1, 2]


def test_fsdp_options_normalisation():
    assert td.accelerator.normalize_fsdp_options(None) == []
    assert td.accelerator.normalize_fsdp_options(True) == ["full_shard"]
    assert td.accelerator.normalize_fsdp_options("full_shard auto_wrap") == [
        "full_shard",
        "auto_wrap",
    ]
    with pytest.raises(ValueError, match="offload"):
        td.accelerator.normalize_fsdp_options("offload")
    with pytest.raises(ValueError, match="shard_grad_op"):
        td.accelerator.normalize_fsdp_options(["full_shard", "shard_grad_op"])
    with pytest.raises(ValueError, match="not one of"):
        td.accelerator.normalize_fsdp_options("sharded_everything")


def test_fsdp_plugin_kwargs_v1():
    args = make_args(
        fsdp="full_shard offload auto_wrap",
        fsdp_config={
            "fsdp_transformer_layer_cls_to_wrap": "Block",
            "backward_prefetch": "backward_pre",
            "forward_prefetch": "true",
        },
    )
    kw = td.fsdp_plugin_kwargs(args)
    assert kw["sharding_strategy"] == "FULL_SHARD"
    assert kw["cpu_offload"] is True
    assert kw["auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP"
    assert kw["transformer_cls_names_to_wrap"] == "Block"
    assert kw["fsdp_version"] == 1
    assert kw["backward_prefetch"] == "BACKWARD_PRE"
    assert kw["forward_prefetch"] is True
    assert kw["use_orig_params"] is True
    assert kw["sync_module_states"] is True and kw["cpu_ram_efficient_loading"] is False
    assert args.fsdp_config == {
        "fsdp_transformer_layer_cls_to_wrap": "Block",
        "backward_prefetch": "backward_pre",
        "forward_prefetch": "true",
    }, "the user's dict is not mutated"


def test_fsdp_plugin_kwargs_v2_and_size_wrap():
    kw = td.fsdp_plugin_kwargs(
        make_args(
            fsdp=["shard_grad_op", "auto_wrap"], fsdp_config={"version": 2, "min_num_params": 100}
        )
    )
    assert kw["sharding_strategy"] == "SHARD_GRAD_OP"
    assert kw["auto_wrap_policy"] == "SIZE_BASED_WRAP" and kw["min_num_params"] == 100
    assert kw["fsdp_version"] == 2 and kw["reshard_after_forward"] is False
    assert "use_orig_params" not in kw
    assert td.fsdp_plugin_kwargs(make_args()) is None


def test_fsdp_config_errors():
    with pytest.raises(ValueError, match="mutually|both"):
        td.fsdp_plugin_kwargs(
            make_args(
                fsdp="full_shard auto_wrap",
                fsdp_config={"min_num_params": 10, "transformer_layer_cls_to_wrap": ["A"]},
            )
        )
    with pytest.raises(ValueError, match="sync_module_states"):
        td.fsdp_plugin_kwargs(
            make_args(
                fsdp="full_shard",
                fsdp_config={"sync_module_states": "false", "cpu_ram_efficient_loading": "true"},
            )
        )
    with pytest.raises(ValueError, match="activation_checkpointing"):
        td.fsdp_plugin_kwargs(
            make_args(
                fsdp="full_shard",
                gradient_checkpointing=True,
                fsdp_config={"activation_checkpointing": True},
            )
        )


def test_build_fsdp_plugin_object():
    # sync_module_states needs an accelerator device; switched off for this CPU check
    config = {"limit_all_gathers": True, "sync_module_states": False}
    plugin = td.build_fsdp_plugin(make_args(fsdp="full_shard", fsdp_config=config))
    assert plugin is not None
    assert "FULL_SHARD" in str(plugin.sharding_strategy)
    assert plugin.limit_all_gathers is True


def test_autocast_context_is_shared_noop_without_mixed_precision():
    acc = td.build_accelerator(make_args())
    ctx = td.autocast_context(make_args(), acc)
    assert ctx is td.NULL_CONTEXT
    assert isinstance(ctx, contextlib.nullcontext)


def test_ddp_backend_in_a_single_process_needs_no_process_group():
    # accelerate would ask torch.distributed for the world size of a group nobody created
    acc = td.build_accelerator(make_args(use_cpu=False, ddp_backend="gloo"))
    assert acc.num_processes == 1
    assert not torch.distributed.is_initialized()


@pytest.mark.skipif(torch.cuda.is_available(), reason="FSDP is enabled on a GPU host")
def test_fsdp_on_cpu_explains_what_happens(caplog):
    with pytest.raises(RuntimeError, match="sync_module_states"):
        td.build_accelerator(make_args(fsdp="full_shard"))
    args = make_args(fsdp="full_shard", fsdp_config={"sync_module_states": False})
    with caplog.at_level("WARNING", logger="trainer_dist"):
        acc = td.build_accelerator(args)
    assert getattr(acc.state, "fsdp_plugin", None) is None
    assert "fsdp='full_shard' is ignored" in caplog.text


def test_launched_processes_that_would_train_alone_are_refused(monkeypatch):
    # A launcher says 2 processes, but without use_cpu (and no GPU) accelerate sets up one.
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(RuntimeError, match="use_cpu=True"):
        td.build_accelerator(make_args(use_cpu=False))
