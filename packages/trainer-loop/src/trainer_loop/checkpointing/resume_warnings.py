"""Warn when a run resumes with logging, evaluation, saving or batch settings unlike its checkpoint."""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["warn_if_resume_settings_differ"]

from .data_state import global_batch

logger = logging.getLogger("trainer_loop.resume")

_INTERVALS = ("logging_steps", "eval_steps", "save_steps")


def warn_if_resume_settings_differ(run_state: Any, saved_state: Any, args: Any) -> list[str]:
    """Log one warning listing the settings that differ from the checkpoint's; returns them.

    ``run_state`` is the state this run computed from ``args`` (step intervals resolved, so a
    fractional ``save_steps=0.1`` compares as the step count it stands for); ``saved_state`` the
    ``trainer_state.json`` read from the checkpoint. Per-device batch sizes are compared with the
    checkpoint's ``train_batch_size`` divided over the GPUs of this process, as transformers does.
    The checkpoint's values win for nothing: training continues with ``args``.
    """
    lines = []
    for name in _INTERVALS:
        now, saved = getattr(run_state, name, None), getattr(saved_state, name, None)
        if now is not None and saved is not None and now != saved:
            lines.append(f"{name}: {now} (from args) != {saved} (from trainer_state.json)")
    saved_batch = getattr(saved_state, "train_batch_size", None)
    if saved_batch is not None:
        per_device = saved_batch // max(1, int(getattr(args, "n_gpu", 1) or 1))
        if args.per_device_train_batch_size != per_device:
            lines.append(
                f"per_device_train_batch_size: {args.per_device_train_batch_size} (from args) != "
                f"{per_device} (from trainer_state.json)"
            )
    if lines:
        logger.warning(
            "Warning: The following arguments do not match the ones in the `trainer_state.json` "
            "within the checkpoint directory: %s",
            "".join(f"\n\t{line}" for line in lines),
        )
    return lines


def warn_if_global_batch_differs(
    saved: dict[str, Any] | None, layout: dict[str, Any], global_step: int, updates_per_epoch: int
) -> str | None:
    """Warn once when a run resumes with another global batch than its checkpoint's; returns it.

    ``saved`` and ``layout`` hold ``world_size``, ``per_device_batch`` and ``accumulation`` (the
    checkpoint's from ``data_state.json``, this run's from its arguments). With the same global
    batch a resume on another number of processes continues at the same example; with another
    one the step count stays and the example position moves.
    """
    keys = ("per_device_batch", "accumulation", "world_size")
    if not saved or any(key not in saved for key in keys):
        return None
    old, new = global_batch(saved), global_batch(layout)
    if old == new:
        if saved["world_size"] != layout["world_size"]:
            logger.info(
                "Resuming a checkpoint written by %d process(es) on %d with the same global batch "
                "(%d): training continues at the same example.",
                saved["world_size"],
                layout["world_size"],
                new,
            )
        return None
    done = global_step % max(updates_per_epoch, 1)
    message = (
        f"The checkpoint was written with a global batch of {old} ({_batch_terms(saved)}) and "
        f"this run's is {new} ({_batch_terms(layout)}): step {global_step} keeps its number, but "
        f"this epoch continues after example {done * new} of its order instead of {done * old}, "
        f"where the checkpoint stopped, each remaining step takes {new} examples, and the "
        "learning-rate schedule still counts steps. Keep per_device_train_batch_size x "
        "gradient_accumulation_steps x processes equal to resume exactly."
    )
    logger.warning(message)
    return message


def _batch_terms(layout: dict[str, Any]) -> str:
    return (
        f"{layout['per_device_batch']} per device x {layout['accumulation']} accumulation "
        f"step(s) x {layout['world_size']} process(es)"
    )
