"""What kind of dataset an object is, and reading fields from an arguments object.

``datasets`` is never imported here: its classes are only looked up once the user imported it.
"""

from __future__ import annotations

import sys
from typing import Any

from torch.utils.data import IterableDataset


def has_length(dataset: Any) -> bool:
    """True when ``len(dataset)`` works (map-style datasets, lists, sized iterables)."""
    try:
        len(dataset)
    except (TypeError, AttributeError, NotImplementedError):
        return False
    return True


def _hf_class(name: str) -> type | None:
    module = sys.modules.get("datasets")  # only set when the user already imported `datasets`
    return getattr(module, name, None) if module is not None else None


def is_hf_dataset(dataset: Any) -> bool:
    """Whether ``dataset`` is a ``datasets.Dataset`` (without importing ``datasets``)."""
    cls = _hf_class("Dataset")
    return cls is not None and isinstance(dataset, cls)


def is_iterable_dataset(dataset: Any) -> bool:
    """Whether ``dataset`` is a stream (torch or ``datasets`` ``IterableDataset``): no sampler."""
    if isinstance(dataset, IterableDataset):
        return True
    cls = _hf_class("IterableDataset")
    return cls is not None and isinstance(dataset, cls)


def _arg(args: Any, name: str, default: Any) -> Any:
    value = getattr(args, name, default)
    return default if value is None else value
