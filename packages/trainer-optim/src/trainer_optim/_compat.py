"""Small helpers shared by the modules: enum normalisation, name lists, option parsing, errors.

Nothing here imports ``trainer_args``: the functions accept the enums of that package, the ones of
``transformers`` or plain strings, and compare them by their string value.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from enum import Enum
from typing import Any

#: Every ``SchedulerType`` value of the documented surface, in declaration order.
SCHEDULER_NAMES: tuple[str, ...] = (
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
    "reduce_lr_on_plateau",
    "cosine_with_min_lr",
    "cosine_warmup_with_min_lr",
    "warmup_stable_decay",
)

#: Every ``OptimizerNames`` value of the documented surface, in declaration order.
OPTIMIZER_NAMES: tuple[str, ...] = (
    "adamw_torch",
    "adamw_torch_fused",
    "adamw_torch_xla",
    "adamw_torch_npu_fused",
    "adamw_apex_fused",
    "adafactor",
    "adamw_anyprecision",
    "adamw_torch_4bit",
    "adamw_torch_8bit",
    "ademamix",
    "sgd",
    "adagrad",
    "adamw_bnb_8bit",
    "adamw_8bit",
    "ademamix_8bit",
    "lion_8bit",
    "lion_32bit",
    "paged_adamw_32bit",
    "paged_adamw_8bit",
    "paged_ademamix_32bit",
    "paged_ademamix_8bit",
    "paged_lion_32bit",
    "paged_lion_8bit",
    "rmsprop",
    "rmsprop_bnb",
    "rmsprop_bnb_8bit",
    "rmsprop_bnb_32bit",
    "galore_adamw",
    "galore_adamw_8bit",
    "galore_adafactor",
    "galore_adamw_layerwise",
    "galore_adamw_8bit_layerwise",
    "galore_adafactor_layerwise",
    "lomo",
    "adalomo",
    "grokadamw",
    "schedule_free_radam",
    "schedule_free_adamw",
    "schedule_free_sgd",
    "apollo_adamw",
    "apollo_adamw_layerwise",
    "stable_adamw",
)


def enum_value(value: Any) -> str:
    """Return the plain string behind an enum member (any ``Enum``) or a string."""
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def parse_optim_args(optim_args: str | None) -> dict[str, str]:
    """Turn ``"a=1, b=x"`` into ``{"a": "1", "b": "x"}`` (values stay strings).

    Spaces are ignored. An entry without exactly one ``=`` is rejected with a message that shows
    the expected form.
    """
    if not optim_args:
        return {}
    parsed: dict[str, str] = {}
    for entry in optim_args.replace(" ", "").split(","):
        if not entry:
            continue
        parts = entry.split("=")
        if len(parts) != 2 or not parts[0]:
            raise ValueError(
                f"optim_args entry {entry!r} is not of the form key=value; "
                "write e.g. optim_args='momentum=0.9,nesterov=True'"
            )
        parsed[parts[0]] = parts[1]
    return parsed


def str_to_bool(value: str | bool) -> bool:
    """Read a yes/no string the way ``optim_args`` values are written (``True``, ``0``, ``yes``...)."""
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in ("y", "yes", "t", "true", "on", "1"):
        return True
    if lowered in ("n", "no", "f", "false", "off", "0"):
        return False
    raise ValueError(f"Cannot read {value!r} as a boolean; use True or False.")


class OptionalDependencyError(ImportError, ValueError):
    """An optimizer needs a package that is not installed.

    It is both an ``ImportError`` and a ``ValueError`` so that code written against either of the
    exceptions transformers raises for the same situation keeps catching it.
    """


class HardwareNotAvailableError(RuntimeError, ValueError):
    """An optimizer needs hardware (a CUDA GPU, a TPU, an Ascend NPU) that this process lacks."""


def is_importable(module: str) -> bool:
    """Whether the top-level package of ``module`` can be imported (without importing it)."""
    top = module.split(".")[0]
    if top in sys.modules:
        return sys.modules[top] is not None
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def require_package(module: str, *, package: str, extra: str | None, optimizer: str) -> Any:
    """Import ``module`` or raise :class:`OptionalDependencyError` telling how to install it."""
    if not is_importable(module):
        if extra is not None:
            how = f'pip install "trainer-optim[{extra}]" (or pip install {package})'
        else:
            how = f"install {package}"
        raise OptionalDependencyError(
            f"optim={optimizer!r} needs the package {package!r}, which is not installed: {how}."
        )
    return importlib.import_module(module)


def package_version(distribution: str) -> tuple[int, ...]:
    """The installed version of ``distribution`` as a tuple of ints (non-numeric parts dropped)."""
    from importlib.metadata import version

    numbers: list[int] = []
    for part in version(distribution).split("+")[0].split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        if not digits:
            break
        numbers.append(int(digits))
        if digits != part:
            break
    return tuple(numbers)
