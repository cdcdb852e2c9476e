"""Collecting per-batch evaluation outputs into arrays.

Batches are kept as a list and joined once at the end (joining on every batch costs time
quadratic in the number of batches). Arrays whose second dimension differs between batches
(sequence lengths) are padded with -100 before joining.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

PAD_INDEX = -100


def detach_nested(value: Any) -> Any:
    """Detach every tensor in a nested list/tuple/dict."""
    if isinstance(value, (list, tuple)):
        return type(value)(detach_nested(v) for v in value)
    if isinstance(value, Mapping):
        return type(value)({k: detach_nested(v) for k, v in value.items()})
    return value.detach() if isinstance(value, torch.Tensor) else value


def batch_size_of(inputs: Any) -> int | None:
    """The first dimension of the first tensor found in ``inputs``."""
    if isinstance(inputs, (list, tuple)):
        for item in inputs:
            found = batch_size_of(item)
            if found is not None:
                return found
        return None
    if isinstance(inputs, Mapping):
        for item in inputs.values():
            found = batch_size_of(item)
            if found is not None:
                return found
        return None
    if isinstance(inputs, (torch.Tensor, np.ndarray)):
        return inputs.shape[0] if inputs.ndim >= 1 else None
    return None


def to_numpy(value: Any) -> Any:
    """Nested tensors to nested numpy arrays (bfloat16 goes through float32)."""
    if isinstance(value, (list, tuple)):
        return type(value)(to_numpy(v) for v in value)
    if isinstance(value, Mapping):
        return type(value)({k: to_numpy(v) for k, v in value.items()})
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.dtype == torch.bfloat16:
            value = value.float()
        return value.numpy()
    return value


def concat_padded(arrays: list[Any], pad_index: int = PAD_INDEX) -> Any:
    """Join nested arrays along the first axis, padding the second axis where lengths differ."""
    first = arrays[0]
    if isinstance(first, (list, tuple)):
        return type(first)(
            concat_padded([a[i] for a in arrays], pad_index) for i in range(len(first))
        )
    if isinstance(first, Mapping):
        return type(first)({k: concat_padded([a[k] for a in arrays], pad_index) for k in first})
    arrays = [np.atleast_1d(a) for a in arrays]
    if first.ndim < 2 or all(a.shape[1:] == first.shape[1:] for a in arrays):
        return np.concatenate(arrays, axis=0)
    width = max(a.shape[1] for a in arrays)
    rows = sum(a.shape[0] for a in arrays)
    out = np.full((rows, width, *first.shape[2:]), pad_index, dtype=first.dtype)
    offset = 0
    for a in arrays:
        out[offset : offset + a.shape[0], : a.shape[1]] = a
        offset += a.shape[0]
    return out


def truncate(value: Any, limit: int) -> Any:
    """Keep the first ``limit`` rows of every array (drops duplicates added by even sharding)."""
    if isinstance(value, (list, tuple)):
        return type(value)(truncate(v, limit) for v in value)
    if isinstance(value, Mapping):
        return type(value)({k: truncate(v, limit) for k, v in value.items()})
    return value[:limit] if isinstance(value, np.ndarray) and value.ndim >= 1 else value


class BatchCollector:
    """Accumulates batches on device, moves them to numpy on ``offload``, joins on ``result``."""

    def __init__(self, do_concat: bool = True, pad_index: int = PAD_INDEX):
        self.do_concat = do_concat
        self.pad_index = pad_index
        self._on_device: list[Any] = []
        self._on_host: list[Any] = []

    def add(self, batch: Any) -> None:
        if batch is not None:
            self._on_device.append(batch)

    def offload(self) -> None:
        """Move what is held on the device to host memory (``eval_accumulation_steps``)."""
        if not self._on_device:
            return
        arrays = [to_numpy(b) for b in self._on_device]
        self._on_device = []
        if self.do_concat:
            self._on_host.append(concat_padded(arrays, self.pad_index))
        else:
            self._on_host.extend(arrays)

    def result(self, limit: int | None = None) -> Any:
        """Everything collected, joined (or as a list of batches when concatenation is off)."""
        self.offload()
        if not self._on_host:
            return None
        if not self.do_concat:
            return self._on_host
        joined = concat_padded(self._on_host, self.pad_index)
        return truncate(joined, limit) if limit is not None else joined
