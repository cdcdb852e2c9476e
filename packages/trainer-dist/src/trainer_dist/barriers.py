"""``torch_distributed_zero_first``: let local rank 0 run a block before the other processes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

__all__ = ["torch_distributed_zero_first"]


@contextlib.contextmanager
def torch_distributed_zero_first(local_rank: int) -> Iterator[None]:
    """Run the block on local rank 0 (or a single process, ``local_rank=-1``) first.

    The other ranks wait at a barrier until rank 0 has finished the block, then run it
    themselves; useful for downloading or caching once per machine. Without an initialised
    process group it is a no-op.
    """
    synchronise = local_rank != -1 and torch.distributed.is_available()
    synchronise = synchronise and torch.distributed.is_initialized()
    if synchronise and local_rank != 0:
        torch.distributed.barrier()
    yield
    if synchronise and local_rank == 0:
        torch.distributed.barrier()
