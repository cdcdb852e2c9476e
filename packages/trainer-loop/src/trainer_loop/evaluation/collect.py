"""Collecting per-batch evaluation outputs into arrays.

Batches stay tensors on their device and are joined once, with one ``torch.cat`` and one copy
to numpy, when read or offloaded (joining or converting on every batch costs a few tensor
operations per batch, which is most of the loop's overhead on small models). Arrays whose second
dimension differs between batches (sequence lengths) are padded with -100 before joining.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

PAD_INDEX = -100


def detach_nested(value: Any) -> Any:
    """Detach every tensor in a nested list/tuple/dict.

    A tensor outside autograd (no ``requires_grad``, so no graph: what an evaluation forward under
    ``no_grad`` returns) is kept as it is; its detached alias would be indistinguishable from it.
    """
    if isinstance(value, torch.Tensor):
        return value.detach() if value.requires_grad else value
    if isinstance(value, (list, tuple)):
        return type(value)(detach_nested(v) for v in value)
    if isinstance(value, Mapping):
        return type(value)({k: detach_nested(v) for k, v in value.items()})
    return value.detach() if isinstance(value, torch.Tensor) else value


def batch_size_of(inputs: Any) -> int | None:
    """The first dimension of the first tensor found in ``inputs``."""
    if type(inputs) is dict or isinstance(inputs, Mapping):
        for item in inputs.values():
            if isinstance(item, torch.Tensor):  # the common case: a collated batch of tensors
                return item.shape[0] if item.ndim >= 1 else None
            found = batch_size_of(item)
            if found is not None:
                return found
        return None
    if isinstance(inputs, (list, tuple)):
        for item in inputs:
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


def concat_padded_tensors(batches: list[Any], pad_index: int = PAD_INDEX) -> Any:
    """``torch.cat`` of nested tensors along the first axis, padding the second where it differs."""
    first = batches[0]
    if isinstance(first, (list, tuple)):
        return type(first)(
            concat_padded_tensors([b[i] for b in batches], pad_index) for i in range(len(first))
        )
    if isinstance(first, Mapping):
        return type(first)(
            {k: concat_padded_tensors([b[k] for b in batches], pad_index) for k in first}
        )
    if not isinstance(first, torch.Tensor):
        return concat_padded([to_numpy(b) for b in batches], pad_index)
    batches = [b.reshape(1) if b.ndim == 0 else b for b in batches]
    shape = batches[0].shape
    if len(batches) == 1:
        return batches[0]
    if len(shape) < 2 or all(b.shape[1:] == shape[1:] for b in batches):
        return torch.cat(batches, dim=0)
    width = max(b.shape[1] for b in batches)
    rows = sum(b.shape[0] for b in batches)
    out = batches[0].new_full((rows, width, *shape[2:]), pad_index)
    offset = 0
    for b in batches:
        out[offset : offset + b.shape[0], : b.shape[1]] = b
        offset += b.shape[0]
    return out


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
        batches, self._on_device = self._on_device, []
        if self.do_concat:
            self._on_host.append(to_numpy(concat_padded_tensors(batches, self.pad_index)))
        else:
            self._on_host.extend(to_numpy(b) for b in batches)

    def result(self, limit: int | None = None) -> Any:
        """Everything collected, joined (or as a list of batches when concatenation is off)."""
        self.offload()
        if not self._on_host:
            return None
        if not self.do_concat:
            return self._on_host
        joined = (
            self._on_host[0]
            if len(self._on_host) == 1
            else concat_padded(self._on_host, self.pad_index)
        )
        return truncate(joined, limit) if limit is not None else joined


class LossCollector(BatchCollector):
    """Per-batch mean losses, read back as one value per sample.

    ``add(losses, count)`` takes a batch's loss (a scalar, or one per process after a gather) and
    the number of samples each stands for; the per-sample expansion happens once per offload
    instead of once per batch.
    """

    def __init__(self, do_concat: bool = True):
        super().__init__(do_concat)
        self._counts: list[int] = []

    def add(self, batch: Any, count: int = 1) -> None:  # type: ignore[override]
        if batch is not None:
            self._on_device.append(batch)
            self._counts.append(count)

    def offload(self) -> None:
        if not self._on_device:
            return
        held, counts = self._on_device, self._counts
        self._on_device, self._counts = [], []
        if all(b.ndim == 0 for b in held):  # one scalar per batch: the single-process case
            per_batch = to_numpy(torch.stack(held))
            expanded = np.repeat(per_batch, counts)
            sizes = counts
        else:
            flat = [b.reshape(-1) for b in held]
            per_loss = to_numpy(torch.cat(flat))
            repeats = [c for b, c in zip(flat, counts, strict=True) for _ in range(b.numel())]
            expanded = np.repeat(per_loss, repeats)
            sizes = [b.numel() * c for b, c in zip(flat, counts, strict=True)]
        if self.do_concat:
            self._on_host.append(expanded)
        else:
            self._on_host.extend(np.split(expanded, np.cumsum(sizes)[:-1]))
