"""Exact mid-epoch resume: skip the batches a run already consumed without loading them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from torch.utils.data import DataLoader, Sampler

from ._kinds import is_iterable_dataset
from .dataloaders import TrainerDataLoader
from .iterable import _SkipExamples
from .samplers import ShardedBatchSampler

__all__ = ["skip_first_batches"]


class _SkipBatchSampler(Sampler[list[int]]):
    """Drop the first ``skip`` batches of any batch sampler (indices only, no data is loaded)."""

    def __init__(self, batch_sampler: Any, skip: int) -> None:
        self.batch_sampler = batch_sampler
        self.skip = skip

    def set_epoch(self, epoch: int) -> None:
        inner = self.batch_sampler
        target = inner if hasattr(inner, "set_epoch") else getattr(inner, "sampler", None)
        if hasattr(target, "set_epoch"):
            target.set_epoch(epoch)

    def __len__(self) -> int:
        return max(len(self.batch_sampler) - self.skip, 0)

    def __iter__(self) -> Iterator[list[int]]:
        for position, batch in enumerate(self.batch_sampler):
            if position >= self.skip:
                yield batch


def _loader_kwargs(loader: DataLoader) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "collate_fn": loader.collate_fn,
        "num_workers": loader.num_workers,
        "pin_memory": loader.pin_memory,
        "timeout": loader.timeout,
        "worker_init_fn": loader.worker_init_fn,
        "multiprocessing_context": loader.multiprocessing_context,
        "generator": loader.generator,
        "persistent_workers": loader.persistent_workers,
        "pin_memory_device": loader.pin_memory_device,
    }
    if loader.num_workers > 0:
        kwargs["prefetch_factor"] = loader.prefetch_factor
    if hasattr(loader, "in_order"):
        kwargs["in_order"] = loader.in_order
    return kwargs


def skip_first_batches(dataloader: DataLoader, num_batches: int = 0) -> DataLoader:
    """Return a DataLoader that yields what ``dataloader`` would yield after ``num_batches`` batches.

    For map-style datasets the skipped batches are dropped at the batch-sampler level: their
    indices are generated (so the shuffle is the same) but no example is loaded or collated.
    For iterable datasets the skipped examples are read and thrown away before batching (never
    collated); with several workers the result is only exact if the dataset splits itself per
    worker deterministically.

    Use it for one epoch: call ``set_epoch(epoch)`` on the returned loader (it shares the sampler
    with ``dataloader``), iterate it, and go back to ``dataloader`` for the next epoch.
    """
    if num_batches <= 0:
        return dataloader
    kwargs = _loader_kwargs(dataloader)
    seed = getattr(dataloader, "epoch_seed", 0)
    dataset = dataloader.dataset
    if is_iterable_dataset(dataset) or dataloader.batch_sampler is None:
        skipped = _SkipExamples(dataset, num_batches * (dataloader.batch_size or 1))
        new = TrainerDataLoader(
            skipped,
            epoch_seed=seed,
            batch_size=dataloader.batch_size,
            drop_last=dataloader.drop_last,
            **kwargs,
        )
    else:
        batches = dataloader.batch_sampler
        if isinstance(batches, ShardedBatchSampler):
            skipped_batches: Sampler = ShardedBatchSampler(
                batches.sampler,
                batches.batch_size,
                batches.drop_last,
                batches.num_processes,
                batches.process_index,
                skip=batches.skip + num_batches,
            )
        else:
            skipped_batches = _SkipBatchSampler(batches, num_batches)
        new = TrainerDataLoader(dataset, epoch_seed=seed, batch_sampler=skipped_batches, **kwargs)
    new.epoch = getattr(dataloader, "epoch", 0)
    new.num_processes = getattr(dataloader, "num_processes", 1)
    return new
