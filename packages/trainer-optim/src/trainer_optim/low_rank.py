"""Shared set-up of low-rank-projection optimizers (GaLore, APOLLO).

These optimizers project the gradients of chosen ``nn.Linear`` weights to a low rank. The chosen
weights form one parameter group carrying the projection settings; everything else forms a plain
group. The ``*_layerwise`` variants give each parameter its own optimizer, stepped from a gradient
hook, behind a :class:`~trainer_optim.LayerWiseDummyOptimizer`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import torch
from torch import nn

from ._compat import enum_value
from .layerwise import LayerWiseDummyOptimizer, attach_layerwise_hooks

__all__ = ["match_target_module", "setup_low_rank_optimizer"]

logger = logging.getLogger(__name__)


def match_target_module(targets: str | list[str], module_name: str) -> tuple[bool, bool]:
    """Whether ``module_name`` is selected by ``optim_target_modules``, and whether by a regex.

    A string is a regular expression that must match the whole module name. In a list, an entry
    selects a module when it equals the name, is a substring of it, or fully matches it as a regex.
    """
    if isinstance(targets, str):
        return bool(re.fullmatch(targets, module_name)), targets != module_name
    if module_name in targets:
        return True, False
    if any(target in module_name for target in targets):
        return True, False
    if any(re.fullmatch(target, module_name) for target in targets):
        return True, True
    return False, False


def _is_distributed(args: Any) -> bool:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_world_size() > 1
    try:
        return enum_value(getattr(args, "parallel_mode", "")) == "distributed"
    except Exception:
        return False


def setup_low_rank_optimizer(
    args: Any,
    model: nn.Module | None,
    name: str,
    optimizer_cls: type,
    projection_kwargs: dict[str, Any],
    optimizer_kwargs: dict[str, Any],
) -> tuple[Any, dict[str, Any]]:
    """Select the target weights of ``model`` and return ``(cls, kwargs)`` with ``params`` set.

    Raises ``ValueError`` when ``optim_target_modules`` or the model is missing or selects no
    linear layer, ``TypeError`` when ``optim_target_modules`` is neither a string nor a list, and
    ``NotImplementedError`` for a layer-wise variant under DDP.
    """
    layerwise = name.endswith("layerwise")
    if layerwise and _is_distributed(args):
        raise NotImplementedError(f"Layer-wise {name} does not support DDP at this time")

    targets = getattr(args, "optim_target_modules", None)
    if targets is None:
        raise ValueError(f"You need to define `optim_target_modules` to use {name} optimizers")
    if not isinstance(targets, (list, str)):
        raise TypeError(
            "`optim_target_modules` must be a list of strings, a regex string, or 'all-linear'. "
            f"Got: {targets}"
        )
    if model is None:
        raise ValueError(f"You need to pass a model to initialize {name} optimizer.")

    all_linear = isinstance(targets, str) and targets.replace("_", "-") == "all-linear"
    target_names: set[str] = set()
    for module_name, module in model.named_modules():
        selected, by_regex = match_target_module(targets, module_name)
        if not isinstance(module, nn.Linear):
            if selected and not by_regex:
                logger.warning(
                    "%s matched but ignored. %s only supports linear layers.", module_name, name
                )
            continue
        if selected or all_linear:
            target_names.add(module_name + ".weight")
    if not target_names:
        raise ValueError(f"No target modules found for {name} ({targets}).")

    named = list(model.named_parameters())
    target_params = [p for n, p in named if n in target_names]
    other_params = [p for n, p in named if n not in target_names]
    param_groups = [{"params": other_params}, {"params": target_params, **projection_kwargs}]

    if layerwise:
        if getattr(args, "gradient_accumulation_steps", 1) != 1:
            raise ValueError(f"Layerwise {name} does not support gradient accumulation!")
        optimizer_dict: dict[nn.Parameter, torch.optim.Optimizer] = {}
        for param in other_params:
            optimizer_dict[param] = optimizer_cls([{"params": [param]}], **optimizer_kwargs)
        for param in target_params:
            optimizer_dict[param] = optimizer_cls(
                [{"params": [param], **projection_kwargs}], **optimizer_kwargs
            )
        attach_layerwise_hooks(model, optimizer_dict)
        optimizer_cls = LayerWiseDummyOptimizer
        optimizer_kwargs["optimizer_dict"] = optimizer_dict

    optimizer_kwargs["params"] = param_groups
    return optimizer_cls, optimizer_kwargs
