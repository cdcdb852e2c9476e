"""Index samplers: seeded shuffling, length grouping, and per-process batch sharding."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence, Sized
from typing import Any

import torch
from torch.utils.data import Sampler, SequentialSampler

__all__ = [
    "LengthGroupedSampler",
    "SeedableRandomSampler",
    "SequentialSampler",
    "ShardedBatchSampler",
    "get_length_grouped_indices",
]

_logger = logging.getLogger("trainer_data")


class SeedableRandomSampler(Sampler[int]):
    """A shuffling sampler whose order depends only on ``seed`` and the epoch.

    Each pass draws ``torch.randperm(n)`` from a CPU generator seeded with ``seed + epoch``; this
    is the order transformers' Trainer sees in one process (accelerate swaps its
    ``RandomSampler`` for a seedable one seeded with ``data_seed``, or with the torch initial
    seed, which ``set_seed(args.seed)`` made equal to ``args.seed``). Every process with the same
    seed sees the same permutation, so sharding it keeps processes disjoint.

    The epoch advances by one after each complete pass; :meth:`set_epoch` sets it explicitly
    (the trainer calls it at the start of every epoch).
    """

    def __init__(self, data_source: Sized, seed: int, epoch: int = 0) -> None:
        self.data_source = data_source
        self.seed = int(seed)
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.data_source)

    def set_epoch(self, epoch: int) -> None:
        """Make the next pass use the permutation of ``epoch``."""
        self.epoch = int(epoch)

    def permutation(self) -> list[int]:
        """The indices of the current epoch, without advancing it."""
        generator = torch.Generator()
        generator.manual_seed(self.seed + self.epoch)
        return torch.randperm(len(self.data_source), generator=generator).tolist()

    def __iter__(self) -> Iterator[int]:
        yield from self.permutation()
        self.epoch += 1


def get_length_grouped_indices(
    lengths: Sequence[int],
    batch_size: int,
    mega_batch_mult: int | None = None,
    generator: torch.Generator | None = None,
) -> list[int]:
    """Shuffle indices so that each run of ``batch_size`` holds examples of similar length.

    The indices are shuffled (``torch.randperm`` with ``generator``, or the global torch RNG),
    cut into mega-batches of ``mega_batch_mult * batch_size`` (default: enough for four
    mega-batches, at most 50 batches each, at least one), each mega-batch is sorted by
    decreasing length (ties keep their shuffled order), and the overall longest example is
    swapped to the very front so an out-of-memory error shows up on the first step. Same order
    as transformers' function for the same generator state.
    """
    n = len(lengths)
    if mega_batch_mult is None:
        mega_batch_mult = max(min(n // (batch_size * 4), 50), 1)
    order = torch.randperm(n, generator=generator).tolist()
    size = mega_batch_mult * batch_size
    groups = [
        sorted(order[start : start + size], key=lengths.__getitem__, reverse=True)
        for start in range(0, n, size)
    ]
    if not groups:
        return []
    heads = [lengths[group[0]] for group in groups]
    longest = heads.index(max(heads))
    groups[0][0], groups[longest][0] = groups[longest][0], groups[0][0]
    return [i for group in groups for i in group]


def _lengths_from_items(dataset: Any, model_input_name: str) -> list[int]:
    first = dataset[0]
    if not hasattr(first, "keys") or model_input_name not in first:
        raise ValueError(
            "Lengths can only be computed for datasets whose items are mappings with a "
            f"{model_input_name!r} key; pass `lengths` or add a length column "
            "(TrainingArguments.length_column_name)."
        )
    return [len(item[model_input_name]) for item in dataset]


class LengthGroupedSampler(Sampler[int]):
    """Sampler for ``train_sampling_strategy="group_by_length"``.

    Orders indices with :func:`get_length_grouped_indices`. Lengths come from ``lengths``, else
    from ``len(item[model_input_name])`` of every item (default key ``input_ids``).

    Randomness: with ``seed`` set, each pass uses a fresh generator seeded with ``seed + epoch``
    (reproducible, resumable, identical on every process). Otherwise ``generator`` is used, or the
    global torch RNG when that is ``None`` (what transformers does).
    """

    def __init__(
        self,
        batch_size: int,
        dataset: Any = None,
        lengths: Sequence[int] | torch.Tensor | None = None,
        model_input_name: str | None = None,
        generator: torch.Generator | None = None,
        seed: int | None = None,
    ) -> None:
        if dataset is None and lengths is None:
            raise ValueError("LengthGroupedSampler needs either `dataset` or `lengths`.")
        if lengths is None:
            lengths = _lengths_from_items(dataset, model_input_name or "input_ids")
        elif isinstance(lengths, torch.Tensor):
            lengths = lengths.tolist()
        self.batch_size = batch_size
        self.lengths = list(lengths)
        self.generator = generator
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.lengths)

    def set_epoch(self, epoch: int) -> None:
        """Select the order of ``epoch`` (only meaningful when ``seed`` is set)."""
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        generator = self.generator
        if self.seed is not None:
            generator = torch.Generator()
            generator.manual_seed(self.seed + self.epoch)
        yield from get_length_grouped_indices(self.lengths, self.batch_size, generator=generator)
        self.epoch += 1


class ShardedBatchSampler(Sampler[list[int]]):
    """Cut a sampler's indices into batches and keep the batches of one process.

    With one process this is a fast ``BatchSampler`` (slices of the index list). With several,
    batch ``j`` of the shared index stream goes to process ``j % num_processes``, like
    accelerate's ``BatchSamplerShard`` (``split_batches=False``, ``even_batches=True``): every
    process gets the same number of full batches; with ``drop_last`` the trailing partial global
    batch is dropped, otherwise it is completed with indices from the start of the stream. So
    step ``k`` on processes ``0..P-1`` together covers the same examples as step ``k`` of one
    process with a ``P`` times larger batch (except for that completed tail).

    ``skip`` batches are dropped from the front of each pass without touching the data
    (see :func:`trainer_data.skip_first_batches`).
    """

    def __init__(
        self,
        sampler: Sampler[int] | Sized,
        batch_size: int,
        drop_last: bool = False,
        num_processes: int = 1,
        process_index: int = 0,
        skip: int = 0,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}.")
        if not 0 <= process_index < num_processes:
            raise ValueError(f"process_index {process_index} is not in [0, {num_processes}).")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.num_processes = num_processes
        self.process_index = process_index
        self.skip = skip

    def set_epoch(self, epoch: int) -> None:
        """Forward the epoch to the index sampler when it has ``set_epoch``."""
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)

    def _full_length(self) -> int:
        n = len(self.sampler)
        size = self.batch_size * self.num_processes
        return n // size if self.drop_last else -(-n // size)

    def __len__(self) -> int:
        return max(self._full_length() - self.skip, 0)

    def _process_indices(self, indices: list[int]) -> list[int]:
        procs, bs = self.num_processes, self.batch_size
        size = procs * bs
        n = len(indices)
        if self.drop_last:
            indices = indices[: n - n % size]
        elif n % size:
            head = indices[:size]
            missing = size - n % size
            indices = indices + [head[i % len(head)] for i in range(missing)]
        return indices

    def __iter__(self) -> Iterator[list[int]]:
        indices = list(iter(self.sampler))
        bs = self.batch_size
        if self.num_processes == 1:
            stop = len(indices) - len(indices) % bs if self.drop_last else len(indices)
            for start in range(self.skip * bs, stop, bs):
                yield indices[start : start + bs]
            return
        indices = self._process_indices(indices)
        step = bs * self.num_processes
        first = self.process_index * bs + self.skip * step
        for start in range(first, len(indices), step):
            yield indices[start : start + bs]
