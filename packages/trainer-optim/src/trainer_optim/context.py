"""What an optimizer handler receives and returns, shared by the registry and the third-party handlers.

Both :mod:`trainer_optim.registry` and :mod:`trainer_optim.third_party` import from here, so the
registry can list the third-party handlers without the two modules importing each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

__all__ = ["OptimizerContext", "OptimizerHandler"]


@dataclass
class OptimizerContext:
    """What a handler sees: the arguments, the model, and the kwargs prepared from them.

    ``optimizer_kwargs`` starts as ``{"lr": args.learning_rate}``; ``adam_kwargs`` holds
    ``betas`` and ``eps`` from the ``adam_*`` arguments; ``optim_args`` is the parsed
    ``args.optim_args`` string (values are strings).
    """

    args: Any
    model: nn.Module | None
    name: str
    optimizer_kwargs: dict[str, Any] = field(default_factory=dict)
    adam_kwargs: dict[str, Any] = field(default_factory=dict)
    optim_args: dict[str, str] = field(default_factory=dict)


OptimizerHandler = Callable[[OptimizerContext], tuple[Any, dict[str, Any]]]
