"""Run a function in N processes on CPU with the gloo backend (real torch.distributed), and
import scripts (workers, the repository's tools) as modules."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[2]


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


def load_script(path: str | Path, module_name: str | None = None) -> ModuleType:
    """Import a script as a module, so a test can call its functions in-process too.

    With ``module_name`` the module takes that name and is put in ``sys.modules`` before it runs:
    a dataclass whose annotations are strings looks its module up there.
    """
    path = Path(path)
    spec = importlib.util.spec_from_file_location(module_name or path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    if module_name is not None:
        sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def load_tool(name: str) -> ModuleType:
    """``tools/<name>.py`` of the repository as the module ``_tool_<name>``."""
    return load_script(REPO_ROOT / "tools" / f"{name}.py", module_name=f"_tool_{name}")


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
