"""Learning-rate multipliers as plain module-level functions.

Each function maps a step index to the factor ``LambdaLR`` multiplies the base learning rate by.
The schedules bind their settings with ``functools.partial``, so a scheduler built from them can be
pickled and its ``state_dict`` restored exactly. The arithmetic mirrors transformers 5.3.0 step for
step, so the learning rates agree to the last bit.
"""

from __future__ import annotations

import math


def _warmup_fraction(step: int, num_warmup_steps: int) -> float:
    """Linear ramp from 0 (step 0) towards 1 (step ``num_warmup_steps``)."""
    return float(step) / float(max(1, num_warmup_steps))


def constant_factor(step: int | None = None) -> float:
    """Always 1: keep the optimizer's learning rate."""
    return 1.0


def fixed_factor(step: int | None = None, *, value: float = 0.0) -> float:
    """Always ``value`` (used by the Adafactor proxy schedule before the first step)."""
    return value


def constant_with_warmup_factor(step: int, *, num_warmup_steps: int) -> float:
    """Linear warmup, then 1."""
    if step < num_warmup_steps:
        return float(step) / float(max(1.0, num_warmup_steps))
    return 1.0


def linear_factor(step: int, *, num_warmup_steps: int, num_training_steps: int) -> float:
    """Linear warmup, then a straight line down to 0 at ``num_training_steps``."""
    if step < num_warmup_steps:
        return _warmup_fraction(step, num_warmup_steps)
    remaining = float(num_training_steps - step)
    return max(0.0, remaining / float(max(1, num_training_steps - num_warmup_steps)))


def cosine_factor(
    step: int,
    *,
    num_warmup_steps: int,
    num_training_steps: int,
    num_cycles: float = 0.5,
    min_lr_rate: float = 0.0,
) -> float:
    """Linear warmup, then a cosine wave from 1 down to ``min_lr_rate``.

    ``num_cycles=0.5`` is half a wave (one decay); larger values go back up and down again.
    """
    if step < num_warmup_steps:
        return _warmup_fraction(step, num_warmup_steps)
    progress = float(step - num_warmup_steps) / float(max(1, num_training_steps - num_warmup_steps))
    wave = 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress))
    return max(0.0, wave * (1 - min_lr_rate) + min_lr_rate)


def cosine_hard_restarts_factor(
    step: int, *, num_warmup_steps: int, num_training_steps: int, num_cycles: int = 1
) -> float:
    """Linear warmup, then ``num_cycles`` cosine decays from 1 to 0, each restarting at 1."""
    if step < num_warmup_steps:
        return _warmup_fraction(step, num_warmup_steps)
    progress = float(step - num_warmup_steps) / float(max(1, num_training_steps - num_warmup_steps))
    if progress >= 1.0:
        return 0.0
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * ((float(num_cycles) * progress) % 1.0))))


def polynomial_factor(
    step: int,
    *,
    num_warmup_steps: int,
    num_training_steps: int,
    lr_end: float,
    power: float,
    lr_init: float,
) -> float:
    """Linear warmup, then ``(lr_init - lr_end) * remaining**power + lr_end``, as a ratio of ``lr_init``."""
    if step < num_warmup_steps:
        return _warmup_fraction(step, num_warmup_steps)
    if step > num_training_steps:
        return lr_end / lr_init
    decay_steps = max(1, num_training_steps - num_warmup_steps)
    remaining = 1 - (step - num_warmup_steps) / decay_steps
    return ((lr_init - lr_end) * remaining**power + lr_end) / lr_init


def inverse_sqrt_factor(step: int, *, num_warmup_steps: int, timescale: int) -> float:
    """Linear warmup, then ``1 / sqrt((step + timescale - warmup) / timescale)``."""
    if step < num_warmup_steps:
        return _warmup_fraction(step, num_warmup_steps)
    shift = timescale - num_warmup_steps
    return 1.0 / math.sqrt((step + shift) / timescale)


def cosine_warmup_min_lr_factor(
    step: int,
    *,
    num_warmup_steps: int,
    num_training_steps: int,
    num_cycles: float = 0.5,
    min_lr_rate: float = 0.0,
    warmup_lr_rate: float | None = None,
) -> float:
    """Warmup that starts above 0, then cosine to ``min_lr_rate``; counts steps from one.

    Without ``warmup_lr_rate`` the warmup is ``(step + 1) / warmup``; with it, the warmup climbs
    linearly from ``warmup_lr_rate`` at step 0 to 1 at the last warmup step.
    """
    current = float(step)
    warmup = float(num_warmup_steps)
    total = float(num_training_steps)
    if current < warmup:
        if warmup_lr_rate is None:
            return (current + 1.0) / max(1.0, warmup)
        start = float(warmup_lr_rate)
        return start + (1.0 - start) * current / max(1, warmup - 1)
    progress = (current - warmup + 1.0) / max(1.0, total - warmup)
    wave = 0.5 * (1.0 + math.cos(math.pi * num_cycles * 2.0 * progress))
    return max(0.0, wave * (1 - min_lr_rate) + min_lr_rate)


def _shape(kind: str, progress: float, *, rising: bool, num_cycles: float) -> float:
    """The warmup (``rising``) or decay curve named ``kind`` at ``progress`` in [0, 1]."""
    if rising:
        if kind == "linear":
            return progress
        if kind == "cosine":
            return 0.5 * (1.0 - math.cos(math.pi * progress))
        return 1.0 - math.sqrt(1.0 - progress)  # "1-sqrt"
    if kind == "linear":
        return 1.0 - progress
    if kind == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress))
    return 1.0 - math.sqrt(progress)  # "1-sqrt"


def wsd_factor(
    step: int,
    *,
    num_warmup_steps: int,
    num_stable_steps: int,
    num_decay_steps: int,
    warmup_type: str,
    decay_type: str,
    min_lr_ratio: float,
    num_cycles: float,
) -> float:
    """Warmup-stable-decay: rise to 1, hold, fall to ``min_lr_ratio``, then stay there."""
    if step < num_warmup_steps:
        progress = float(step) / float(max(1, num_warmup_steps))
        factor = _shape(warmup_type, progress, rising=True, num_cycles=num_cycles)
        return max(0.0, factor * (1.0 - min_lr_ratio) + min_lr_ratio)
    stable_end = num_warmup_steps + num_stable_steps
    if step < stable_end:
        return 1.0
    if step < stable_end + num_decay_steps:
        progress = float(step - stable_end) / float(max(1, num_decay_steps))
        factor = _shape(decay_type, progress, rising=False, num_cycles=num_cycles)
        return max(0.0, factor * (1.0 - min_lr_ratio) + min_lr_ratio)
    return min_lr_ratio
