"""What the launcher started versus what accelerate set up, and the checks between the two."""

from __future__ import annotations

import os

from accelerate import Accelerator
from accelerate.utils import DistributedType


def launched_world_size() -> int:
    """The number of processes a launcher (torchrun, accelerate, deepspeed, MPI) says it started."""
    names = ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
    return max(int(os.environ.get(name, "1") or "1") for name in names)


def launched_distributed() -> bool:
    """Whether a launcher started this process as a rank."""
    return int(os.environ.get("LOCAL_RANK", "-1")) != -1 or launched_world_size() > 1


def check_process_count(accelerator: Accelerator) -> None:
    """Refuse set-ups where the processes would train without averaging their gradients."""
    processes, launched = accelerator.num_processes, launched_world_size()
    if processes > 1 and accelerator.distributed_type == DistributedType.NO:
        raise RuntimeError(
            f"This is one of {processes} processes, but accelerate found no GPU (or other "
            "accelerator) to train on and `use_cpu` is off, so nothing would average the gradients "
            "across them. On CPU pass `use_cpu=True` (`--use_cpu`)."
        )
    if processes == 1 and launched > 1:
        raise RuntimeError(
            f"The launcher started {launched} processes, but accelerate set up a single-process run "
            "(it found no GPU or other accelerator), so each process would train alone. On CPU pass "
            "`use_cpu=True` (`--use_cpu`); for DeepSpeed on CPU, which `use_cpu` switches off, "
            "pass `ddp_backend='gloo'` instead."
        )
