"""Collecting evaluation outputs across batches and processes.

Evaluation produces, per batch and per process, nested structures (tensors, tuples, lists,
dicts) whose sequence dimension may differ. The helpers here:

* pad every process's batch to the same length along dim 1 with ``-100`` and gather them
  (:func:`pad_across_processes`, :func:`gather_for_metrics`; the latter drops the samples a
  distributed sampler duplicated to even out the last batch);
* concatenate batches along dim 0, padding dim 1 to the longest (:func:`nested_concat`);
* move results to numpy (:func:`nested_numpify`), optionally every ``eval_accumulation_steps``
  batches to bound device memory (:class:`EvalAccumulator`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

__all__ = [
    "EvalAccumulator",
    "concat_batches",
    "distributed_concat",
    "find_batch_size",
    "gather_for_metrics",
    "nested_concat",
    "nested_detach",
    "nested_numpify",
    "nested_truncate",
    "pad_across_processes",
]


def _at_least_1d(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.reshape(1) if x.dim() == 0 else x
    if isinstance(x, np.ndarray):
        return x.reshape(1) if x.ndim == 0 else x
    return np.atleast_1d(x)


def _concat_arrays(items: Sequence[Any], padding_index: int) -> Any:
    """Concatenate tensors or arrays on dim 0, padding dim 1 to the longest with ``padding_index``."""
    if len(items) == 1:
        return items[0]
    items = [_at_least_1d(x) for x in items]
    first = items[0]
    is_torch = isinstance(first, torch.Tensor)
    if first.ndim == 1 or all(x.shape[1] == first.shape[1] for x in items):
        return torch.cat(items, dim=0) if is_torch else np.concatenate(items, axis=0)
    rows = sum(x.shape[0] for x in items)
    width = max(x.shape[1] for x in items)
    shape = (rows, width, *first.shape[2:])
    if is_torch:
        out = first.new_full(shape, padding_index)
    else:
        out = np.full(shape, padding_index, dtype=first.dtype)
    start = 0
    for x in items:
        out[start : start + x.shape[0], : x.shape[1]] = x
        start += x.shape[0]
    return out


def concat_batches(batches: Sequence[Any], padding_index: int = -100) -> Any:
    """Concatenate a list of same-structured nested batches in one pass (see :func:`nested_concat`)."""
    if not batches:
        return None
    first = batches[0]
    for other in batches[1:]:
        both_arrays = isinstance(first, (torch.Tensor, np.ndarray)) and isinstance(
            other, (torch.Tensor, np.ndarray)
        )
        if type(other) is not type(first) and not both_arrays:
            raise TypeError(
                f"Cannot concatenate a {type(other).__name__} onto a {type(first).__name__}; "
                "every batch must have the same structure."
            )
    if isinstance(first, (list, tuple)):
        return type(first)(
            concat_batches([b[i] for b in batches], padding_index) for i in range(len(first))
        )
    if isinstance(first, Mapping):
        return type(first)(
            {k: concat_batches([b[k] for b in batches], padding_index) for k in first}
        )
    if isinstance(first, (torch.Tensor, np.ndarray)):
        return _concat_arrays(batches, padding_index)
    raise TypeError(f"Unsupported type for concatenation: {type(first).__name__}.")


def nested_concat(tensors: Any, new_tensors: Any, padding_index: int = -100) -> Any:
    """Append ``new_tensors`` to ``tensors`` on dim 0, padding dim 1 where lengths differ.

    Works on tensors, numpy arrays and lists/tuples/dicts of them (same structure on both sides).
    """
    return concat_batches([tensors, new_tensors], padding_index)


def find_batch_size(tensors: Any) -> int | None:
    """Size of dim 0 of the first tensor/array found in a nested structure (``None`` if none)."""
    if isinstance(tensors, (list, tuple)):
        for t in tensors:
            size = find_batch_size(t)
            if size is not None:
                return size
    elif isinstance(tensors, Mapping):
        for t in tensors.values():
            size = find_batch_size(t)
            if size is not None:
                return size
    elif isinstance(tensors, (torch.Tensor, np.ndarray)):
        return tensors.shape[0] if tensors.ndim >= 1 else None
    return None


def nested_numpify(tensors: Any) -> Any:
    """Move every tensor of a nested structure to a CPU numpy array (bfloat16 becomes float32)."""
    if isinstance(tensors, (list, tuple)):
        return type(tensors)(nested_numpify(t) for t in tensors)
    if isinstance(tensors, Mapping):
        return type(tensors)({k: nested_numpify(t) for k, t in tensors.items()})
    if isinstance(tensors, torch.Tensor):
        t = tensors.detach().cpu()
        if t.dtype == torch.bfloat16:
            t = t.float()
        return t.numpy()
    return tensors


def nested_detach(tensors: Any) -> Any:
    """Detach every tensor of a nested structure from the autograd graph."""
    if isinstance(tensors, (list, tuple)):
        return type(tensors)(nested_detach(t) for t in tensors)
    if isinstance(tensors, Mapping):
        return type(tensors)({k: nested_detach(t) for k, t in tensors.items()})
    return tensors.detach() if isinstance(tensors, torch.Tensor) else tensors


def nested_truncate(tensors: Any, limit: int) -> Any:
    """Keep the first ``limit`` rows of every tensor/array in a nested structure."""
    if isinstance(tensors, (list, tuple)):
        return type(tensors)(nested_truncate(t, limit) for t in tensors)
    if isinstance(tensors, Mapping):
        return type(tensors)({k: nested_truncate(t, limit) for k, t in tensors.items()})
    return tensors[:limit]


def pad_across_processes(
    tensors: Any, accelerator: Any = None, *, dim: int = 1, pad_index: int = -100
) -> Any:
    """Pad ``dim`` of every tensor to the longest across processes (no-op in a single process)."""
    if accelerator is not None:
        return accelerator.pad_across_processes(tensors, dim=dim, pad_index=pad_index)
    from accelerate.utils import pad_across_processes as _pad

    return _pad(tensors, dim=dim, pad_index=pad_index)


def gather_for_metrics(
    tensors: Any,
    accelerator: Any,
    *,
    pad_dim: int | None = 1,
    pad_index: int = -100,
    use_gather_object: bool = False,
) -> Any:
    """Pad across processes, then gather for metric computation.

    Tensors are first padded along ``pad_dim`` (``None`` skips padding, as for losses) so shapes
    agree across ranks, then gathered with ``accelerator.gather_for_metrics``, which drops the
    duplicated samples a distributed sampler appends to the last batch when the dataloader was
    prepared by that accelerator. ``use_gather_object`` gathers arbitrary picklable objects.
    """
    if tensors is None:
        return None
    if pad_dim is not None and not use_gather_object:
        tensors = accelerator.pad_across_processes(tensors, dim=pad_dim, pad_index=pad_index)
    return accelerator.gather_for_metrics(tensors, use_gather_object=use_gather_object)


def distributed_concat(tensor: Any, num_total_examples: int | None = None) -> Any:
    """All-gather equally shaped tensors from every rank, concatenate, optionally truncate."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        raise RuntimeError(
            "distributed_concat needs an initialised torch.distributed process group."
        )
    if isinstance(tensor, (list, tuple)):
        return type(tensor)(distributed_concat(t, num_total_examples) for t in tensor)
    if isinstance(tensor, Mapping):
        return type(tensor)(
            {k: distributed_concat(t, num_total_examples) for k, t in tensor.items()}
        )
    tensor = _at_least_1d(tensor).contiguous()
    parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, tensor)
    out = torch.cat(parts, dim=0)
    return out if num_total_examples is None else out[:num_total_examples]


class EvalAccumulator:
    """Collects per-batch (already gathered) outputs of an evaluation loop.

    Batches are kept as a list on their device and concatenated once, when they are offloaded to
    numpy, instead of re-concatenating after every batch. With ``accumulation_steps`` set
    (``args.eval_accumulation_steps``), call :meth:`maybe_offload` after each step and device memory
    holds at most that many batches. :meth:`get_arrays` returns the numpy result.

    ``do_nested_concat=False`` (``args.eval_do_concat_batches=False``) keeps one entry per batch
    in a list instead of concatenating.
    """

    __slots__ = ("_chunks", "_pending", "accumulation_steps", "do_nested_concat", "padding_index")

    def __init__(
        self,
        do_nested_concat: bool = True,
        padding_index: int = -100,
        accumulation_steps: int | None = None,
    ):
        self.do_nested_concat = do_nested_concat
        self.padding_index = padding_index
        self.accumulation_steps = accumulation_steps
        self._pending: list[Any] = []
        self._chunks: list[Any] = []

    def add(self, tensors: Any) -> None:
        """Store one batch of outputs (``None`` is ignored)."""
        if tensors is not None:
            self._pending.append(tensors)

    @property
    def num_pending(self) -> int:
        """Batches held on device, not yet offloaded."""
        return len(self._pending)

    def maybe_offload(self, step: int) -> bool:
        """Offload to numpy when ``step + 1`` is a multiple of ``accumulation_steps``."""
        n = self.accumulation_steps
        if n is not None and n > 0 and (step + 1) % n == 0:
            self.to_cpu_and_numpy()
            return True
        return False

    def to_cpu_and_numpy(self) -> None:
        """Move the pending batches off the device, as numpy."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        if self.do_nested_concat:
            self._chunks.append(nested_numpify(concat_batches(pending, self.padding_index)))
        else:
            self._chunks.extend(nested_numpify(b) for b in pending)

    def get_arrays(self) -> Any:
        """Everything added so far as numpy: one concatenated structure, or a list per batch
        when ``do_nested_concat`` is false (``None`` if nothing was added)."""
        self.to_cpu_and_numpy()
        if not self._chunks:
            return None
        if not self.do_nested_concat:
            return list(self._chunks)
        if len(self._chunks) > 1:
            self._chunks = [concat_batches(self._chunks, self.padding_index)]
        return self._chunks[0]
