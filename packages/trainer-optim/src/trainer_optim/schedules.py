"""The named learning-rate schedules, one builder per ``SchedulerType``.

Every builder returns a ``torch.optim.lr_scheduler.LambdaLR`` (``ReduceLROnPlateau`` for the plateau
schedule) whose multiplier is a ``functools.partial`` of a function in :mod:`trainer_optim._lambdas`,
so schedulers pickle and resume from ``state_dict`` exactly. Names, arguments and defaults are those
of ``transformers.optimization`` 5.3.0.
"""

from __future__ import annotations

import warnings
from functools import partial
from typing import Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR, ReduceLROnPlateau

from . import _lambdas

__all__ = [
    "get_constant_schedule",
    "get_constant_schedule_with_warmup",
    "get_cosine_schedule_with_warmup",
    "get_cosine_with_hard_restarts_schedule_with_warmup",
    "get_cosine_with_min_lr_schedule_with_warmup",
    "get_cosine_with_min_lr_schedule_with_warmup_lr_rate",
    "get_inverse_sqrt_schedule",
    "get_linear_schedule_with_warmup",
    "get_polynomial_decay_schedule_with_warmup",
    "get_reduce_on_plateau_schedule",
    "get_wsd_schedule",
]

_WSD_SHAPES = ("linear", "cosine", "1-sqrt")


def _schedule(optimizer: Optimizer, last_epoch: int, factor: Any, **settings: Any) -> LambdaLR:
    """A ``LambdaLR`` whose multiplier is ``factor(step, **settings)``."""
    return LambdaLR(optimizer, partial(factor, **settings), last_epoch=last_epoch)


def get_constant_schedule(optimizer: Optimizer, last_epoch: int = -1) -> LambdaLR:
    """Keep the optimizer's learning rate unchanged for the whole run."""
    return LambdaLR(optimizer, _lambdas.constant_factor, last_epoch=last_epoch)


def get_reduce_on_plateau_schedule(optimizer: Optimizer, **kwargs: Any) -> ReduceLROnPlateau:
    """Hold the learning rate until a watched metric stops improving, then cut it.

    ``kwargs`` go to ``torch.optim.lr_scheduler.ReduceLROnPlateau`` (``mode``, ``factor``,
    ``patience``, ``threshold``, ``cooldown``, ``min_lr``...). Step it with the metric:
    ``scheduler.step(eval_loss)``.
    """
    return ReduceLROnPlateau(optimizer, **kwargs)


def get_constant_schedule_with_warmup(
    optimizer: Optimizer, num_warmup_steps: int, last_epoch: int = -1
) -> LambdaLR:
    """Ramp linearly from 0 to the optimizer's learning rate over ``num_warmup_steps``, then hold."""
    return _schedule(
        optimizer,
        last_epoch,
        _lambdas.constant_with_warmup_factor,
        num_warmup_steps=num_warmup_steps,
    )


def get_linear_schedule_with_warmup(
    optimizer: Optimizer, num_warmup_steps: int, num_training_steps: int, last_epoch: int = -1
) -> LambdaLR:
    """Linear warmup from 0, then linear decay that reaches 0 at ``num_training_steps``."""
    return _schedule(
        optimizer,
        last_epoch,
        _lambdas.linear_factor,
        num_warmup_steps=num_warmup_steps,
        num_training_steps=num_training_steps,
    )


def get_cosine_schedule_with_warmup(
    optimizer: Optimizer,
    num_warmup_steps: int,
    num_training_steps: int,
    num_cycles: float = 0.5,
    last_epoch: int = -1,
) -> LambdaLR:
    """Linear warmup from 0, then cosine decay to 0.

    ``num_cycles`` counts cosine waves over the decay phase: the default 0.5 is a single smooth
    descent; 1.0 goes down and back up.
    """
    return _schedule(
        optimizer,
        last_epoch,
        _lambdas.cosine_factor,
        num_warmup_steps=num_warmup_steps,
        num_training_steps=num_training_steps,
        num_cycles=num_cycles,
    )


def get_cosine_with_hard_restarts_schedule_with_warmup(
    optimizer: Optimizer,
    num_warmup_steps: int,
    num_training_steps: int,
    num_cycles: int = 1,
    last_epoch: int = -1,
) -> LambdaLR:
    """Linear warmup, then ``num_cycles`` cosine descents to 0, jumping back to the peak between."""
    return _schedule(
        optimizer,
        last_epoch,
        _lambdas.cosine_hard_restarts_factor,
        num_warmup_steps=num_warmup_steps,
        num_training_steps=num_training_steps,
        num_cycles=num_cycles,
    )


def get_polynomial_decay_schedule_with_warmup(
    optimizer: Optimizer,
    num_warmup_steps: int,
    num_training_steps: int,
    lr_end: float = 1e-7,
    power: float = 1.0,
    last_epoch: int = -1,
) -> LambdaLR:
    """Linear warmup, then polynomial decay (exponent ``power``) from the initial lr to ``lr_end``.

    The initial lr is the optimizer's default ``lr``; it must be larger than ``lr_end``. After
    ``num_training_steps`` the learning rate stays at ``lr_end``.
    """
    lr_init = optimizer.defaults["lr"]
    if not (lr_init > lr_end):
        raise ValueError(f"lr_end ({lr_end}) must be smaller than initial lr ({lr_init})")
    return _schedule(
        optimizer,
        last_epoch,
        _lambdas.polynomial_factor,
        num_warmup_steps=num_warmup_steps,
        num_training_steps=num_training_steps,
        lr_end=lr_end,
        power=power,
        lr_init=lr_init,
    )


def get_inverse_sqrt_schedule(
    optimizer: Optimizer,
    num_warmup_steps: int,
    timescale: int | None = None,
    last_epoch: int = -1,
) -> LambdaLR:
    """Linear warmup, then decay proportional to one over the square root of the step.

    ``timescale`` defaults to ``num_warmup_steps`` (10,000 when there is no warmup); the factor is
    exactly 1 at the end of warmup.
    """
    if timescale is None:
        timescale = num_warmup_steps or 10_000
    return _schedule(
        optimizer,
        last_epoch,
        _lambdas.inverse_sqrt_factor,
        num_warmup_steps=num_warmup_steps,
        timescale=timescale,
    )


def _min_lr_rate(optimizer: Optimizer, min_lr: float | None, min_lr_rate: float | None) -> float:
    """Resolve exactly one of ``min_lr`` (absolute) and ``min_lr_rate`` (fraction of the peak)."""
    if min_lr is not None and min_lr_rate is not None:
        raise ValueError("Only one of min_lr or min_lr_rate should be set")
    if min_lr is not None:
        return min_lr / optimizer.defaults["lr"]
    if min_lr_rate is None:
        raise ValueError(
            "One of min_lr or min_lr_rate should be set through the `lr_scheduler_kwargs`"
        )
    return min_lr_rate


def get_cosine_with_min_lr_schedule_with_warmup(
    optimizer: Optimizer,
    num_warmup_steps: int,
    num_training_steps: int,
    num_cycles: float = 0.5,
    last_epoch: int = -1,
    min_lr: float | None = None,
    min_lr_rate: float | None = None,
) -> LambdaLR:
    """Like the cosine schedule, but the decay bottoms out at a floor instead of 0.

    Give the floor either as ``min_lr`` (an absolute learning rate) or as ``min_lr_rate`` (a
    fraction of the optimizer's lr); exactly one is required.
    """
    return _schedule(
        optimizer,
        last_epoch,
        _lambdas.cosine_factor,
        num_warmup_steps=num_warmup_steps,
        num_training_steps=num_training_steps,
        num_cycles=num_cycles,
        min_lr_rate=_min_lr_rate(optimizer, min_lr, min_lr_rate),
    )


def get_cosine_with_min_lr_schedule_with_warmup_lr_rate(
    optimizer: Optimizer,
    num_warmup_steps: int,
    num_training_steps: int,
    num_cycles: float = 0.5,
    last_epoch: int = -1,
    min_lr: float | None = None,
    min_lr_rate: float | None = None,
    warmup_lr_rate: float | None = None,
) -> LambdaLR:
    """Cosine decay to a floor after a warmup that does not start at 0.

    The warmup starts at ``warmup_lr_rate`` times the peak (``1 / num_warmup_steps`` when unset) and
    the first step is never at lr 0. Floor as in
    :func:`get_cosine_with_min_lr_schedule_with_warmup`.
    """
    return _schedule(
        optimizer,
        last_epoch,
        _lambdas.cosine_warmup_min_lr_factor,
        num_warmup_steps=num_warmup_steps,
        num_training_steps=num_training_steps,
        num_cycles=num_cycles,
        min_lr_rate=_min_lr_rate(optimizer, min_lr, min_lr_rate),
        warmup_lr_rate=warmup_lr_rate,
    )


def get_wsd_schedule(
    optimizer: Optimizer,
    num_warmup_steps: int,
    num_decay_steps: int,
    num_training_steps: int | None = None,
    num_stable_steps: int | None = None,
    warmup_type: str = "linear",
    decay_type: str = "cosine",
    min_lr_ratio: float = 0,
    num_cycles: float = 0.5,
    last_epoch: int = -1,
) -> LambdaLR:
    """Warmup-stable-decay: three phases, then the floor.

    1. warmup over ``num_warmup_steps`` from ``min_lr_ratio`` times the peak up to the peak;
    2. the peak held for ``num_stable_steps`` (by default whatever ``num_training_steps`` leaves
       after warmup and decay);
    3. decay over ``num_decay_steps`` back down to ``min_lr_ratio`` times the peak, where it stays.

    ``warmup_type`` and ``decay_type`` are each ``"linear"``, ``"cosine"`` or ``"1-sqrt"``.
    """
    if num_training_steps is None and num_stable_steps is None:
        raise ValueError("Either num_training_steps or num_stable_steps must be specified.")
    if num_training_steps is not None and num_stable_steps is not None:
        warnings.warn(
            "Both num_training_steps and num_stable_steps are specified. num_stable_steps will be used."
        )
    if warmup_type not in _WSD_SHAPES:
        raise ValueError(
            f"Unknown warmup type: {warmup_type}, expected 'linear', 'cosine' or '1-sqrt'"
        )
    if decay_type not in _WSD_SHAPES:
        raise ValueError(
            f"Unknown decay type: {decay_type}, expected 'linear', 'cosine' or '1-sqrt'"
        )
    if num_stable_steps is None:
        num_stable_steps = num_training_steps - num_warmup_steps - num_decay_steps
    return _schedule(
        optimizer,
        last_epoch,
        _lambdas.wsd_factor,
        num_warmup_steps=num_warmup_steps,
        num_stable_steps=num_stable_steps,
        num_decay_steps=num_decay_steps,
        warmup_type=warmup_type,
        decay_type=decay_type,
        min_lr_ratio=min_lr_ratio,
        num_cycles=num_cycles,
    )
