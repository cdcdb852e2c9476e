"""Turning raw field values into their canonical types: enum members and JSON objects.

Shared by :mod:`trainer_args.validation`, :mod:`trainer_args.fsdp` and
:mod:`trainer_args.set_groups`; it imports nothing from them, so imports only go one way.
"""

from __future__ import annotations

import json
import os
from enum import Enum
from typing import Any

from ._errors import invalid_choice, invalid_value


def to_enum(name: str, value: Any, enum_cls: type[Enum]) -> Any:
    """Convert ``value`` to ``enum_cls``, naming the field ``name`` in the error."""
    if isinstance(value, enum_cls):
        return value
    try:
        return enum_cls(value)
    except ValueError:
        raise invalid_choice(name, value, [m.value for m in enum_cls]) from None


def _coerce_json_scalars(mapping: dict) -> dict:
    """Turn string leaves such as ``"true"``, ``"3"`` or ``"0.5"`` into bool/int/float, recursively."""
    for key, value in mapping.items():
        if isinstance(value, dict):
            mapping[key] = _coerce_json_scalars(value)
        elif isinstance(value, str):
            lowered = value.lower()
            if lowered in ("true", "false"):
                mapping[key] = lowered == "true"
            elif value.isdigit():
                mapping[key] = int(value)
            elif value.replace(".", "", 1).isdigit():
                mapping[key] = float(value)
    return mapping


def parse_json_object(name: str, text: str) -> dict:
    """Parse a JSON object given as a string for field ``name``."""
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError as err:
        raise invalid_value(name, text, f"expected a JSON object ({err})") from None
    if not isinstance(loaded, dict):
        raise invalid_value(name, text, "expected a JSON object")
    return _coerce_json_scalars(loaded)


def load_json_file(name: str, path: str) -> dict:
    """Read a JSON object from the file at ``path`` for field ``name``."""
    if not os.path.isfile(path):
        raise invalid_value(name, path, "expected a dict, a JSON string or the path of a JSON file")
    with open(path, encoding="utf-8") as handle:
        try:
            loaded = json.load(handle)
        except json.JSONDecodeError as err:
            raise invalid_value(name, path, f"the file is not valid JSON ({err})") from None
    if not isinstance(loaded, dict):
        raise invalid_value(name, path, "the file must hold a JSON object")
    return loaded
