"""Weight-decay parameter groups and optimizer construction from a model and its arguments."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import nn

__all__ = [
    "NO_DECAY_NAME_PATTERNS",
    "build_optimizer",
    "get_decay_parameter_names",
    "get_parameter_names",
]

#: Lower-cased parameter-name patterns that never get weight decay: biases and normalisation
#: weights (``LayerNorm``, ``RMSNorm``, ``ln_f``-style ``..._norm``, a module called ``norm``).
NO_DECAY_NAME_PATTERNS: tuple[str, ...] = (
    r"bias",
    r"layernorm",
    r"rmsnorm",
    r"(?:^|\.)norm(?:$|\.)",
    r"_norm(?:$|\.)",
)


def get_parameter_names(
    model: nn.Module,
    forbidden_layer_types: Sequence[type[nn.Module]],
    forbidden_layer_names: Sequence[str] | None = None,
) -> list[str]:
    """Names of ``model``'s parameters outside forbidden layers and not matching forbidden patterns.

    A parameter is left out when a module on its path below ``model`` is an instance of one of
    ``forbidden_layer_types``, or when its lower-cased dotted name matches one of the regular
    expressions in ``forbidden_layer_names``. Names come in module-tree order; a module reachable
    under two names is listed under both (as transformers does).
    """
    patterns = [re.compile(p) for p in (forbidden_layer_names or ())]
    forbidden_types = tuple(forbidden_layer_types)

    def allowed(name: str) -> bool:
        # Patterns are tried on the name relative to every enclosing module, so that an anchored
        # pattern such as ``^norm`` also catches ``encoder.norm.weight``.
        parts = name.lower().split(".")
        suffixes = [".".join(parts[i:]) for i in range(len(parts))]
        return not any(p.search(s) for p in patterns for s in suffixes)

    def walk(module: nn.Module, prefix: str, inside_forbidden: bool) -> list[str]:
        names: list[str] = []
        for child_name, child in module.named_children():
            blocked = inside_forbidden or isinstance(child, forbidden_types)
            names += walk(child, f"{prefix}{child_name}.", blocked)
        if not inside_forbidden:
            names += [
                prefix + key
                for key, value in module._parameters.items()
                if value is not None and allowed(prefix + key)
            ]
        return names

    return walk(model, "", False)


def get_decay_parameter_names(
    model: nn.Module, extra_no_decay_types: Iterable[type[nn.Module]] = ()
) -> list[str]:
    """Names of the parameters that get weight decay, as the Trainer decides.

    Excluded: every parameter of an ``nn.LayerNorm`` (and of ``extra_no_decay_types``), and every
    parameter whose name contains ``bias``, ``layernorm``, ``rmsnorm``, a ``norm`` path component
    or a ``..._norm`` component (case-insensitive), which catches RMSNorm-style modules of any
    class. With no extra types the list equals ``transformers.Trainer.get_decay_parameter_names``.
    """
    return get_parameter_names(
        model, [nn.LayerNorm, *extra_no_decay_types], list(NO_DECAY_NAME_PATTERNS)
    )


def _weight_decay_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    decay = set(get_decay_parameter_names(model))
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    return [
        {"params": [p for n, p in named if n in decay], "weight_decay": weight_decay},
        {"params": [p for n, p in named if n not in decay], "weight_decay": 0.0},
    ]


def _fused_supported(params: list[torch.Tensor]) -> str | None:
    """Why fused AdamW cannot run on ``params`` (``None`` when it can)."""
    from torch.optim.optimizer import _get_fused_kernels_supported_devices

    supported = set(_get_fused_kernels_supported_devices())
    for p in params:
        if p.device.type not in supported:
            return f"the fused kernel does not run on {p.device.type!r} tensors"
        if not torch.is_floating_point(p):
            return f"the fused kernel needs floating-point parameters, got {p.dtype}"
    return None


def _all_params(groups: Any) -> list[torch.Tensor]:
    if isinstance(groups, nn.Module):
        return list(groups.parameters())
    params: list[torch.Tensor] = []
    for item in groups:
        if isinstance(item, dict):
            params += list(item["params"])
        else:
            params.append(item)
    return params


def build_optimizer(
    model: nn.Module,
    args: Any,
    optimizer_cls_and_kwargs: tuple[Any, dict[str, Any]] | None = None,
) -> torch.optim.Optimizer:
    """Create the optimizer the Trainer's ``create_optimizer`` would create.

    Trainable parameters are split into a group with ``args.weight_decay`` (see
    :func:`get_decay_parameter_names`) and a group with no decay. The class and keyword arguments
    come from ``optimizer_cls_and_kwargs`` or, when omitted, from
    :func:`~trainer_optim.get_optimizer_cls_and_kwargs`. Keyword arguments ``params``, ``model`` or
    ``optimizer_dict`` prepared by the registry (GaLore, APOLLO, LOMO, layer-wise setups) replace
    the groups. A class that is not an ``Optimizer`` subclass is treated as a factory and called as
    ``cls()(model, **kwargs)``. ``fused=True`` falls back to the plain kernel, with a warning, when
    a parameter's device or dtype has no fused kernel.
    """
    if optimizer_cls_and_kwargs is None:
        from .registry import get_optimizer_cls_and_kwargs

        optimizer_cls_and_kwargs = get_optimizer_cls_and_kwargs(args, model)
    optimizer_cls, optimizer_kwargs = optimizer_cls_and_kwargs
    kwargs = dict(optimizer_kwargs)

    if not (isinstance(optimizer_cls, type) and issubclass(optimizer_cls, torch.optim.Optimizer)):
        return optimizer_cls()(model, **kwargs)

    groups: Any = _weight_decay_groups(model, float(getattr(args, "weight_decay", 0.0) or 0.0))
    for key in ("params", "model", "optimizer_dict"):
        if key in kwargs:
            groups = kwargs.pop(key)

    if kwargs.get("fused"):
        reason = _fused_supported(_all_params(groups))
        if reason is not None:
            warnings.warn(
                f"adamw_torch_fused: {reason}; using the non-fused AdamW kernel instead.",
                stacklevel=2,
            )
            kwargs.pop("fused")

    optimizer = optimizer_cls(groups, **kwargs)
    _register_bnb_embedding_overrides(model, optimizer_cls, kwargs)
    return optimizer


def _register_bnb_embedding_overrides(
    model: nn.Module, optimizer_cls: type, kwargs: dict[str, Any]
) -> None:
    """bitsandbytes 8-bit optimizers: keep embedding weights in 32-bit state, as the Trainer does."""
    if "bitsandbytes" not in optimizer_cls.__module__ or kwargs.get("optim_bits") != 8:
        return
    import bitsandbytes

    manager = bitsandbytes.optim.GlobalOptimManager.get_instance()
    for module in model.modules():
        if isinstance(module, nn.Embedding):
            manager.register_module_override(module, "weight", {"optim_bits": 32})
