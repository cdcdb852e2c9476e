"""Optimizer registry: ``OptimizerNames`` value -> (optimizer class, keyword arguments).

:func:`get_optimizer_cls_and_kwargs` reads the training arguments the way the transformers 5.3.0
Trainer does and returns what :func:`~trainer_optim.build_optimizer` needs. Optimizers that live in
PyTorch are handled here; those that live in other packages are in
:mod:`trainer_optim.third_party` and import their package only when chosen.
"""

from __future__ import annotations

import importlib
from typing import Any

import torch
from torch import nn

from . import third_party
from ._compat import (
    OPTIMIZER_NAMES,
    HardwareNotAvailableError,
    enum_value,
    is_importable,
    parse_optim_args,
    str_to_bool,
)
from .adafactor import Adafactor
from .context import OptimizerContext, OptimizerHandler

__all__ = [
    "OPTIMIZER_HANDLERS",
    "OptimizerContext",
    "get_optimizer_cls_and_kwargs",
    "register_optimizer",
]


def _float_options(ctx: OptimizerContext, keys: tuple[str, ...], bool_keys: tuple[str, ...] = ()):
    kwargs = dict(ctx.optimizer_kwargs)
    for key in keys:
        if key in ctx.optim_args:
            kwargs[key] = float(ctx.optim_args[key])
    for key in bool_keys:
        if key in ctx.optim_args:
            kwargs[key] = ctx.optim_args[key].lower() in ("true", "1", "yes")
    return kwargs


def _adafactor(ctx: OptimizerContext) -> tuple[Any, dict[str, Any]]:
    ctx.optimizer_kwargs.update({"scale_parameter": False, "relative_step": False})
    return Adafactor, ctx.optimizer_kwargs


def _adamw_torch(ctx: OptimizerContext) -> tuple[Any, dict[str, Any]]:
    ctx.optimizer_kwargs.update(ctx.adam_kwargs)
    if ctx.name == "adamw_torch_fused":
        ctx.optimizer_kwargs["fused"] = True
    return torch.optim.AdamW, ctx.optimizer_kwargs


def _sgd(ctx: OptimizerContext) -> tuple[Any, dict[str, Any]]:
    return torch.optim.SGD, _float_options(
        ctx, ("momentum", "dampening", "weight_decay"), ("nesterov",)
    )


def _adagrad(ctx: OptimizerContext) -> tuple[Any, dict[str, Any]]:
    return torch.optim.Adagrad, _float_options(ctx, ("lr_decay", "weight_decay", "eps"))


def _rmsprop(ctx: OptimizerContext) -> tuple[Any, dict[str, Any]]:
    return torch.optim.RMSprop, _float_options(
        ctx, ("momentum", "alpha", "eps", "weight_decay"), ("centered",)
    )


def _hardware_bound(module: str, attribute: str, hardware: str, package: str) -> OptimizerHandler:
    """Handler for an optimizer that exists only with a device-specific package."""

    def handler(ctx: OptimizerContext) -> tuple[Any, dict[str, Any]]:
        if not is_importable(module):
            raise HardwareNotAvailableError(
                f"optim={ctx.name!r} needs {hardware} and the package {package!r}, which is not "
                "installed here; pick another optimizer (e.g. optim='adamw_torch') on this machine."
            )
        if module == "apex.optimizers" and not torch.cuda.is_available():
            raise HardwareNotAvailableError(
                f"optim={ctx.name!r} needs {hardware}, and no CUDA device is visible."
            )
        cls = getattr(importlib.import_module(module), attribute)
        ctx.optimizer_kwargs.update(ctx.adam_kwargs)
        return cls, ctx.optimizer_kwargs

    return handler


def _anyprecision(ctx: OptimizerContext) -> tuple[Any, dict[str, Any]]:
    from ._compat import require_package

    module = require_package(
        "torchdistx.optimizers", package="torchdistx", extra=None, optimizer=ctx.name
    )
    get = ctx.optim_args.get
    ctx.optimizer_kwargs.update(ctx.adam_kwargs)
    ctx.optimizer_kwargs.update(
        {
            "use_kahan_summation": str_to_bool(get("use_kahan_summation", "False")),
            "momentum_dtype": getattr(torch, get("momentum_dtype", "float32")),
            "variance_dtype": getattr(torch, get("variance_dtype", "float32")),
            "compensation_buffer_dtype": getattr(
                torch, get("compensation_buffer_dtype", "bfloat16")
            ),
        }
    )
    return module.AnyPrecisionAdamW, ctx.optimizer_kwargs


#: ``OptimizerNames`` value -> handler. Extend with :func:`register_optimizer`.
OPTIMIZER_HANDLERS: dict[str, OptimizerHandler] = {
    "adamw_torch": _adamw_torch,
    "adamw_torch_fused": _adamw_torch,
    "adamw_torch_xla": _hardware_bound(
        "torch_xla.amp.syncfree", "AdamW", "a TPU or another XLA device", "torch_xla"
    ),
    "adamw_torch_npu_fused": _hardware_bound(
        "torch_npu.optim", "NpuFusedAdamW", "an Ascend NPU", "torch_npu"
    ),
    "adamw_apex_fused": _hardware_bound(
        "apex.optimizers", "FusedAdam", "an NVIDIA CUDA GPU", "apex"
    ),
    "adafactor": _adafactor,
    "adamw_anyprecision": _anyprecision,
    "sgd": _sgd,
    "adagrad": _adagrad,
    "rmsprop": _rmsprop,
    **third_party.HANDLERS,
}
assert set(OPTIMIZER_HANDLERS) == set(OPTIMIZER_NAMES), set(OPTIMIZER_NAMES) ^ set(
    OPTIMIZER_HANDLERS
)


def register_optimizer(name: str, handler: OptimizerHandler) -> None:
    """Add or replace the handler used for ``optim=name``.

    ``handler`` receives an :class:`OptimizerContext` and returns ``(optimizer_cls, kwargs)``.
    """
    OPTIMIZER_HANDLERS[enum_value(name)] = handler


def get_optimizer_cls_and_kwargs(args: Any, model: nn.Module | None = None) -> tuple[Any, Any]:
    """The optimizer class and constructor kwargs that ``args.optim`` selects.

    Reads ``optim``, ``optim_args``, ``learning_rate``, ``adam_beta1``/``adam_beta2``,
    ``adam_epsilon`` and, for some optimizers, ``weight_decay``, ``warmup_steps``,
    ``optim_target_modules`` and ``gradient_accumulation_steps``. ``model`` is needed by GaLore,
    APOLLO and LOMO. Optimizers from other packages import them now: a missing one raises an
    ``ImportError`` naming the ``trainer-optim`` extra to install; one that needs hardware this
    machine lacks raises :class:`~trainer_optim.HardwareNotAvailableError`.
    """
    name = enum_value(getattr(args, "optim", "adamw_torch_fused"))
    handler = OPTIMIZER_HANDLERS.get(name)
    if handler is None:
        raise ValueError(
            f"Trainer cannot instantiate unsupported optimizer: {name}; "
            f"choose one of {sorted(OPTIMIZER_HANDLERS)}"
        )
    ctx = OptimizerContext(
        args=args,
        model=model,
        name=name,
        optimizer_kwargs={"lr": args.learning_rate},
        adam_kwargs={
            "betas": (getattr(args, "adam_beta1", 0.9), getattr(args, "adam_beta2", 0.999)),
            "eps": getattr(args, "adam_epsilon", 1e-8),
        },
        optim_args=parse_optim_args(getattr(args, "optim_args", None)),
    )
    return handler(ctx)
