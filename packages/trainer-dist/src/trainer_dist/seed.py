"""Reproducibility helpers and the automatic batch-size finder."""

from __future__ import annotations

import functools
import os
import random
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

__all__ = ["enable_full_determinism", "find_executable_batch_size", "set_seed"]

_DEVICE_MODULES = ("mlu", "musa", "npu", "hpu", "xpu")


def set_seed(seed: int, deterministic: bool = False) -> None:
    """Seed Python's ``random``, numpy and torch (CPU and every accelerator device).

    ``deterministic=True`` also asks torch for deterministic algorithms (slower on GPU).
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds CUDA devices as well, lazily
    for name in _DEVICE_MODULES:
        module = getattr(torch, name, None)
        is_available = getattr(module, "is_available", None)
        if callable(is_available) and is_available():
            module.manual_seed_all(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True)


def enable_full_determinism(seed: int, warn_only: bool = False) -> None:
    """Seed everything and force deterministic kernels, for bit-reproducible (distributed) runs.

    Sets the environment variables CUDA/cuBLAS, Ascend and flash-attention read to behave
    deterministically, enables ``torch.use_deterministic_algorithms`` and disables cuDNN
    benchmarking. Called at run time by the trainer when ``args.full_determinism`` is true.
    """
    set_seed(seed)
    os.environ["CUDA_LAUNCH_BLOCKING"] = "1"
    os.environ["CUBLAS_WORKSPACE_CONFIG"] = ":16:8"
    os.environ["ASCEND_LAUNCH_BLOCKING"] = "1"
    os.environ["HCCL_DETERMINISTIC"] = "1"
    os.environ["FLASH_ATTENTION_DETERMINISTIC"] = "1"
    torch.use_deterministic_algorithms(True, warn_only=warn_only)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def find_executable_batch_size(
    function: Callable[..., Any] | None = None,
    starting_batch_size: int = 128,
    auto_find_batch_size: bool = False,
) -> Any:
    """Decorator for ``args.auto_find_batch_size``: retry ``function(batch_size, ...)`` on OOM.

    With ``auto_find_batch_size`` the call goes through accelerate's finder, which retries with
    90% of the batch size after each out-of-memory error; otherwise ``function`` is simply called with
    ``batch_size=starting_batch_size``. Usable bare or with keyword arguments.
    """
    if function is None:
        return functools.partial(
            find_executable_batch_size,
            starting_batch_size=starting_batch_size,
            auto_find_batch_size=auto_find_batch_size,
        )
    if auto_find_batch_size:
        from accelerate.utils import find_executable_batch_size as _accelerate_finder

        return _accelerate_finder(function=function, starting_batch_size=starting_batch_size)
    return functools.partial(function, batch_size=starting_batch_size)
