"""Building blocks shared by the collators: tensor-type dispatch and the plain stacking collator."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["DataCollator", "DataCollatorMixin", "DefaultDataCollator", "default_data_collator"]

DataCollator = Callable[[list[Any]], dict[str, Any]]
"""The type of a collator: a callable from a list of examples to a batch."""

_RAGGED_HINT = (
    "Feature {key!r} has values of different lengths within one batch, so it cannot be stacked "
    "into a tensor. Pad the examples in the collator instead, for example with "
    "`trainer_data.DataCollatorWithPadding(tokenizer)` (or pad/truncate them to one length "
    "when preprocessing)."
)


def _check_return_tensors(return_tensors: str) -> str:
    if return_tensors not in ("pt", "np"):
        raise ValueError(f"return_tensors must be 'pt' or 'np', got {return_tensors!r}.")
    return return_tensors


class DataCollatorMixin:
    """Gives a collator a ``return_tensors`` switch.

    Subclasses set a ``return_tensors`` attribute (``"pt"`` or ``"np"``) and implement
    ``torch_call`` and/or ``numpy_call``; calling the collator dispatches to the one that matches
    the attribute, or the ``return_tensors`` argument when one is passed.
    """

    return_tensors: str = "pt"

    def __call__(self, features: list[Any], return_tensors: str | None = None) -> dict[str, Any]:
        kind = self.return_tensors if return_tensors is None else return_tensors
        if kind == "pt":
            return self.torch_call(features)
        if kind == "np":
            return self.numpy_call(features)
        raise ValueError(f"return_tensors must be 'pt' or 'np', got {kind!r}.")

    def torch_call(self, features: list[Any]) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} does not support return_tensors='pt'.")

    def numpy_call(self, features: list[Any]) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} does not support return_tensors='np'.")


def _as_mappings(features: Sequence[Any]) -> Sequence[Mapping[str, Any]]:
    if isinstance(features[0], Mapping):
        return features
    # Dataclass-like objects (InputFeatures and friends): use their attribute dict.
    return [vars(f) for f in features]


def _is_ragged(values: list[Any]) -> bool:
    lengths = set()
    for v in values:
        if isinstance(v, (str, bytes)) or not hasattr(v, "__len__"):
            return False
        lengths.add(len(v))
        if len(lengths) > 1:
            return True
    return False


def _stack_error(key: str, values: list[Any], err: Exception) -> Exception:
    if _is_ragged(values):
        return ValueError(_RAGGED_HINT.format(key=key))
    return err


def _torch_stack(key: str, values: list[Any], dtype: torch.dtype | None = None) -> torch.Tensor:
    first = values[0]
    try:
        if isinstance(first, torch.Tensor):
            return torch.stack(values)
        if isinstance(first, np.ndarray):
            return torch.from_numpy(np.stack(values))
        return torch.tensor(values, dtype=dtype)
    except (ValueError, RuntimeError, TypeError) as err:
        raise _stack_error(key, values, err) from err


def _numpy_stack(key: str, values: list[Any], dtype: Any = None) -> np.ndarray:
    try:
        if isinstance(values[0], np.ndarray):
            return np.stack(values)
        return np.array(values, dtype=dtype)
    except (ValueError, TypeError) as err:
        raise _stack_error(key, values, err) from err


def _stack_batch(
    features: Sequence[Any], stack: Callable, array_type: type, int_dtype: Any, float_dtype: Any
) -> dict[str, Any]:
    rows = _as_mappings(features)
    first = rows[0]
    batch: dict[str, Any] = {}
    # `label` (one value per example) and `label_ids` (a sequence per example) both become `labels`.
    label = first.get("label")
    if label is not None:
        scalar = label.item() if isinstance(label, array_type) else label
        dtype = int_dtype if isinstance(scalar, int) else float_dtype
        batch["labels"] = stack("label", [r["label"] for r in rows], dtype)
    elif first.get("label_ids") is not None:
        ids = first["label_ids"]
        values = [r["label_ids"] for r in rows]
        if isinstance(ids, array_type):
            batch["labels"] = stack("label_ids", values)
        else:
            dtype = int_dtype if isinstance(ids[0], int) else float_dtype
            batch["labels"] = stack("label_ids", values, dtype)
    for key, value in first.items():
        if key in ("label", "label_ids") or value is None or isinstance(value, str):
            continue
        batch[key] = stack(key, [r[key] for r in rows])
    return batch


def _torch_default(features: Sequence[Any]) -> dict[str, Any]:
    return _stack_batch(features, _torch_stack, torch.Tensor, torch.long, torch.float)


def _numpy_default(features: Sequence[Any]) -> dict[str, Any]:
    return _stack_batch(features, _numpy_stack, np.ndarray, np.int64, np.float32)


def default_data_collator(features: list[Any], return_tensors: str = "pt") -> dict[str, Any]:
    """Stack a list of examples (mappings or dataclass-like objects) into one batch dict.

    Every key of the first example whose value is not ``None`` and not a string is stacked across
    the batch (``torch.stack`` / ``np.stack`` for tensors and arrays, a new tensor/array
    otherwise). ``label`` (one number per example) and ``label_ids`` (a sequence per example) are
    both renamed ``labels``; integer labels become ``int64`` and the rest ``float32``.

    No padding is done: values of different lengths raise a ``ValueError`` that points to
    :class:`DataCollatorWithPadding`.

    Args:
        features: the examples of one batch.
        return_tensors: ``"pt"`` for torch tensors (default) or ``"np"`` for numpy arrays.
    """
    if _check_return_tensors(return_tensors) == "pt":
        return _torch_default(features)
    return _numpy_default(features)


class DefaultDataCollator(DataCollatorMixin):
    """:func:`default_data_collator` as an object, with ``return_tensors`` fixed at construction."""

    def __init__(self, return_tensors: str = "pt") -> None:
        self.return_tensors = _check_return_tensors(return_tensors)

    def torch_call(self, features: list[Any]) -> dict[str, Any]:
        return _torch_default(features)

    def numpy_call(self, features: list[Any]) -> dict[str, Any]:
        return _numpy_default(features)

    def __repr__(self) -> str:
        return f"DefaultDataCollator(return_tensors={self.return_tensors!r})"
