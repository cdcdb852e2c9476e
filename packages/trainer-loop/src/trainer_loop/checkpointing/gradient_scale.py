"""Keep the gradient's scale when a resume changes the accumulation steps.

As in transformers 5.3.0, each optimizer step's gradient is the large-batch mean divided by
``gradient_accumulation_steps``: the trainer divides a plain model's loss by the micro-batches
of the step (a model taking ``num_items_in_batch`` divides its summed loss by their items), and
backward divides it once more by the accumulation steps. The process count does not enter (DDP
averages). A run resumed with other accumulation steps (two processes -> one process with two
accumulation steps, say) would therefore continue with gradients of another scale than the run
it continues: gradient clipping, the optimizer's moments and a plain SGD step all see it, and the
runs part (9.2e-3 in weights after 20 steps of a small MLP with AdamW).

So the number backward divides by, the *gradient divisor*, is saved in ``data_state.json`` and a
resumed run keeps it: the run continues as the uninterrupted one. A fresh run, or one resumed
from a checkpoint without the file (transformers'), divides by its own accumulation steps.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["gradient_divisor"]


def gradient_divisor(saved: dict[str, Any] | None, accumulation: int) -> int:
    """What backward divides the loss by in a run with ``accumulation`` steps that resumes from
    a checkpoint whose batch layout is ``saved`` (None for a fresh run or an unknown layout).

    Says once, at INFO, when it keeps a divisor other than ``accumulation``.
    """
    if not saved:
        return accumulation
    divisor = saved.get("gradient_divisor", saved.get("accumulation"))
    if not isinstance(divisor, int) or divisor < 1 or divisor == accumulation:
        return accumulation
    logger.info(
        "gradient_accumulation_steps is %d and the run this checkpoint continues divided its "
        "gradients by %d: this run keeps that scale, so gradient clipping and the optimizer "
        "continue as in the uninterrupted run (a fresh run with these arguments divides by %d, "
        "as transformers does).",
        accumulation,
        divisor,
        accumulation,
    )
    return divisor
