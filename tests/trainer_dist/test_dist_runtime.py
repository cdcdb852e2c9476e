"""Autocast, model setup helpers, parallel sizes, seeding and the batch-size finder."""

from __future__ import annotations

import os
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import trainer_dist as td
from helpers.models import TinyMLP, classification_data


def make_args(**kw):
    base = {"use_cpu": True}
    base.update(kw)
    return SimpleNamespace(**base)


def test_bf16_autocast_on_cpu_runs_forward_and_backward():
    args = make_args(bf16=True)
    acc = td.build_accelerator(args)
    model = TinyMLP()
    batch = classification_data(n=8)
    x = torch.stack([b["x"] for b in batch])
    labels = torch.stack([b["labels"] for b in batch])
    ctx = td.autocast_context(args, acc)
    assert isinstance(ctx, torch.autocast)
    with ctx:
        out = model(x, labels=labels)
        inner = model.net[0](x)
    assert inner.dtype == torch.bfloat16
    out["loss"].backward()
    assert model.net[0].weight.grad is not None
    assert model.net[0].weight.grad.dtype == torch.float32
    assert torch.isfinite(out["loss"]).item()


def test_prepared_model_autocasts_itself_in_bf16():
    acc = td.build_accelerator(make_args(bf16=True))
    layer = torch.nn.Linear(4, 4)
    x = torch.randn(2, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected = layer(x).float()
    model = acc.prepare(layer)
    out = model(x)  # accelerate runs forward in bf16 and returns fp32 outputs
    assert out.dtype == torch.float32
    assert torch.equal(out, expected)
    assert not torch.equal(out, torch.nn.functional.linear(x, layer.weight, layer.bias))


def test_autocast_without_accelerator_and_fp16_on_cpu():
    ctx = td.autocast_context(make_args(bf16=True))
    assert isinstance(ctx, torch.autocast)
    with ctx:
        assert (torch.randn(2, 2) @ torch.randn(2, 2)).dtype == torch.bfloat16
    # accelerate trains fp16 in fp32 on CPU (no native AMP there), and so do we
    assert td.autocast_context(make_args(fp16=True)) is td.NULL_CONTEXT
    acc = td.build_accelerator(make_args(fp16=True))
    assert acc.scaler is None
    assert td.autocast_context(make_args(fp16=True), acc) is td.NULL_CONTEXT
    assert td.autocast_context(make_args()) is td.NULL_CONTEXT


def test_runtime_autocast_method_and_cache_flag():
    rt = td.create_runtime(make_args(bf16=True))
    ctx = rt.autocast(cache_enabled=False)
    assert isinstance(ctx, torch.autocast)
    assert ctx._cache_enabled is False


def test_full_eval_dtype():
    assert td.full_eval_dtype(make_args()) is None
    assert td.full_eval_dtype(make_args(bf16_full_eval=True)) is torch.bfloat16
    assert td.full_eval_dtype(make_args(fp16_full_eval=True)) is torch.float16


class Checkpointable(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.calls = []

    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs=None):
        self.calls.append(gradient_checkpointing_kwargs)


def test_apply_gradient_checkpointing():
    model = Checkpointable()
    assert td.apply_gradient_checkpointing(model, make_args()) is False
    assert model.calls == []
    args = make_args(
        gradient_checkpointing=True, gradient_checkpointing_kwargs={"use_reentrant": False}
    )
    assert td.apply_gradient_checkpointing(model, args) is True
    assert model.calls == [{"use_reentrant": False}]
    args_json = make_args(
        gradient_checkpointing=True, gradient_checkpointing_kwargs='{"use_reentrant": true}'
    )
    td.apply_gradient_checkpointing(model, args_json)
    assert model.calls[-1] == {"use_reentrant": True}
    with pytest.raises(ValueError, match="gradient_checkpointing_enable"):
        td.apply_gradient_checkpointing(
            torch.nn.Linear(2, 2), make_args(gradient_checkpointing=True)
        )


def test_maybe_compile_wraps_once():
    model = torch.nn.Linear(2, 2)
    assert td.maybe_compile(model, make_args()) is model
    compiled = td.maybe_compile(model, make_args(torch_compile_backend="eager"))
    assert isinstance(compiled, torch._dynamo.eval_frame.OptimizedModule)
    assert td.maybe_compile(compiled, make_args(torch_compile=True)) is compiled
    assert td.unwrap_model(compiled) is model
    assert td.unwrap_model(compiled, keep_torch_compile=True) is compiled


def test_unwrap_model_with_accelerator():
    acc = td.build_accelerator(make_args())
    model = torch.nn.Linear(2, 2)
    prepared = acc.prepare(model)
    assert td.unwrap_model(prepared, acc) is model
    assert td.unwrap_model(prepared, recursive=True) is model


def test_parallel_sizes_default_to_one_and_read_configs():
    acc = td.build_accelerator(make_args())
    assert td.get_tp_size(acc) == 1
    assert td.get_cp_size(acc) == 1
    assert td.get_sp_size(acc) == 1
    pc = SimpleNamespace(tp_size=2, cp_size=4, sp_size=8)
    args = make_args(parallelism_config=pc)
    assert td.get_tp_size(args=args) == 2
    assert td.get_cp_size(args=args) == 4
    assert td.get_sp_size(args=args) == 8
    model = SimpleNamespace(_tp_size=3)
    assert td.get_tp_size(acc, model=model) == 3


def test_set_seed_reproduces_all_generators():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    td.set_seed(123)
    first = draw()
    td.set_seed(123)
    assert draw() == first
    td.set_seed(124)
    assert draw() != first


def test_set_seed_deterministic_and_full_determinism(monkeypatch):
    for name in (
        "CUDA_LAUNCH_BLOCKING",
        "CUBLAS_WORKSPACE_CONFIG",
        "FLASH_ATTENTION_DETERMINISTIC",
    ):
        monkeypatch.delenv(name, raising=False)
    before = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
    )
    try:
        td.set_seed(1, deterministic=True)
        assert torch.are_deterministic_algorithms_enabled()
        torch.use_deterministic_algorithms(False)
        td.enable_full_determinism(5, warn_only=True)
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled()
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"
        assert os.environ["CUDA_LAUNCH_BLOCKING"] == "1"
        assert torch.backends.cudnn.deterministic is True
        assert torch.backends.cudnn.benchmark is False
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        torch.backends.cudnn.deterministic = before[2]
        torch.backends.cudnn.benchmark = before[3]


def test_find_executable_batch_size_shrinks_on_oom():
    tried = []

    def train(batch_size, tag):
        tried.append(batch_size)
        if batch_size > 16:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2 GiB")
        return batch_size, tag

    runner = td.find_executable_batch_size(train, starting_batch_size=20, auto_find_batch_size=True)
    assert runner("x") == (16, "x")
    assert tried == [20, 18, 16]


def test_find_executable_batch_size_disabled_calls_once():
    seen = []

    @td.find_executable_batch_size(starting_batch_size=8)
    def train(batch_size):
        seen.append(batch_size)
        return batch_size

    assert train() == 8
    assert seen == [8]
