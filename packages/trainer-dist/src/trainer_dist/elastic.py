"""A worker group that torchrun restarts in place gets a store of its own.

torchrun's agent keeps one TCPStore for the whole job and hands it to every attempt's workers
under the same keys (pytorch/pytorch#135712, with the default static rendezvous and with c10d's
shared store). A group restarted by ``--max-restarts`` can then read the addresses the previous,
dead attempt published, and its process group fails to connect (gloo's ``connectFullMesh``,
NCCL's socket connect) or waits on a peer that no longer exists; whether it does depends on
which rank writes first.

On a restarted attempt (``TORCHELASTIC_RESTART_COUNT`` above 0) whose ranks all run under one
agent, :func:`join_restarted_group` sets up the process group itself on a view of the agent's
store prefixed with the attempt, before accelerate would set it up on the shared keys. Several
agents (several nodes) count their restarts apart, so no prefix is safe there: it says once
what to launch with instead. A job that a scheduler starts again from scratch (SLURM, Kubernetes)
gets a new agent and a new store, and needs none of this.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta

logger = logging.getLogger(__name__)

__all__ = ["join_restarted_group", "restart_attempt"]


def restart_attempt() -> int:
    """How many times torchrun restarted this worker group (0 on the first attempt)."""
    try:
        return int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0") or 0)
    except ValueError:
        return 0


def join_restarted_group(backend: str, timeout: timedelta) -> bool:
    """Set up the default process group of a restarted single-node torchrun attempt on its own
    store keys; returns True when it did.

    Does nothing on a first attempt, outside torchrun's agent store, when a process group
    exists already, or with several agents (where it logs the launch settings that avoid the
    stale keys: ``--rdzv-backend=c10d`` with ``TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1``).
    """
    attempt = restart_attempt()
    if attempt == 0 or os.environ.get("TORCHELASTIC_USE_AGENT_STORE") != "True":
        return False
    import torch.distributed as dist

    if not dist.is_available() or dist.is_initialized():
        return False
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world != int(os.environ.get("LOCAL_WORLD_SIZE", str(world))):
        logger.warning(
            "torchrun restarted this worker group (attempt %d) and its agents share one store "
            "with the previous attempt, whose stale addresses can fail or stall the process group "
            "set-up (pytorch/pytorch#135712). Launch with --rdzv-backend=c10d and "
            "TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1 to give each attempt a store of its own.",
            attempt,
        )
        return False
    store = dist.TCPStore(
        os.environ["MASTER_ADDR"],
        int(os.environ["MASTER_PORT"]),
        world,
        is_master=False,
        timeout=timeout,
    )
    dist.init_process_group(
        backend,
        store=dist.PrefixStore(f"trainer/restart_{attempt}", store),
        rank=int(os.environ["RANK"]),
        world_size=world,
        timeout=timeout,
    )
    logger.info(
        "torchrun attempt %d: the process group uses store keys of its own (a restarted group "
        "would otherwise read the previous attempt's).",
        attempt,
    )
    return True
