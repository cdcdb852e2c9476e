"""``TrainingArguments``: the fields, checked on construction, plus serialisation and runtime helpers."""

from __future__ import annotations

import copy
import dataclasses
import json
from enum import Enum
from typing import Any

from .fields import TrainingArgumentsFields
from .runtime import RuntimeMixin
from .set_groups import SetGroupsMixin
from .validation import JSON_DICT_FIELDS, normalise_and_validate, set_up_process_state

__all__ = ["TrainingArguments"]


#: Cached objects of one process (accelerate state, device): never pickled.
_PROCESS_LOCAL = ("_distributed_state", "_deepspeed_plugin")


def _mask(name: str) -> str:
    return f"<{name.upper()}>"


def _dtypes_to_str(mapping: dict) -> None:
    """Replace a non-string ``dtype`` entry (e.g. ``torch.float32``) by ``"float32"``, recursively."""
    dtype = mapping.get("dtype")
    if dtype is not None and not isinstance(dtype, str):
        mapping["dtype"] = str(dtype).rsplit(".", 1)[-1]
    for value in mapping.values():
        if isinstance(value, dict):
            _dtypes_to_str(value)


@dataclasses.dataclass(repr=False)
class TrainingArguments(SetGroupsMixin, RuntimeMixin, TrainingArgumentsFields):
    """Every setting of a training run, checked when constructed.

    A drop-in replacement for ``transformers.TrainingArguments`` (5.3.0): the same 109 fields, in the
    same order, with the same defaults and the same normalisation (strategies become enums,
    ``eval_steps`` falls back to ``logging_steps``, ``report_to`` becomes a list, ...). Invalid values
    and combinations raise ``ValueError`` naming the field, the value and what is allowed.

    Importing this class does not import torch; :attr:`device` and :attr:`n_gpu` do, on first use.
    """

    _VALID_DICT_FIELDS = list(JSON_DICT_FIELDS)

    #: Set by ``trainer.install_as_transformers()``: while true, building the arguments sets up
    #: accelerate's process state as transformers' arguments do (code written against them, such
    #: as sentence-transformers, relies on it), and ``use_configured_state=True`` without a state
    #: created before is refused here rather than when the Trainer is built.
    _process_state_on_init = False

    def __post_init__(self) -> None:
        normalise_and_validate(self)
        if type(self)._process_state_on_init:
            set_up_process_state(self)

    # -- serialisation ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Field values as plain JSON-friendly data: enums become strings, tokens are masked."""
        result: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            if not field.init:
                continue
            name, value = field.name, getattr(self, field.name)
            if isinstance(value, Enum):
                value = value.value
            elif isinstance(value, list) and value and isinstance(value[0], Enum):
                value = [item.value for item in value]
            elif isinstance(value, dict):
                value = dict(value)
            elif name == "accelerator_config" and hasattr(value, "to_dict"):
                # use_configured_state acts once, when the process state is set up (not saved).
                value = value.to_dict()
                value.pop("use_configured_state", None)
            elif name == "parallelism_config" and value is not None and hasattr(value, "to_json"):
                value = value.to_json()
            if name.endswith("_token"):
                value = _mask(name)
            result[name] = value
        _dtypes_to_str(result)
        return result

    def to_json_string(self) -> str:
        """:meth:`to_dict` as an indented JSON string."""
        return json.dumps(self.to_dict(), indent=2)

    def to_sanitized_dict(self) -> dict[str, Any]:
        """:meth:`to_dict` plus the effective batch sizes, with every non-scalar value turned into a string.

        Meant for hyperparameter panels such as TensorBoard's; tokens stay masked.
        """
        data = {
            **self.to_dict(),
            "train_batch_size": self.train_batch_size,
            "eval_batch_size": self.eval_batch_size,
        }
        scalar = (bool, int, float, str)
        return {key: value if type(value) in scalar else str(value) for key, value in data.items()}

    def __repr__(self) -> str:
        items = self.to_dict()
        for field in dataclasses.fields(self):
            if field.name.endswith("_token"):
                items[field.name] = _mask(field.name)
        body = "".join(f"{key}={value!r},\n" for key, value in sorted(items.items()))
        return f"{type(self).__name__}(\n{body})"

    __str__ = __repr__

    # -- pickling -----------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        # A pickle ends up in files (``training_args.bin``) that may be shared or uploaded:
        # tokens are left out. In-memory copies keep them (``__copy__``/``__deepcopy__``).
        state = dict(self.__dict__)
        # accelerate's process state and plugins belong to this process, not to the file.
        for name in _PROCESS_LOCAL:
            state.pop(name, None)
        for name in state:
            if name.endswith("_token"):
                state[name] = None
        return state

    def __copy__(self) -> TrainingArguments:
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    def __deepcopy__(self, memo: dict[int, Any]) -> TrainingArguments:
        clone = object.__new__(type(self))
        memo[id(self)] = clone
        local = {name: self.__dict__[name] for name in _PROCESS_LOCAL if name in self.__dict__}
        rest = {name: value for name, value in self.__dict__.items() if name not in local}
        clone.__dict__.update(copy.deepcopy(rest, memo))
        clone.__dict__.update(local)  # one process, one accelerate state: shared, not copied
        return clone
