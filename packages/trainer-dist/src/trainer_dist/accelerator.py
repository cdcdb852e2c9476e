"""Build an ``accelerate.Accelerator`` from training arguments.

The translation follows what the transformers 5.3 ``Trainer`` does when it creates its
accelerator, so a script behaves the same under either library:

* ``fp16`` / ``bf16`` choose the mixed precision (fp16 gets accelerate's gradient scaler);
* ``accelerator_config`` supplies the dataloader options and gradient-accumulation keywords;
* gradient accumulation is *driven by the trainer loop*: accelerate is told the number of
  micro-batches only so its bookkeeping (``GradientState``) is right, but the loop decides when
  gradients synchronise (``Runtime.set_sync_gradients`` / ``Runtime.sync_context``) instead of
  using ``Accelerator.accumulate``;
* ``ddp_*`` fields become ``DistributedDataParallelKwargs`` and ``InitProcessGroupKwargs``;
* ``fsdp`` / ``fsdp_config`` become a ``FullyShardedDataParallelPlugin``;
* ``deepspeed`` (dict or JSON path) becomes a ``DeepSpeedPlugin`` with ``"auto"`` values filled.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState, GradientState, PartialState
from accelerate.utils import (
    DataLoaderConfiguration,
    DistributedDataParallelKwargs,
    GradientAccumulationPlugin,
    InitProcessGroupKwargs,
    TorchDynamoPlugin,
)

from ._args import accelerator_config_dict, get_arg, truthy
from ._launch import check_process_count, launched_distributed
from .elastic import join_restarted_group
from .fsdp_plugin import (
    build_fsdp_plugin,
    fsdp_plugin_kwargs,
    normalize_fsdp_config,
    normalize_fsdp_options,
)

logger = logging.getLogger(__name__)

__all__ = [
    "apply_tf32",
    "build_accelerator",
    "build_fsdp_plugin",
    "ddp_kwargs_from_args",
    "fsdp_plugin_kwargs",
    "mixed_precision_from_args",
    "normalize_fsdp_config",
    "normalize_fsdp_options",
]


def mixed_precision_from_args(args: Any) -> str:
    """Return ``"fp16"``, ``"bf16"`` or the launcher's ``ACCELERATE_MIXED_PRECISION`` (default ``"no"``)."""
    if get_arg(args, "fp16"):
        return "fp16"
    if get_arg(args, "bf16"):
        return "bf16"
    return os.environ.get("ACCELERATE_MIXED_PRECISION", "no")


def apply_tf32(args: Any) -> None:
    """Switch TF32 matmuls on or off when ``args.tf32`` is set (``None`` leaves torch's default).

    Raises when TF32 is requested on hardware without it (no CUDA or pre-Ampere GPU), like
    transformers does.
    """
    tf32 = get_arg(args, "tf32")
    if tf32 is None:
        return
    available = (
        torch.cuda.is_available()
        and torch.version.cuda is not None
        and torch.cuda.get_device_properties(torch.cuda.current_device()).major >= 8
    )
    if tf32 and not available:
        raise ValueError("--tf32 requires an Ampere or newer NVIDIA GPU (CUDA >= 11).")
    if not available:
        return
    if hasattr(torch.backends, "fp32_precision"):  # torch >= 2.9 precision API
        torch.backends.fp32_precision = "tf32" if tf32 else "ieee"
    else:
        torch.backends.cuda.matmul.allow_tf32 = bool(tf32)
        torch.backends.cudnn.allow_tf32 = bool(tf32)


def ddp_kwargs_from_args(args: Any, model: Any = None) -> DistributedDataParallelKwargs:
    """``DistributedDataParallelKwargs`` from the ``ddp_*`` fields.

    ``ddp_find_unused_parameters=None`` means: for a model that reports gradient checkpointing
    (transformers' ``is_gradient_checkpointing``), search only when checkpointing is off; for any
    other model, search (the safe choice transformers makes).
    """
    find_unused = get_arg(args, "ddp_find_unused_parameters")
    if find_unused is None:
        if model is not None and hasattr(model, "is_gradient_checkpointing"):
            find_unused = not (
                bool(model.is_gradient_checkpointing)
                or bool(get_arg(args, "gradient_checkpointing"))
            )
        else:
            find_unused = True
    kwargs: dict[str, Any] = {"find_unused_parameters": bool(find_unused)}
    bucket = get_arg(args, "ddp_bucket_cap_mb")
    if bucket is not None:
        kwargs["bucket_cap_mb"] = bucket
    broadcast = get_arg(args, "ddp_broadcast_buffers")
    if broadcast is not None:
        kwargs["broadcast_buffers"] = bool(broadcast)
    return DistributedDataParallelKwargs(**kwargs)


def _gradient_accumulation_plugin(args: Any, config: dict[str, Any]) -> GradientAccumulationPlugin:
    kwargs = dict(config["gradient_accumulation_kwargs"] or {})
    steps = int(get_arg(args, "gradient_accumulation_steps"))
    if "num_steps" in kwargs:
        if steps > 1:
            raise ValueError(
                "The `AcceleratorConfig`'s `num_steps` is set but `gradient_accumulation_steps` "
                f"is greater than 1: accelerator_config.gradient_accumulation_kwargs['num_steps']="
                f"{kwargs['num_steps']!r} and gradient_accumulation_steps={steps} are both set; "
                "set only one of them."
            )
        # The accelerate value wins; keep args consistent so the loop and DeepSpeed agree.
        with contextlib.suppress(AttributeError, TypeError):
            args.gradient_accumulation_steps = int(kwargs["num_steps"])
    else:
        kwargs["num_steps"] = steps
    return GradientAccumulationPlugin(**kwargs)


def _reset_state(config: dict[str, Any], use_cpu: bool) -> None:
    if config.get("use_configured_state"):
        if PartialState._shared_state == {}:
            raise ValueError(
                "`accelerator_config.use_configured_state=True` needs an `Accelerator` or "
                "`PartialState` created before the trainer (Passing `'use_configured_state':True` "
                "to the AcceleratorConfig requires a pre-configured `AcceleratorState` or "
                "`PartialState`)."
            )
        return
    AcceleratorState._reset_state(reset_partial_state=True)
    # The gradient state is shared by every accelerator of the process: a loop that prepared
    # dataloaders before (transformers' Trainer does) leaves weak references to them there,
    # which would make this trainer unpicklable (Ray sends trainers to its workers).
    GradientState._reset_state()


def build_accelerator(
    args: Any,
    *,
    deepspeed_plugin: Any = None,
    fsdp_plugin: Any = None,
    model: Any = None,
) -> Accelerator:
    """Create the ``Accelerator`` the trainer uses, configured from ``args``.

    ``deepspeed_plugin`` / ``fsdp_plugin`` override the plugins otherwise built from
    ``args.deepspeed`` / ``args.fsdp``. ``model`` only refines the DDP
    ``find_unused_parameters`` default. Any previous accelerate state in the process is reset
    first (unless ``accelerator_config.use_configured_state`` is true), so calling this twice with
    different arguments gives two independently configured accelerators, one after the other.
    """
    config = accelerator_config_dict(args)
    use_cpu = bool(get_arg(args, "use_cpu")) or truthy(
        os.environ.get("ACCELERATE_USE_CPU", "false")
    )
    apply_tf32(args)
    grad_acc_plugin = _gradient_accumulation_plugin(args, config)

    dataloader_config = DataLoaderConfiguration(
        split_batches=config["split_batches"],
        dispatch_batches=config["dispatch_batches"],
        even_batches=config["even_batches"],
        use_seedable_sampler=config["use_seedable_sampler"],
        non_blocking=config["non_blocking"],
    )
    dataloader_config.data_seed = get_arg(args, "data_seed")

    if fsdp_plugin is None:
        fsdp_plugin = build_fsdp_plugin(args)
    if deepspeed_plugin is None and get_arg(args, "deepspeed"):
        from .deepspeed import build_deepspeed_plugin

        deepspeed_plugin = build_deepspeed_plugin(args)

    handlers: list[Any] = [ddp_kwargs_from_args(args, model)]
    timeout = timedelta(seconds=int(get_arg(args, "ddp_timeout")))
    backend = get_arg(args, "ddp_backend")
    if backend is not None and not launched_distributed():
        # accelerate would ask a process group that a lone process never creates for its size.
        backend = None
    handlers.append(InitProcessGroupKwargs(backend=backend, timeout=timeout))

    compile_backend = get_arg(args, "torch_compile_backend")
    compile_mode = get_arg(args, "torch_compile_mode")
    if get_arg(args, "torch_compile") or compile_backend or compile_mode:
        dynamo_plugin = TorchDynamoPlugin(backend=compile_backend or "inductor", mode=compile_mode)
    else:
        dynamo_plugin = TorchDynamoPlugin()

    kwargs: dict[str, Any] = {
        "mixed_precision": mixed_precision_from_args(args),
        "cpu": use_cpu,
        "dataloader_config": dataloader_config,
        "gradient_accumulation_plugin": grad_acc_plugin,
        "kwargs_handlers": handlers,
        "dynamo_plugin": dynamo_plugin,
        "deepspeed_plugin": deepspeed_plugin,
        "fsdp_plugin": fsdp_plugin,
    }
    parallelism_config = get_arg(args, "parallelism_config")
    if parallelism_config is not None:
        kwargs["parallelism_config"] = parallelism_config

    _reset_state(config, use_cpu)
    if launched_distributed() and not PartialState._shared_state:
        join_restarted_group(backend or _default_backend(use_cpu), timeout)
    accelerator = Accelerator(**kwargs)
    _warn_if_fp16_is_not_used(accelerator)
    _post_process(accelerator, args)
    _share_with_args(accelerator, args)
    return accelerator


def _default_backend(use_cpu: bool) -> str:
    """The backend accelerate picks for a launched process on CPU or CUDA."""
    return "nccl" if not use_cpu and torch.cuda.is_available() else "gloo"


def _warn_if_fp16_is_not_used(accelerator: Accelerator) -> None:
    """fp16 on a CPU: accelerate runs no float16 autocast there, so the run is float32. Say so."""
    if accelerator.mixed_precision != "fp16" or getattr(accelerator, "native_amp", True):
        return
    if getattr(accelerator.state, "deepspeed_plugin", None) is not None:
        return  # DeepSpeed applies its own fp16 settings
    if accelerator.device.type != "cpu":
        return
    warnings.warn(
        "fp16=True is not used on the CPU: accelerate runs no float16 autocast there, so this "
        "run trains in float32 (as transformers does). For mixed precision on a CPU use "
        "bf16=True (with use_cpu=True); fp16 needs a GPU.",
        UserWarning,
        stacklevel=3,
    )


def _share_with_args(accelerator: Accelerator, args: Any) -> None:
    """Let ``args.deepspeed_plugin`` be the plugin this accelerator uses (``"auto"`` values filled)."""
    if isinstance(args, Mapping):
        return
    with contextlib.suppress(AttributeError, TypeError):
        if get_arg(args, "deepspeed") or getattr(accelerator.state, "deepspeed_plugin", None):
            args.deepspeed_plugin = accelerator.state.deepspeed_plugin


def _post_process(accelerator: Accelerator, args: Any) -> None:
    """Checks transformers makes once the accelerator (and its launcher-given plugins) exist."""
    state = accelerator.state
    fsdp = getattr(state, "fsdp_plugin", None)
    ds = getattr(state, "deepspeed_plugin", None)
    check_process_count(accelerator)
    if fsdp is None and normalize_fsdp_options(get_arg(args, "fsdp")):
        logger.warning(
            "fsdp=%r is ignored: accelerate enables FSDP only on GPUs (and XPU/NPU/HPU...), and "
            "this run is %s, so the model is %s.",
            " ".join(normalize_fsdp_options(get_arg(args, "fsdp"))),
            accelerator.distributed_type,
            "wrapped in DistributedDataParallel"
            if accelerator.num_processes > 1
            else "trained without sharding",
        )
    if fsdp is not None:
        config = normalize_fsdp_config(get_arg(args, "fsdp_config"))
        for key in ("limit_all_gathers", "activation_checkpointing"):
            if key in config and hasattr(fsdp, key):
                setattr(fsdp, key, truthy(config[key]))
        if getattr(fsdp, "activation_checkpointing", False) and get_arg(
            args, "gradient_checkpointing"
        ):
            raise ValueError(
                "`fsdp_config.activation_checkpointing` and `gradient_checkpointing` cannot both be "
                "true; with FSDP use `activation_checkpointing` only."
            )
    if ds is not None and not get_arg(args, "deepspeed"):
        # A plugin from `accelerate launch --use_deepspeed`: its "auto" values come from the
        # arguments too, and its explicit ones must agree with them.
        from .deepspeed import fill_deepspeed_config

        fill_deepspeed_config(ds.deepspeed_config, args)
    save_only_best = get_arg(args, "save_only_model", False) and get_arg(
        args, "load_best_model_at_end", False
    )
    if save_only_best and (ds is not None or fsdp is not None):
        name = "DeepSpeed" if ds is not None else "FSDP"
        raise ValueError(
            f"{name} cannot be used with `save_only_model` and `load_best_model_at_end`."
        )
    if (
        ds is not None
        and getattr(ds, "zero_stage", None) == 3
        and get_arg(args, "auto_find_batch_size")
    ):
        raise ValueError(
            "`auto_find_batch_size` is not supported with DeepSpeed ZeRO-3; use ZeRO-1/2 or FSDP."
        )
    if (
        fsdp is not None
        and get_arg(args, "save_only_model", False)
        and "SHARDED_STATE_DICT" in str(getattr(fsdp, "state_dict_type", ""))
    ):
        raise ValueError("`save_only_model` does not work with FSDP `SHARDED_STATE_DICT`.")
