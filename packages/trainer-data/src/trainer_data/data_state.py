"""Training data that can report and restore its position (O(1) mid-epoch resume).

An iterable dataset with ``state_dict()`` / ``load_state_dict()`` (a ``datasets.IterableDataset``,
or any dataset following that protocol) tells where it is, so a resumed run restores the position
instead of reading the consumed examples again. With ``dataloader_num_workers > 0`` the position
lives in the worker processes; torchdata's ``StatefulDataLoader`` collects it (``pip install
trainer-data[stateful]``), and :func:`build_train_dataloader` uses it for such datasets.

The state is a tree of dicts, lists, strings and numbers (tensors are tagged), so it is stored as
JSON and read back without unpickling anything.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from typing import Any

import torch

from ._kinds import has_length, is_iterable_dataset

__all__ = [
    "DataStateMismatch",
    "can_report_position",
    "capture_position",
    "describe_source",
    "from_json_tree",
    "restore_position",
    "source_mismatch",
    "stateful_loader_available",
    "to_json_tree",
]

_logger = logging.getLogger("trainer_data")

_WRAPPERS = ("IterableDatasetShard", "_SkipExamples")


class DataStateMismatch(ValueError):
    """A saved data position that does not belong to the dataset being resumed."""


def stateful_loader_available() -> bool:
    """Whether torchdata's ``StatefulDataLoader`` can be imported."""
    return importlib.util.find_spec("torchdata") is not None


def _has_state_methods(obj: Any) -> bool:
    return callable(getattr(obj, "state_dict", None)) and callable(
        getattr(obj, "load_state_dict", None)
    )


def stateful_dataset(dataset: Any) -> Any:
    """The dataset (under the library's own wrappers) that reports its position, or None."""
    while dataset is not None and not _has_state_methods(dataset):
        if type(dataset).__name__ not in _WRAPPERS:
            return None
        dataset = getattr(dataset, "dataset", None)
    return dataset if dataset is not None and is_iterable_dataset(dataset) else None


def _is_stateful_loader(loader: Any) -> bool:
    return any(cls.__name__ == "StatefulDataLoader" for cls in type(loader).__mro__)


def can_report_position(loader: Any) -> bool:
    """Whether ``loader`` can report where it is in its data (see :func:`capture_position`).

    True for a ``StatefulDataLoader`` and, without worker processes, for a loader over an
    iterable dataset with ``state_dict`` / ``load_state_dict``.
    """
    if _is_stateful_loader(loader):
        return True
    workers = getattr(loader, "num_workers", 0)
    return workers == 0 and stateful_dataset(getattr(loader, "dataset", None)) is not None


def capture_position(loader: Any) -> dict[str, Any] | None:
    """The position of ``loader`` after the batches it has yielded, or None when unknown.

    ``{"kind": "loader", "state": ...}`` for a ``StatefulDataLoader`` (the states of every worker);
    ``{"kind": "dataset", "state": ...}`` for a dataset read in the main process.
    """
    if _is_stateful_loader(loader):
        return {"kind": "loader", "state": to_json_tree(loader.state_dict())}
    if getattr(loader, "num_workers", 0) == 0:
        dataset = stateful_dataset(getattr(loader, "dataset", None))
        if dataset is not None:
            return {"kind": "dataset", "state": to_json_tree(dataset.state_dict())}
    return None


def restore_position(loader: Any, position: dict[str, Any]) -> bool:
    """Make the next iteration of ``loader`` start at ``position``; False if it cannot.

    ``position`` comes from :func:`capture_position` on a loader of the same kind (a position
    saved with worker processes needs a ``StatefulDataLoader``, and the other way round).
    """
    kind = position.get("kind")
    state = from_json_tree(position.get("state"))
    if kind == "loader" and _is_stateful_loader(loader):
        loader.load_state_dict(state)
        return True
    if kind == "dataset" and getattr(loader, "num_workers", 0) == 0:
        dataset = stateful_dataset(getattr(loader, "dataset", None))
        if dataset is not None:
            dataset.load_state_dict(state)
            return True
    return False


def shard_count(dataset: Any) -> int | None:
    """The number of shards (files) a stream reads from, or None when it does not say."""
    for name in ("num_shards", "n_shards"):  # datasets' name, and its older one
        shards = getattr(dataset, name, None)
        if isinstance(shards, int):
            return shards
    return None


def describe_source(dataset: Any) -> dict[str, Any]:
    """What identifies a dataset's source: its type, shard count, length and file names.

    Saved next to the position so a resume can tell a position taken on other data.
    """
    inner = stateful_dataset(dataset) or dataset
    source: dict[str, Any] = {"type": type(inner).__name__}
    shards = shard_count(inner)
    if shards is not None:
        source["num_shards"] = shards
    if has_length(inner):
        source["length"] = len(inner)
    files = _source_files(inner)
    if files:
        source["files"] = files
    return source


def _source_files(dataset: Any) -> list[str]:
    """The base names of the files a ``datasets`` stream reads (empty when unknown)."""
    node = getattr(dataset, "_ex_iterable", None)
    for _ in range(32):  # mapped/filtered streams wrap the reader in further iterables
        if node is None or isinstance(getattr(node, "kwargs", None), dict):
            break
        node = getattr(node, "ex_iterable", None)
    kwargs = getattr(node, "kwargs", None)
    seen: list[str] = []
    files = kwargs.get("files") if isinstance(kwargs, dict) else None
    if isinstance(files, dict):  # {split: [files]} in some builders
        files = [f for group in files.values() for f in group]
    if isinstance(files, (list, tuple)):
        for item in files:
            name = item if isinstance(item, str) else getattr(item, "path", None)
            if isinstance(name, str):
                seen.append(os.path.basename(name))
    return seen


def source_mismatch(saved: dict[str, Any], current: dict[str, Any]) -> str | None:
    """A sentence saying how the saved source differs from the current one, or None."""
    for key, what in (
        ("type", "dataset type"),
        ("num_shards", "shard count"),
        ("length", "dataset length"),
        ("files", "file list"),
    ):
        if key in saved and key in current and saved[key] != current[key]:
            return f"its {what} was {_short(saved[key])} and is now {_short(current[key])}"
    return None


def _short(value: Any) -> str:
    if isinstance(value, list) and len(value) > 4:
        return f"[{', '.join(map(repr, value[:3]))}, ... ({len(value)} files)]"
    return repr(value)


# ------------------------------------------------------------------------- JSON trees

_TENSOR_TAG = "__tensor__"
_TUPLE_TAG = "__tuple__"


def to_json_tree(obj: Any) -> Any:
    """``obj`` with tensors and tuples turned into tagged dicts, so ``json.dumps`` takes it."""
    if isinstance(obj, torch.Tensor):
        plain = obj.detach().cpu()
        return {_TENSOR_TAG: plain.tolist(), "dtype": str(plain.dtype).removeprefix("torch.")}
    if isinstance(obj, dict):
        return {str(key): to_json_tree(value) for key, value in obj.items()}
    if isinstance(obj, tuple):
        return {_TUPLE_TAG: [to_json_tree(value) for value in obj]}
    if isinstance(obj, list):
        return [to_json_tree(value) for value in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    raise TypeError(
        f"The training data's state_dict() holds a {type(obj).__name__}, which cannot be saved "
        "as JSON; return only dicts, lists, strings, numbers and tensors from state_dict()."
    )


def from_json_tree(obj: Any) -> Any:
    """The inverse of :func:`to_json_tree`."""
    if isinstance(obj, dict):
        if _TENSOR_TAG in obj:
            return torch.tensor(obj[_TENSOR_TAG], dtype=getattr(torch, obj["dtype"]))
        if _TUPLE_TAG in obj and len(obj) == 1:
            return tuple(from_json_tree(value) for value in obj[_TUPLE_TAG])
        return {key: from_json_tree(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [from_json_tree(value) for value in obj]
    return obj
