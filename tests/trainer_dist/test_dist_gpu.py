"""Checks that need a CUDA device (skipped without one)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
import trainer_dist as td

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_fp16_on_gpu_has_grad_scaler_and_autocast():
    args = SimpleNamespace(fp16=True)
    rt = td.create_runtime(args)
    assert rt.device.type == "cuda"
    assert rt.scaler is not None
    ctx = rt.autocast()
    assert isinstance(ctx, torch.autocast)
    with ctx:
        out = torch.nn.Linear(4, 4).cuda()(torch.randn(2, 4, device="cuda"))
    assert out.dtype == torch.float16


def test_bf16_on_gpu_autocast():
    rt = td.create_runtime(SimpleNamespace(bf16=True))
    with rt.autocast():
        out = torch.randn(2, 4, device="cuda") @ torch.randn(4, 4, device="cuda")
    assert out.dtype == torch.bfloat16
    assert rt.scaler is None


def test_tf32_switch():
    major = torch.cuda.get_device_properties(0).major
    if major < 8:
        pytest.skip("TF32 needs Ampere or newer")
    new_api = hasattr(torch.backends, "fp32_precision")
    before = torch.backends.fp32_precision if new_api else torch.backends.cuda.matmul.allow_tf32

    def enabled():
        if new_api:
            return torch.backends.fp32_precision == "tf32"
        return torch.backends.cuda.matmul.allow_tf32

    try:
        td.apply_tf32(SimpleNamespace(tf32=True))
        assert enabled()
        td.apply_tf32(SimpleNamespace(tf32=False))
        assert not enabled()
    finally:
        if new_api:
            torch.backends.fp32_precision = before
        else:
            torch.backends.cuda.matmul.allow_tf32 = before


def test_fsdp_plugin_builds_with_sync_module_states():
    plugin = td.build_fsdp_plugin(SimpleNamespace(fsdp="full_shard auto_wrap"))
    assert plugin.sync_module_states is True
