"""Runtime: devices, mixed precision and distributed training through accelerate.

Entry points for the trainer loop:

* :func:`create_runtime` / :func:`build_accelerator`: an ``accelerate.Accelerator`` configured
  from ``TrainingArguments`` (mixed precision, DDP, FSDP, DeepSpeed);
* :func:`autocast_context`, :func:`full_eval_dtype`, :func:`apply_gradient_checkpointing`,
  :func:`maybe_compile`: per-model setup;
* :func:`fill_deepspeed_config` / :func:`finalize_deepspeed_config`: DeepSpeed ``"auto"`` values;
  :func:`deepspeed_optimizer_and_scheduler`: who builds the optimizer and schedule under DeepSpeed;
* :func:`gather_for_metrics`, :func:`pad_across_processes`, :class:`EvalAccumulator` and the
  ``nested_*`` helpers: evaluation outputs across batches and processes;
* :func:`set_seed`, :func:`enable_full_determinism`, :func:`find_executable_batch_size`.
"""

from .accelerator import (
    apply_tf32,
    build_accelerator,
    build_fsdp_plugin,
    ddp_kwargs_from_args,
    fsdp_plugin_kwargs,
    mixed_precision_from_args,
)
from .barriers import torch_distributed_zero_first
from .deepspeed import (
    DeepSpeedConfigMismatchError,
    build_deepspeed_plugin,
    deepspeed_dtype,
    deepspeed_optimizer_and_scheduler,
    fill_deepspeed_config,
    finalize_deepspeed_config,
    load_deepspeed_config,
)
from .gather import (
    EvalAccumulator,
    concat_batches,
    distributed_concat,
    find_batch_size,
    gather_for_metrics,
    nested_concat,
    nested_detach,
    nested_numpify,
    nested_truncate,
    pad_across_processes,
)
from .runtime import (
    NULL_CONTEXT,
    Runtime,
    apply_gradient_checkpointing,
    autocast_context,
    create_runtime,
    full_eval_dtype,
    get_cp_size,
    get_sp_size,
    get_tp_size,
    main_process_first,
    maybe_compile,
    unwrap_model,
)
from .seed import enable_full_determinism, find_executable_batch_size, set_seed

__version__ = "0.1.0"

__all__ = [
    "NULL_CONTEXT",
    "DeepSpeedConfigMismatchError",
    "EvalAccumulator",
    "Runtime",
    "apply_gradient_checkpointing",
    "apply_tf32",
    "autocast_context",
    "build_accelerator",
    "build_deepspeed_plugin",
    "build_fsdp_plugin",
    "concat_batches",
    "create_runtime",
    "ddp_kwargs_from_args",
    "deepspeed_dtype",
    "deepspeed_optimizer_and_scheduler",
    "distributed_concat",
    "enable_full_determinism",
    "fill_deepspeed_config",
    "finalize_deepspeed_config",
    "find_batch_size",
    "find_executable_batch_size",
    "fsdp_plugin_kwargs",
    "full_eval_dtype",
    "gather_for_metrics",
    "get_cp_size",
    "get_sp_size",
    "get_tp_size",
    "load_deepspeed_config",
    "main_process_first",
    "maybe_compile",
    "mixed_precision_from_args",
    "nested_concat",
    "nested_detach",
    "nested_numpify",
    "nested_truncate",
    "pad_across_processes",
    "set_seed",
    "torch_distributed_zero_first",
    "unwrap_model",
]
