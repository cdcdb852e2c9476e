"""Iterable datasets: per-process sharding, per-epoch reseeding and skipping examples."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import IterableDataset

__all__ = ["IterableDatasetShard", "set_dataset_epoch"]


def set_dataset_epoch(dataset: Any, epoch: int, seed: int) -> None:
    """Re-seed an iterable dataset for ``epoch``.

    Calls ``dataset.set_epoch(epoch)`` when it exists (``datasets.IterableDataset`` reshuffles
    with its own seed + epoch); otherwise, when the dataset has a ``torch.Generator`` in a
    ``generator`` attribute, seeds it with ``seed + epoch``.
    """
    while isinstance(dataset, (IterableDatasetShard, _SkipExamples)):
        if isinstance(dataset, IterableDatasetShard):
            # The shard re-seeds when iterated; keep it on the same seed and epoch.
            dataset.seed, dataset.epoch = seed, epoch
        dataset = dataset.dataset
    if hasattr(dataset, "set_epoch"):
        dataset.set_epoch(epoch)
        return
    generator = getattr(dataset, "generator", None)
    if isinstance(generator, torch.Generator):
        generator.manual_seed(seed + epoch)


class IterableDatasetShard(IterableDataset):
    """The part of an iterable dataset that one of ``num_processes`` processes should see.

    The stream is read in chunks of ``batch_size * num_processes`` examples and this process keeps
    slice ``process_index`` of each chunk, so step ``k`` on all processes together covers the
    same examples as step ``k`` of one process with the global batch. A final partial chunk is
    dropped with ``drop_last``; otherwise it is completed with examples from the first chunk so
    every process gets a full batch.

    Randomness: when the wrapped dataset has no ``set_epoch`` but keeps a ``torch.Generator`` in
    a ``generator`` attribute, iterating seeds that generator with ``seed + epoch`` (the epoch
    given to :meth:`set_epoch`), so every process draws the same order and each epoch a new one.

    ``num_examples`` counts the examples read from the stream in the current (or last) pass, all
    processes' shares included, as in transformers.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        drop_last: bool = False,
        num_processes: int = 1,
        process_index: int = 0,
        seed: int = 0,
    ) -> None:
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.num_processes = num_processes
        self.process_index = process_index
        self.seed = seed
        self.epoch = 0
        self.num_examples = 0  # examples read from the stream by the current (or last) pass

    def set_epoch(self, epoch: int) -> None:
        """Start epoch ``epoch``: forwarded to the dataset's ``set_epoch``, else used to re-seed."""
        self.epoch = epoch
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)

    def __len__(self) -> int:
        size = self.batch_size * self.num_processes
        chunks = len(self.dataset) // size if self.drop_last else -(-len(self.dataset) // size)
        return chunks * self.batch_size

    def __iter__(self) -> Iterator[Any]:
        generator = getattr(self.dataset, "generator", None)
        if not hasattr(self.dataset, "set_epoch") and isinstance(generator, torch.Generator):
            generator.manual_seed(self.seed + self.epoch)
        size = self.batch_size * self.num_processes
        lo = self.process_index * self.batch_size
        hi = lo + self.batch_size
        first: list[Any] | None = None
        chunk: list[Any] = []
        self.num_examples = 0
        for example in self.dataset:
            self.num_examples += 1
            chunk.append(example)
            if len(chunk) == size:
                if first is None:
                    first = chunk
                yield from chunk[lo:hi]
                chunk = []
        if chunk and not self.drop_last:
            head = first if first is not None else list(chunk)
            while len(chunk) < size:
                chunk.extend(head[: size - len(chunk)])
            yield from chunk[lo:hi]


class _SkipExamples(IterableDataset):
    """Yield a dataset's examples after the first ``count`` (used to resume mid-epoch)."""

    def __init__(self, dataset: Any, count: int) -> None:
        self.dataset = dataset
        self.count = count

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)

    def __iter__(self) -> Iterator[Any]:
        return itertools.islice(iter(self.dataset), self.count, None)
