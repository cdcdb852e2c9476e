"""TrainingArguments, enums and the argument parser (no torch at import).

``from trainer_args import TrainingArguments, HfArgumentParser`` is a drop-in replacement for the
same names in transformers 5.3.0.
"""

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
from .parser import HfArg, HfArgumentParser, string_to_bool
from .training_args import TrainingArguments

__version__ = "0.1.0"

__all__ = [
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
