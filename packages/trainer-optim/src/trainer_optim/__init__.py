"""Optimizers and learning-rate schedules keyed by the documented names.

A drop-in for the optimizer and schedule parts of the transformers 5.3.0 ``Trainer``: every
``OptimizerNames`` value maps to an optimizer class and kwargs, every ``SchedulerType`` value to a
picklable schedule. Enum members of ``trainer_args`` or ``transformers`` and plain strings are all
accepted.
"""

from ._compat import (
    OPTIMIZER_NAMES,
    SCHEDULER_NAMES,
    HardwareNotAvailableError,
    OptionalDependencyError,
    parse_optim_args,
)
from .adafactor import Adafactor, AdafactorSchedule, get_adafactor_schedule
from .layerwise import LayerWiseDummyOptimizer, LayerWiseDummyScheduler
from .param_groups import (
    NO_DECAY_NAME_PATTERNS,
    build_optimizer,
    get_decay_parameter_names,
    get_parameter_names,
)
from .registry import (
    OPTIMIZER_HANDLERS,
    OptimizerContext,
    get_optimizer_cls_and_kwargs,
    register_optimizer,
)
from .scheduler import TYPE_TO_SCHEDULER_FUNCTION, create_scheduler, get_scheduler
from .schedules import (
    get_constant_schedule,
    get_constant_schedule_with_warmup,
    get_cosine_schedule_with_warmup,
    get_cosine_with_hard_restarts_schedule_with_warmup,
    get_cosine_with_min_lr_schedule_with_warmup,
    get_cosine_with_min_lr_schedule_with_warmup_lr_rate,
    get_inverse_sqrt_schedule,
    get_linear_schedule_with_warmup,
    get_polynomial_decay_schedule_with_warmup,
    get_reduce_on_plateau_schedule,
    get_wsd_schedule,
)
from .third_party import EXTRAS as OPTIMIZER_EXTRAS

__version__ = "0.1.0"

__all__ = [
    "NO_DECAY_NAME_PATTERNS",
    "OPTIMIZER_EXTRAS",
    "OPTIMIZER_HANDLERS",
    "OPTIMIZER_NAMES",
    "SCHEDULER_NAMES",
    "TYPE_TO_SCHEDULER_FUNCTION",
    "Adafactor",
    "AdafactorSchedule",
    "HardwareNotAvailableError",
    "LayerWiseDummyOptimizer",
    "LayerWiseDummyScheduler",
    "OptimizerContext",
    "OptionalDependencyError",
    "build_optimizer",
    "create_scheduler",
    "get_adafactor_schedule",
    "get_constant_schedule",
    "get_constant_schedule_with_warmup",
    "get_cosine_schedule_with_warmup",
    "get_cosine_with_hard_restarts_schedule_with_warmup",
    "get_cosine_with_min_lr_schedule_with_warmup",
    "get_cosine_with_min_lr_schedule_with_warmup_lr_rate",
    "get_decay_parameter_names",
    "get_inverse_sqrt_schedule",
    "get_linear_schedule_with_warmup",
    "get_optimizer_cls_and_kwargs",
    "get_parameter_names",
    "get_polynomial_decay_schedule_with_warmup",
    "get_reduce_on_plateau_schedule",
    "get_scheduler",
    "get_wsd_schedule",
    "parse_optim_args",
    "register_optimizer",
]
