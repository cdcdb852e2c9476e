"""Process, device and logging properties of ``TrainingArguments``.

Rank and world size come from ``torch.distributed`` when a process group is initialised (looked up
in ``sys.modules``, so torch is never imported just to ask), else from the launcher's environment
variables ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``. Only :attr:`device` and :attr:`n_gpu` import
torch, on first use, and cache the answer on the instance.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from .enums import ParallelMode
from .fields import LOG_LEVELS

logger = logging.getLogger("trainer_args")


def _initialised_dist() -> Any | None:
    """``torch.distributed`` when torch is already loaded and a process group exists, else ``None``."""
    dist = sys.modules.get("torch.distributed")
    if dist is None:
        return None
    try:
        if dist.is_available() and dist.is_initialized():
            return dist
    except Exception:  # a half-initialised torch must not break argument handling
        return None
    return None


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value)
    except ValueError:
        return default


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes", "on", "y", "t")


class RuntimeMixin:
    """Properties that depend on the process and hardware rather than on the field values alone."""

    # -- batch sizes and timeouts -------------------------------------------------------------
    @property
    def train_batch_size(self) -> int:
        """Training batch size of one forward pass: per-device size times the GPUs of this process."""
        return self.per_device_train_batch_size * max(1, self.n_gpu)

    @property
    def eval_batch_size(self) -> int:
        """Evaluation batch size of one forward pass: per-device size times the GPUs of this process."""
        return self.per_device_eval_batch_size * max(1, self.n_gpu)

    @property
    def ddp_timeout_delta(self) -> timedelta:
        """``ddp_timeout`` as the ``timedelta`` that ``init_process_group`` expects."""
        return timedelta(seconds=self.ddp_timeout)

    @property
    def place_model_on_device(self) -> bool | None:
        """Hook for subclasses; ``None`` lets the trainer decide."""
        return None

    # -- ranks --------------------------------------------------------------------------------
    @property
    def world_size(self) -> int:
        """Number of processes taking part in training."""
        dist = _initialised_dist()
        if dist is not None:
            return dist.get_world_size()
        return max(1, _env_int("WORLD_SIZE", 1))

    @property
    def process_index(self) -> int:
        """Global rank of this process (0 when not distributed)."""
        dist = _initialised_dist()
        if dist is not None:
            return dist.get_rank()
        return _env_int("RANK", 0) if self.world_size > 1 else 0

    @property
    def local_process_index(self) -> int:
        """Rank of this process on its own machine (0 when not distributed)."""
        if self.world_size <= 1:
            return 0
        local = _env_int("LOCAL_RANK", -1)
        if local < 0:
            local = self.local_rank if self.local_rank >= 0 else 0
        return local

    @property
    def should_log(self) -> bool:
        """Whether this process writes logs (main process of each node, or of node 0 only)."""
        if self.log_on_each_node:
            return self.local_process_index == 0
        return self.process_index == 0

    @property
    def should_save(self) -> bool:
        """Whether this process writes checkpoints (main process of each node, or of node 0 only)."""
        if self.save_on_each_node:
            return self.local_process_index == 0
        return self.process_index == 0

    def get_process_log_level(self) -> int:
        """Log level for this process: ``log_level`` on the logging process, ``log_level_replica`` elsewhere.

        ``"passive"`` keeps the current effective level of the ``trainer_args`` logger (WARNING unless the
        application changed it).
        """
        name = self.log_level if self.should_log else self.log_level_replica
        level = LOG_LEVELS[name]
        return logger.getEffectiveLevel() if level == -1 else level

    # -- devices ------------------------------------------------------------------------------
    def _uses_cpu_only(self) -> bool:
        return self.use_cpu or _env_flag("ACCELERATE_USE_CPU")

    def _resolve_device(self) -> tuple[Any, int]:
        import torch

        if self._uses_cpu_only():
            return torch.device("cpu"), 0
        cuda = torch.cuda.is_available()
        if self.world_size > 1:
            if cuda:
                device = torch.device("cuda", self.local_process_index % torch.cuda.device_count())
                torch.cuda.set_device(device)
                return device, 1
            return torch.device("cpu"), 1
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps"), 1
        xpu = getattr(torch, "xpu", None)
        if xpu is not None and xpu.is_available():
            device = torch.device("xpu:0")
            xpu.set_device(device)
            return device, 1
        if cuda:
            device = torch.device("cuda:0")
            torch.cuda.set_device(device)
            return device, torch.cuda.device_count()
        return torch.device(os.environ.get("ACCELERATE_TORCH_DEVICE", "cpu")), 0

    def _device_and_gpus(self) -> tuple[Any, int]:
        cached = self.__dict__.get("_device_cache")
        if cached is None:
            cached = self._resolve_device()
            self.__dict__["_device_cache"] = cached
            self._check_hardware(cached[0])
        return cached

    def _check_hardware(self, device: Any) -> None:
        """Precision checks that need torch; run once, when the device is first resolved."""
        import torch

        if (self.bf16 or self.bf16_full_eval) and not self._uses_cpu_only():
            supported = device.type in ("mps", "xpu") or (
                device.type == "cuda" and torch.cuda.is_bf16_supported()
            )
            if not supported:
                raise ValueError(
                    f"bf16=True is not supported on device {device}; use a GPU with bfloat16 "
                    "support (Ampere or newer) or set use_cpu=True."
                )
        if self.tf32 and not (
            device.type == "cuda" and torch.cuda.get_device_capability(device)[0] >= 8
        ):
            raise ValueError("tf32=True needs an Ampere or newer CUDA GPU.")

    @property
    def device(self) -> Any:
        """The ``torch.device`` this process trains on (imports torch on first use)."""
        return self._device_and_gpus()[0]

    @property
    def n_gpu(self) -> int:
        """GPUs driven by this process: above 1 only for single-process multi-GPU (DataParallel).

        Returns 0 when torch is not installed. A trainer may pin the value by setting ``_n_gpu``
        (as transformers' Trainer does for model-parallel models).
        """
        if "_n_gpu" in self.__dict__:
            return self.__dict__["_n_gpu"]
        if "_device_cache" not in self.__dict__:
            try:
                import torch  # noqa: F401
            except ImportError:
                return 0
        return self._device_and_gpus()[1]

    @property
    def parallel_mode(self) -> ParallelMode:
        """``DISTRIBUTED`` with several processes, ``NOT_DISTRIBUTED`` with several GPUs in one process."""
        if self.world_size > 1 or _initialised_dist() is not None:
            return ParallelMode.DISTRIBUTED
        if self.n_gpu > 1:
            return ParallelMode.NOT_DISTRIBUTED
        return ParallelMode.NOT_PARALLEL

    # -- accelerate objects, for code written against transformers' arguments ---------------
    @property
    def distributed_state(self) -> Any:
        """accelerate's ``PartialState`` of this process (imports accelerate on first use).

        Created on first use, as transformers does when it sets up devices; once a ``Trainer``
        exists this is the state its accelerator runs on.
        """
        given = self.__dict__.get("_distributed_state")
        if given is not None:
            return given
        try:
            from accelerate import PartialState
        except ImportError as err:
            raise ImportError(
                "TrainingArguments.distributed_state needs accelerate: install trainer-dist."
            ) from err
        return PartialState(cpu=self._uses_cpu_only())

    @distributed_state.setter
    def distributed_state(self, value: Any) -> None:
        self.__dict__["_distributed_state"] = value

    @property
    def deepspeed_plugin(self) -> Any:
        """accelerate's ``DeepSpeedPlugin`` for ``deepspeed`` (or ``ACCELERATE_USE_DEEPSPEED``), else None.

        Built on first use; a ``Trainer`` replaces it with the plugin its accelerator uses, whose
        ``"auto"`` values are filled from these arguments.
        """
        if "_deepspeed_plugin" in self.__dict__:
            return self.__dict__["_deepspeed_plugin"]
        if not self.deepspeed and not _env_flag("ACCELERATE_USE_DEEPSPEED"):
            return None
        from accelerate.utils import DeepSpeedPlugin

        if self.deepspeed:
            plugin = DeepSpeedPlugin(hf_ds_config=self.deepspeed)
        else:
            plugin = DeepSpeedPlugin()
            plugin.set_mixed_precision(self.mixed_precision)
        self.__dict__["_deepspeed_plugin"] = plugin
        return plugin

    @deepspeed_plugin.setter
    def deepspeed_plugin(self, value: Any) -> None:
        self.__dict__["_deepspeed_plugin"] = value

    @contextlib.contextmanager
    def main_process_first(self, local: bool = True, desc: str = "work") -> Iterator[None]:
        """Run the body on the main process first while the other processes wait at a barrier.

        ``local=True`` means the main process of each node, ``local=False`` global rank 0. Without an
        initialised ``torch.distributed`` process group this is a no-op.
        """
        dist = _initialised_dist()
        if dist is None or self.world_size <= 1:
            yield
            return
        is_main = (self.local_process_index if local else self.process_index) == 0
        who = "main local process" if local else "main process"
        try:
            if not is_main:
                logger.debug("%s: waiting for the %s to finish %s", self.process_index, who, desc)
                dist.barrier()
            yield
        finally:
            if is_main:
                logger.debug(
                    "%s: %s finished %s, releasing replicas", self.process_index, who, desc
                )
                dist.barrier()

    def get_warmup_steps(self, num_training_steps: int) -> int:
        """Warmup steps for a run of ``num_training_steps``: ``warmup_steps`` below 1 is a fraction."""
        if self.warmup_steps >= 1:
            return int(self.warmup_steps)
        return math.ceil(num_training_steps * self.warmup_steps)
