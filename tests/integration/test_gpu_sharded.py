"""FSDP and DeepSpeed ZeRO-2 training, checkpoints and resume on CUDA (skipped without a GPU).

Uses every visible GPU up to two, one process each; one GPU is enough (a world of one still
goes through FSDP/DeepSpeed). On CPU, ZeRO-2 is covered by ``test_deepspeed_cpu.py``; FSDP cannot
run there (accelerate falls back to DDP, see docs/distributed.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trainer_loop")

from helpers.launch import run_distributed  # noqa: E402

WORKER = Path(__file__).with_name("gpu_sharded_worker.py")
RESUME_FROM = 3

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.distributed,
    pytest.mark.slow,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    pytest.importorskip("deepspeed")
    nprocs = min(2, torch.cuda.device_count())
    visible = os.environ.get("CUDA_VISIBLE_DEVICES") or ",".join(map(str, range(nprocs)))
    root = tmp_path_factory.mktemp("gpu")
    outputs = run_distributed(
        WORKER,
        nprocs=nprocs,
        args=[str(root)],
        timeout=600,
        env={"ACCELERATE_USE_CPU": "false", "CUDA_VISIBLE_DEVICES": visible},
    )
    for rank, out in enumerate(outputs):
        assert f"WORKER OK {rank}" in out, out
    return {
        "results": torch.load(root / "gpu.pt", weights_only=False),
        "root": root,
        "nprocs": nprocs,
    }


def rng_files(nprocs: int) -> set[str]:
    return {"rng_state.pth"} if nprocs == 1 else {f"rng_state_{r}.pth" for r in range(nprocs)}


@pytest.mark.parametrize("version", [1, 2])
def test_fsdp_trains_checkpoints_and_resumes(runs, version):
    run = runs["results"][f"fsdp{version}"]
    assert run["enabled"]
    if version == 1:
        assert run["model_wrapped_type"] == "FullyShardedDataParallel"
    assert run["weights"], "no full state dict gathered on rank 0"
    assert run["resumed_losses"] == pytest.approx(run["losses"], rel=1e-5)
    for name, value in run["weights"].items():
        torch.testing.assert_close(run["resumed_weights"][name], value, rtol=1e-5, atol=1e-6)
    checkpoint = runs["root"] / f"fsdp{version}" / f"checkpoint-{RESUME_FROM}"
    names = {p.name for p in checkpoint.iterdir()}
    assert rng_files(runs["nprocs"]) | {"trainer_state.json", "scheduler.pt"} <= names
    assert (runs["root"] / f"fsdp{version}" / "model.safetensors").is_file()


def test_zero2_trains_checkpoints_and_resumes(runs):
    run = runs["results"]["zero2"]
    assert run["model_wrapped_type"] == "DeepSpeedEngine" and run["zero_stage"] == 2
    assert run["resumed_losses"] == pytest.approx(run["losses"], rel=1e-5)
    for name, value in run["weights"].items():
        torch.testing.assert_close(run["resumed_weights"][name], value, rtol=1e-5, atol=1e-6)
    checkpoint = runs["root"] / "zero2" / f"checkpoint-{RESUME_FROM}"
    names = {p.name for p in checkpoint.iterdir()}
    assert rng_files(runs["nprocs"]) | {f"global_step{RESUME_FROM}", "scheduler.pt"} <= names
