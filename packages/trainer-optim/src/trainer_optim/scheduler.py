"""Build a schedule from its ``SchedulerType`` name, or from training arguments."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from . import schedules
from ._compat import SCHEDULER_NAMES, enum_value
from .layerwise import LayerWiseDummyScheduler

__all__ = ["TYPE_TO_SCHEDULER_FUNCTION", "create_scheduler", "get_scheduler"]

#: ``SchedulerType`` value -> the builder it stands for.
TYPE_TO_SCHEDULER_FUNCTION: dict[str, Callable[..., Any]] = {
    "linear": schedules.get_linear_schedule_with_warmup,
    "cosine": schedules.get_cosine_schedule_with_warmup,
    "cosine_with_restarts": schedules.get_cosine_with_hard_restarts_schedule_with_warmup,
    "polynomial": schedules.get_polynomial_decay_schedule_with_warmup,
    "constant": schedules.get_constant_schedule,
    "constant_with_warmup": schedules.get_constant_schedule_with_warmup,
    "inverse_sqrt": schedules.get_inverse_sqrt_schedule,
    "reduce_lr_on_plateau": schedules.get_reduce_on_plateau_schedule,
    "cosine_with_min_lr": schedules.get_cosine_with_min_lr_schedule_with_warmup,
    "cosine_warmup_with_min_lr": schedules.get_cosine_with_min_lr_schedule_with_warmup_lr_rate,
    "warmup_stable_decay": schedules.get_wsd_schedule,
}
assert tuple(TYPE_TO_SCHEDULER_FUNCTION) == SCHEDULER_NAMES


def _scheduler_name(name: Any) -> str:
    value = enum_value(name)
    if value not in TYPE_TO_SCHEDULER_FUNCTION:
        raise ValueError(
            f"{value} is not a valid SchedulerType, please select one of {list(SCHEDULER_NAMES)}"
        )
    return value


def _layerwise_scheduler(
    name: str,
    optimizer: Any,
    num_warmup_steps: int | None,
    num_training_steps: int | None,
    scheduler_specific_kwargs: dict | None,
) -> LayerWiseDummyScheduler:
    """One real schedule per parameter optimizer, stepped from that parameter's gradient hook."""
    optimizer_dict = optimizer.optimizer_dict
    per_param = {
        param: get_scheduler(
            name,
            optimizer=optimizer_dict[param],
            num_warmup_steps=num_warmup_steps,
            num_training_steps=num_training_steps,
            scheduler_specific_kwargs=scheduler_specific_kwargs,
        )
        for param in optimizer_dict
    }

    def hook(param: Any) -> None:
        per_param[param].step()

    for param in optimizer_dict:
        if param.requires_grad:
            param.register_post_accumulate_grad_hook(hook)
    return LayerWiseDummyScheduler(
        optimizer=optimizer, optimizer_dict=optimizer_dict, lr=optimizer.defaults["lr"]
    )


def get_scheduler(
    name: Any,
    optimizer: Optimizer,
    num_warmup_steps: int | None = None,
    num_training_steps: int | None = None,
    scheduler_specific_kwargs: dict | None = None,
) -> LRScheduler | ReduceLROnPlateau:
    """Build the schedule called ``name`` (a ``SchedulerType`` member or its string value).

    Which arguments are needed depends on the schedule: ``constant`` needs none,
    ``reduce_lr_on_plateau`` only takes ``scheduler_specific_kwargs``, ``constant_with_warmup``
    and ``inverse_sqrt`` need ``num_warmup_steps``, ``warmup_stable_decay`` needs
    ``num_warmup_steps`` plus ``num_decay_steps`` in the kwargs, and every other schedule needs both
    step counts. A missing count raises ``ValueError`` naming it. ``scheduler_specific_kwargs`` are
    passed to the builder (e.g. ``num_cycles``, ``min_lr_rate``, ``power``); for ``inverse_sqrt``
    they may carry ``timescale``. For a layer-wise optimizer (one with ``optimizer_dict``), one
    schedule per parameter is made and a :class:`~trainer_optim.LayerWiseDummyScheduler` returned.
    """
    key = _scheduler_name(name)
    builder = TYPE_TO_SCHEDULER_FUNCTION[key]

    if optimizer is not None and hasattr(optimizer, "optimizer_dict"):
        return _layerwise_scheduler(
            key, optimizer, num_warmup_steps, num_training_steps, scheduler_specific_kwargs
        )

    if key == "constant":
        return builder(optimizer)

    kwargs = dict(scheduler_specific_kwargs or {})
    if key == "reduce_lr_on_plateau":
        return builder(optimizer, **kwargs)

    if num_warmup_steps is None:
        raise ValueError(f"{key} requires `num_warmup_steps`, please provide that argument.")

    if key == "constant_with_warmup":
        return builder(optimizer, num_warmup_steps=num_warmup_steps)
    if key == "inverse_sqrt":
        timescale = kwargs.get("timescale")
        return builder(optimizer, num_warmup_steps=num_warmup_steps, timescale=timescale)
    if key == "warmup_stable_decay":
        if "num_decay_steps" not in kwargs:
            raise ValueError(
                "warmup_stable_decay requires `num_decay_steps` in the scheduler kwargs "
                '(lr_scheduler_kwargs={"num_decay_steps": ...}).'
            )
        return builder(
            optimizer,
            num_warmup_steps=num_warmup_steps,
            num_training_steps=num_training_steps,
            **kwargs,
        )

    if num_training_steps is None:
        raise ValueError(f"{key} requires `num_training_steps`, please provide that argument.")
    return builder(
        optimizer,
        num_warmup_steps=num_warmup_steps,
        num_training_steps=num_training_steps,
        **kwargs,
    )


def _warmup_steps(args: Any, num_training_steps: int) -> int:
    """Warmup length from ``args``: its ``get_warmup_steps`` if it has one, else the same rule.

    A ``warmup_steps`` of 1 or more is a step count; below 1 it is a fraction of the run (rounded
    up). A set ``warmup_ratio`` wins over a zero ``warmup_steps``.
    """
    getter = getattr(args, "get_warmup_steps", None)
    if callable(getter):
        return int(getter(num_training_steps))
    steps = float(getattr(args, "warmup_steps", 0) or 0)
    ratio = getattr(args, "warmup_ratio", None)
    if steps == 0 and ratio:
        steps = float(ratio)
    return int(steps) if steps >= 1 else math.ceil(num_training_steps * steps)


def _scheduler_kwargs(args: Any) -> dict:
    raw = getattr(args, "lr_scheduler_kwargs", None)
    if raw is None:
        return {}
    if isinstance(raw, str):
        raw = json.loads(raw) if raw.strip() else {}
    if not isinstance(raw, dict):
        raise TypeError(f"lr_scheduler_kwargs must be a dict or a JSON string, got {raw!r}")
    return dict(raw)


def create_scheduler(
    args: Any, optimizer: Optimizer, num_training_steps: int
) -> LRScheduler | ReduceLROnPlateau:
    """The schedule the Trainer would make: ``args.lr_scheduler_type`` over ``num_training_steps``.

    Reads ``args.lr_scheduler_type``, ``args.lr_scheduler_kwargs`` (a dict or JSON string) and the
    warmup length from ``args.get_warmup_steps(num_training_steps)`` (or ``warmup_steps`` /
    ``warmup_ratio`` on objects without that method).
    """
    return get_scheduler(
        getattr(args, "lr_scheduler_type", "linear"),
        optimizer=optimizer,
        num_warmup_steps=_warmup_steps(args, num_training_steps),
        num_training_steps=num_training_steps,
        scheduler_specific_kwargs=_scheduler_kwargs(args),
    )
