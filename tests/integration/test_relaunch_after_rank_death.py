"""A torchrun job whose rank dies is started again and ends bitwise equal to an uninterrupted one.

The requeue pattern of SLURM and Kubernetes: the launcher starts the same command again
(``torchrun --max-restarts=1`` here, ``TORCHELASTIC_RESTART_COUNT=1``), and the job resumes from
the newest whole checkpoint in its output_dir. torchrun hands the restarted group the store of
the dead attempt; ``trainer_dist.elastic`` gives it keys of its own (without that, about half the
restarts failed to connect on this test).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from helpers.launch import free_port  # noqa: E402

WORKER = Path(__file__).with_name("relaunch_worker.py")

pytestmark = [pytest.mark.distributed, pytest.mark.slow]


def _torchrun(out: Path, kill: bool) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="", ACCELERATE_USE_CPU="true")
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node=2",
        "--max-restarts=1",
        f"--master-port={free_port()}",
        str(WORKER),
        str(out),
        "1" if kill else "0",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def test_relaunched_job_resumes_from_the_newest_checkpoint_bitwise(tmp_path):
    _torchrun(tmp_path / "whole", kill=False)
    done = _torchrun(tmp_path / "killed", kill=True)
    assert "attempt 1 resumes from" in done.stdout and "checkpoint-4" in done.stdout
    expected = torch.load(tmp_path / "whole" / "final.pt", weights_only=True)
    got = torch.load(tmp_path / "killed" / "final.pt", weights_only=True)
    for key in expected:
        assert torch.equal(expected[key], got[key]), key
