"""Warn when a run resumes with logging, evaluation, saving or batch settings unlike its checkpoint."""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["warn_if_resume_settings_differ"]

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
