"""The per-trainer runtime object and the model-level helpers the loop calls.

:class:`Runtime` snapshots what the hot loop asks about the process (device, ranks, precision,
which wrapper is active) into plain attributes once, so the training step reads attributes
instead of walking accelerate's state objects. Its :meth:`Runtime.sync_context` and
:meth:`Runtime.set_sync_gradients` make the trainer-driven gradient accumulation explicit.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

import torch

from ._args import get_arg
from .accelerator import build_accelerator, mixed_precision_from_args

__all__ = [
    "NULL_CONTEXT",
    "Runtime",
    "apply_gradient_checkpointing",
    "autocast_context",
    "create_runtime",
    "full_eval_dtype",
    "get_cp_size",
    "get_sp_size",
    "get_tp_size",
    "main_process_first",
    "maybe_compile",
    "unwrap_model",
]

#: A shared, re-entrant no-op context manager: returned whenever nothing needs to happen, so the
#: training step allocates nothing for it.
NULL_CONTEXT: contextlib.AbstractContextManager = contextlib.nullcontext()

_AUTOCAST_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def _is_deepspeed(accelerator: Any) -> bool:
    return getattr(accelerator.state, "deepspeed_plugin", None) is not None


class Runtime:
    """What the trainer needs from accelerate, resolved once.

    Attributes are plain values: ``accelerator``, ``device``, ``world_size``, ``process_index``,
    ``local_process_index``, ``is_main_process``, ``is_local_main_process``, ``mixed_precision``
    (``"no"``/``"fp16"``/``"bf16"``), ``is_deepspeed_enabled``, ``is_fsdp_enabled``,
    ``distributed_type``, ``gradient_accumulation_steps``, ``scaler`` (the fp16 ``GradScaler``
    accelerate created, or ``None``).
    """

    def __init__(self, accelerator: Any, args: Any = None):
        state = accelerator.state
        self.accelerator = accelerator
        self.args = args
        self.device: torch.device = accelerator.device
        self.world_size: int = accelerator.num_processes
        self.process_index: int = accelerator.process_index
        self.local_process_index: int = accelerator.local_process_index
        self.is_main_process: bool = accelerator.is_main_process
        self.is_local_main_process: bool = accelerator.is_local_main_process
        self.mixed_precision: str = str(state.mixed_precision)
        self.scaler: Any = accelerator.scaler
        self.is_deepspeed_enabled: bool = _is_deepspeed(accelerator)
        self.is_fsdp_enabled: bool = getattr(state, "fsdp_plugin", None) is not None
        self.distributed_type = accelerator.distributed_type
        plugin_kwargs = accelerator.gradient_state.plugin_kwargs
        self.gradient_accumulation_steps: int = int(accelerator.gradient_state.num_steps)
        self._sync_each_batch: bool = bool(plugin_kwargs.get("sync_each_batch", False))
        self._needs_no_sync: bool = (
            self.world_size > 1 and not self.is_deepspeed_enabled and not self._sync_each_batch
        )
        self._set_sync = accelerator.gradient_state._set_sync_gradients

    # -- gradient accumulation, driven by the trainer loop ---------------------------------------

    def set_sync_gradients(self, sync: bool) -> None:
        """Tell accelerate whether this micro-batch ends an accumulation cycle.

        The loop calls this before each micro-batch's backward; accelerate then clips, steps and
        reduces gradients only when ``sync`` is true. This replaces ``Accelerator.accumulate``.
        """
        self._set_sync(sync)

    def sync_context(self, model: Any, sync: bool) -> contextlib.AbstractContextManager:
        """Context for one micro-batch's forward/backward.

        ``sync=False`` skips the DDP gradient all-reduce (``accelerator.no_sync``) for non-final
        micro-batches. Returns the shared no-op context when nothing needs skipping (single
        process, DeepSpeed, ``sync_each_batch``, or the final micro-batch).
        """
        if sync or not self._needs_no_sync:
            return NULL_CONTEXT
        return self.accelerator.no_sync(model)

    # -- convenience ------------------------------------------------------------------------------

    def autocast(self, cache_enabled: bool = True) -> contextlib.AbstractContextManager:
        """:func:`autocast_context` for this runtime's accelerator."""
        return autocast_context(self.args, self.accelerator, cache_enabled=cache_enabled)

    def gather_function(self, use_gather_object: bool = False) -> Callable[[Any], Any]:
        """``accelerator.gather_for_metrics`` with ``use_gather_object`` bound."""
        gather = self.accelerator.gather_for_metrics

        def _gather(data: Any) -> Any:
            return gather(data, use_gather_object=use_gather_object)

        return _gather

    def wait_for_everyone(self) -> None:
        """Barrier across processes (no-op in a single process)."""
        if self.world_size > 1:
            self.accelerator.wait_for_everyone()

    def __repr__(self) -> str:
        return (
            f"Runtime(device={self.device}, world_size={self.world_size}, "
            f"process_index={self.process_index}, mixed_precision={self.mixed_precision!r}, "
            f"deepspeed={self.is_deepspeed_enabled}, fsdp={self.is_fsdp_enabled})"
        )


def create_runtime(args: Any, **build_kwargs: Any) -> Runtime:
    """Build the accelerator from ``args`` (see ``build_accelerator``) and wrap it in a Runtime."""
    return Runtime(build_accelerator(args, **build_kwargs), args)


def autocast_context(
    args: Any, accelerator: Any = None, cache_enabled: bool = True
) -> contextlib.AbstractContextManager:
    """An autocast context for the configured mixed precision, or the shared no-op context.

    No autocast is needed (and the no-op is returned) without mixed precision, under DeepSpeed,
    which casts itself, and wherever accelerate does not use native AMP (fp16 on CPU trains in
    fp32, as with transformers). Note that ``accelerator.prepare(model)`` already wraps the
    model's ``forward`` in autocast; use this for computation outside the prepared forward
    (a custom loss, an unprepared model).
    """
    if accelerator is not None:
        if _is_deepspeed(accelerator) or not getattr(accelerator, "native_amp", False):
            return NULL_CONTEXT
        precision = str(accelerator.state.mixed_precision)
        device_type = accelerator.device.type
    else:
        precision = mixed_precision_from_args(args)
        use_cpu = bool(get_arg(args, "use_cpu"))
        device_type = "cuda" if torch.cuda.is_available() and not use_cpu else "cpu"
    dtype = _AUTOCAST_DTYPES.get(precision)
    if dtype is None or (device_type == "cpu" and dtype is torch.float16):
        return NULL_CONTEXT
    return torch.autocast(device_type=device_type, dtype=dtype, cache_enabled=cache_enabled)


def full_eval_dtype(args: Any) -> torch.dtype | None:
    """``torch.bfloat16``/``torch.float16`` for ``bf16_full_eval``/``fp16_full_eval``, else ``None``.

    The trainer casts the model to this dtype for evaluation (outside of training only).
    """
    if get_arg(args, "fp16_full_eval"):
        return torch.float16
    if get_arg(args, "bf16_full_eval"):
        return torch.bfloat16
    return None


def apply_gradient_checkpointing(model: Any, args: Any) -> bool:
    """Enable gradient checkpointing on ``model`` when ``args.gradient_checkpointing`` is true.

    Uses the model's ``gradient_checkpointing_enable`` (transformers models and any model offering
    it) with ``args.gradient_checkpointing_kwargs``. Returns whether it was enabled.
    """
    if not get_arg(args, "gradient_checkpointing"):
        return False
    enable = getattr(model, "gradient_checkpointing_enable", None)
    if not callable(enable):
        raise ValueError(
            f"`gradient_checkpointing=True` but {type(model).__name__} has no "
            "`gradient_checkpointing_enable` method; add one or turn the option off."
        )
    kwargs = get_arg(args, "gradient_checkpointing_kwargs")
    if isinstance(kwargs, str):
        kwargs = json.loads(kwargs)
    enable(gradient_checkpointing_kwargs=kwargs)
    return True


def _is_compiled(model: Any) -> bool:
    # Nothing can be compiled before dynamo was imported; avoid importing it (seconds) just to ask.
    dynamo = sys.modules.get("torch._dynamo")
    return dynamo is not None and isinstance(model, dynamo.eval_frame.OptimizedModule)


def maybe_compile(model: Any, args: Any) -> Any:
    """``torch.compile(model)`` with ``torch_compile_backend``/``torch_compile_mode`` if asked.

    Setting a backend or a mode implies ``torch_compile``. An already compiled model is returned
    unchanged, so this composes with ``accelerator.prepare`` (which also compiles).
    """
    backend = get_arg(args, "torch_compile_backend")
    mode = get_arg(args, "torch_compile_mode")
    if not (get_arg(args, "torch_compile") or backend or mode) or _is_compiled(model):
        return model
    return torch.compile(model, backend=backend or "inductor", mode=mode)


def unwrap_model(
    model: Any,
    accelerator: Any = None,
    *,
    keep_torch_compile: bool = False,
    recursive: bool = False,
) -> Any:
    """Strip DDP/FSDP/DeepSpeed/compile wrappers and return the user's module."""
    from accelerate.utils import extract_model_from_parallel

    if accelerator is not None and not recursive:
        return accelerator.unwrap_model(model, keep_torch_compile=keep_torch_compile)
    return extract_model_from_parallel(
        model, keep_torch_compile=keep_torch_compile, recursive=recursive
    )


def _parallelism_config(accelerator: Any, args: Any) -> Any:
    pc = getattr(accelerator, "parallelism_config", None) if accelerator is not None else None
    if pc is None and args is not None:
        pc = get_arg(args, "parallelism_config")
    return pc


def get_tp_size(accelerator: Any = None, model: Any = None, args: Any = None) -> int:
    """Tensor-parallel degree: the model's own ``_tp_size``, DeepSpeed AutoTP, parallelism_config, or 1."""
    model_tp = getattr(model, "_tp_size", None) if model is not None else None
    if model_tp is not None:
        return int(model_tp)
    if accelerator is not None and _is_deepspeed(accelerator):
        config = accelerator.state.deepspeed_plugin.deepspeed_config
        return int(config.get("tensor_parallel", {}).get("autotp_size", 1))
    pc = _parallelism_config(accelerator, args)
    return int(getattr(pc, "tp_size", 1) or 1) if pc is not None else 1


def get_cp_size(accelerator: Any = None, args: Any = None) -> int:
    """Context-parallel degree from the parallelism config (1 without one)."""
    pc = _parallelism_config(accelerator, args)
    return int(getattr(pc, "cp_size", 1) or 1) if pc is not None else 1


def get_sp_size(accelerator: Any = None, args: Any = None) -> int:
    """Sequence-parallel degree from the parallelism config (1 without one)."""
    pc = _parallelism_config(accelerator, args)
    return int(getattr(pc, "sp_size", 1) or 1) if pc is not None else 1


@contextlib.contextmanager
def main_process_first(accelerator: Any, local: bool = True, desc: str = "work") -> Iterator[None]:
    """Run the block on the (local) main process first, then on the others.

    For preprocessing that caches results: the main process computes and writes the cache, the
    other processes wait at a barrier and then read it.
    """
    del desc  # kept for signature parity with TrainingArguments.main_process_first
    ctx = accelerator.local_main_process_first() if local else accelerator.main_process_first()
    with ctx:
        yield
