"""Real two-process CPU run (torch.distributed with gloo) of the runtime and gather helpers."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.launch import run_distributed

WORKER = Path(__file__).with_name("dist_worker.py")


@pytest.mark.distributed
@pytest.mark.slow
def test_two_processes_build_runtime_and_gather_uneven_tensors():
    outputs = run_distributed(WORKER, nprocs=2, timeout=240)
    for rank, out in enumerate(outputs):
        assert f"WORKER OK {rank}" in out, out
