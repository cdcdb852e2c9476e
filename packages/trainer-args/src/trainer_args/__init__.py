"""TrainingArguments, enums and the argument parser (no torch at import).

``from trainer_args import TrainingArguments, HfArgumentParser`` is a drop-in replacement for the
same names in transformers 5.3.0.
"""

from .accelerator_config import AcceleratorConfig
from .enums import (
    DebugOption,
    FSDPOption,
    HubStrategy,
    IntervalStrategy,
    OptimizerNames,
    ParallelMode,
    SaveStrategy,
    SchedulerType,
)
from .training_args import TrainingArguments

__version__ = "0.1.0"

_LAZY = {"HfArg", "HfArgumentParser", "string_to_bool"}  # argparse is only imported when needed


def __getattr__(name: str):
    if name in _LAZY:
        from . import parser

        return getattr(parser, name)
    raise AttributeError(f"module 'trainer_args' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY)


__all__ = [
    "AcceleratorConfig",
    "DebugOption",
    "FSDPOption",
    "HfArg",
    "HfArgumentParser",
    "HubStrategy",
    "IntervalStrategy",
    "OptimizerNames",
    "ParallelMode",
    "SaveStrategy",
    "SchedulerType",
    "TrainingArguments",
    "string_to_bool",
    "__version__",
]
