"""Run a function in N processes on CPU with the gloo backend (real torch.distributed)."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_distributed(
    script: str | Path,
    nprocs: int = 2,
    args: list[str] | None = None,
    timeout: int = 300,
    env: dict[str, str] | None = None,
) -> list[str]:
    """Launch ``script`` under torchrun-style environment variables on ``nprocs`` CPU processes.

    ``env`` adds or overrides variables (e.g. ``ACCELERATE_USE_CPU="false"`` for DeepSpeed, which
    accelerate switches off when told to use the CPU). Returns each rank's combined output;
    raises ``AssertionError`` with every rank's output when any rank fails.
    """
    port = free_port()
    extra_env = dict(env or {})
    procs = []
    for rank in range(nprocs):
        proc_env = dict(os.environ)
        proc_env.update(
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=str(port),
            WORLD_SIZE=str(nprocs),
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            LOCAL_WORLD_SIZE=str(nprocs),
            ACCELERATE_USE_CPU="true",
            CUDA_VISIBLE_DEVICES="",
            OMP_NUM_THREADS="1",
        )
        proc_env.update(extra_env)
        procs.append(
            subprocess.Popen(
                [sys.executable, str(script), *(args or [])],
                env=proc_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = []
    failed = False
    for p in procs:
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
            failed = True
        outputs.append(out)
        failed |= p.returncode != 0
    if failed:
        joined = "\n".join(f"--- rank {i} ---\n{o}" for i, o in enumerate(outputs))
        raise AssertionError(f"distributed run failed:\n{joined}")
    return outputs


def load_script(path: str | Path):
    """Import a worker script as a module, so a test can call its functions in-process too."""
    path = Path(path)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def worker_done(rank: int) -> None:
    """End a worker cleanly: wait for every rank, tear down the process group, say so.

    Leaving the gloo group to interpreter shutdown can abort a process ("terminate called
    without an active exception") after its work succeeded.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    print(f"WORKER OK {rank}", flush=True)
