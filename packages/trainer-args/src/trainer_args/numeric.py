"""Numbers and flags of ``TrainingArguments``: their types, then their ranges.

Strings are parsed the way the command-line parser does (``"3"`` for an ``int`` field,
``"1e-4"`` for a ``float`` field, ``"false"``/``"yes"`` for a ``bool`` field); anything else of the
wrong kind is refused with a ``ValueError`` naming the field, the value and what is allowed.
The field types are read from the dataclass annotations, so subclasses that add fields (such as
``Seq2SeqTrainingArguments``) are checked too.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import types
import typing
from typing import Any

from ._errors import invalid_value

TRUE_WORDS = ("yes", "true", "t", "y", "1")
FALSE_WORDS = ("no", "false", "f", "n", "0")
_KINDS = (bool, int, float)
SEED_MAX = 2**32 - 1
_kinds_cache: dict[type, dict[str, type]] = {}

#: Integer fields for which transformers refuses a float even when it is whole (``1.0``): in
#: ``TrainingArguments(...)`` (``torch_empty_cache_steps``) or when training starts (batch sizes,
#: steps and seeds reach ``range``, ``DataLoader`` or the seeding functions as given). Other integer
#: fields take a whole float, as there, and it becomes an ``int``.
INTEGER_ONLY = frozenset(
    {
        "per_device_train_batch_size",
        "per_device_eval_batch_size",
        "gradient_accumulation_steps",
        "max_steps",
        "torch_empty_cache_steps",
        "seed",
        "data_seed",
        "dataloader_prefetch_factor",
    }
)


def _scalar_kind(annotation: Any) -> type | None:
    """``bool``/``int``/``float`` for ``X`` or ``X | None`` annotations; None for anything else."""
    if annotation in _KINDS:
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1 and members[0] in _KINDS:
            return members[0]
    return None


def field_kinds(cls: type) -> dict[str, type]:
    """Fields of the dataclass ``cls`` that hold a plain ``bool``, ``int`` or ``float``."""
    cached = _kinds_cache.get(cls)
    if cached is None:
        try:
            hints = typing.get_type_hints(cls)
        except Exception:  # an unresolvable annotation in a subclass: use what resolves
            hints = {f.name: f.type for f in dataclasses.fields(cls) if not isinstance(f.type, str)}
        cached = {}
        for field in dataclasses.fields(cls):
            kind = _scalar_kind(hints.get(field.name))
            if kind is not None and field.init:
                cached[field.name] = kind
        _kinds_cache[cls] = cached
    return cached


def _parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise invalid_value(name, value, "expected true or false (also yes/no, t/f, y/n, 1/0)")


def _parse_int(name: str, value: Any, whole_floats: bool = True) -> int:
    if isinstance(value, bool):
        raise invalid_value(name, value, "expected an integer, not a bool")
    if isinstance(value, int):
        return value
    if isinstance(value, numbers.Integral):  # numpy integers and the like
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise invalid_value(name, value, "expected an integer such as '3'") from None
    whole = isinstance(value, numbers.Real) and math.isfinite(value) and value == int(value)
    if whole and whole_floats:
        return int(value)
    if whole:
        raise invalid_value(
            name, value, f"expected an integer such as {int(value)}, not a float (as transformers)"
        )
    raise invalid_value(name, value, "expected an integer")


def _parse_float(name: str, value: Any) -> Any:
    if isinstance(value, bool):
        raise invalid_value(name, value, "expected a number, not a bool")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise invalid_value(name, value, "expected a number such as '3' or '1e-4'") from None
    elif not isinstance(value, numbers.Real):
        raise invalid_value(name, value, "expected a number")
    if math.isnan(value):
        raise invalid_value(name, value, "expected a number, not NaN")
    # A whole number parsed from a string stays a float, as the parser gives it; ints stay ints.
    return value


def coerce_numbers(args: Any) -> None:
    """Parse numbers and flags given as strings; refuse values of the wrong kind."""
    for name, kind in field_kinds(type(args)).items():
        value = getattr(args, name)
        if value is None:
            continue
        if kind is bool:
            if isinstance(value, str):
                setattr(args, name, _parse_bool(name, value))
        elif kind is int:
            setattr(args, name, _parse_int(name, value, name not in INTEGER_ONLY))
        else:
            setattr(args, name, _parse_float(name, value))


def _at_least(args: Any, name: str, low: float, allowed: str) -> None:
    value = getattr(args, name)
    if value is not None and value < low:
        raise invalid_value(name, value, allowed)


def _fraction(args: Any, name: str) -> None:
    value = getattr(args, name)
    if not 0 <= value < 1:
        raise invalid_value(name, value, "expected a value in [0, 1)")


def _strategy(value: Any) -> str:
    return str(getattr(value, "value", value))


def check_ranges(args: Any) -> None:
    """Refuse numbers outside what the optimizer, the loss or the loop can use."""
    _at_least(args, "learning_rate", 0, "expected a learning rate >= 0")
    _fraction(args, "adam_beta1")
    _fraction(args, "adam_beta2")
    _at_least(args, "adam_epsilon", 0, "expected an epsilon >= 0")
    _at_least(args, "weight_decay", 0, "expected a weight decay >= 0")
    _fraction(args, "label_smoothing_factor")
    _at_least(args, "max_grad_norm", 0, "expected a norm >= 0 (0 or None turns clipping off)")
    _at_least(args, "save_total_limit", 0, "expected a number of checkpoints >= 0, or None")
    _at_least(args, "eval_accumulation_steps", 1, "expected an integer >= 1, or None")
    for name in ("seed", "data_seed"):
        value = getattr(args, name)
        if value is not None and not 0 <= value <= SEED_MAX:
            raise invalid_value(name, value, "expected a seed in [0, 2**32 - 1] (numpy's range)")
    _at_least(args, "eval_delay", 0, "expected a number of epochs or steps >= 0")
    _at_least(args, "neftune_noise_alpha", 0, "expected a noise strength >= 0, or None")
    _at_least(args, "dataloader_prefetch_factor", 1, "expected an integer >= 1, or None")
    if args.ddp_timeout <= 0:
        raise invalid_value("ddp_timeout", args.ddp_timeout, "expected a number of seconds > 0")
    if _strategy(args.save_strategy) == "steps" and args.save_steps == 0:
        raise invalid_value("save_steps", 0, "save_strategy='steps' needs a non-zero save_steps")
    if not math.isfinite(args.learning_rate):
        raise invalid_value("learning_rate", args.learning_rate, "expected a finite number")
    if args.max_steps <= 0 and not 0 < args.num_train_epochs < math.inf:
        raise invalid_value(
            "num_train_epochs",
            args.num_train_epochs,
            "expected a finite number of epochs > 0, or set max_steps to a positive number of steps",
        )
