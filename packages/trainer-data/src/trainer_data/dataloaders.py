"""Training and evaluation DataLoaders built from TrainingArguments, and exact mid-epoch resume."""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler, SequentialSampler

from ._collate import default_data_collator
from ._kinds import _arg, has_length, is_iterable_dataset
from .columns import RemoveColumnsCollator, remove_unused_columns, signature_columns
from .data_state import shard_count, stateful_dataset, stateful_loader_available
from .iterable import IterableDatasetShard, set_dataset_epoch
from .ordering import _default_seed, _lengths, eval_sampler, train_sampler
from .samplers import ShardedBatchSampler

__all__ = [
    "TrainerDataLoader",
    "build_eval_dataloader",
    "build_train_dataloader",
    "dataloader_from_sampler",
    "eval_sampler",
    "has_length",
    "seed_worker",
    "train_sampler",
]

_logger = logging.getLogger("trainer_data")


def seed_worker(worker_id: int, num_workers: int, rank: int) -> None:
    """``worker_init_fn`` that seeds python, numpy and torch in a DataLoader worker.

    The seed is the worker's torch seed (derived by the DataLoader from its base seed and the
    worker id) plus ``num_workers * rank``, so workers differ across processes too.
    """
    seed = torch.initial_seed() % 2**32 + num_workers * rank
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class TrainerDataLoader(DataLoader):
    """A ``torch.utils.data.DataLoader`` that knows its epoch.

    Iteration is plain ``DataLoader`` iteration (no per-batch wrapper). :meth:`set_epoch`
    forwards the epoch to the batch sampler/sampler (new shuffle order) and, for iterable
    datasets, to the dataset (``set_epoch`` or a seeded ``generator`` attribute).
    """

    def __init__(
        self, dataset: Any, *, epoch_seed: int = 0, num_processes: int = 1, **kwargs: Any
    ) -> None:
        super().__init__(dataset, **kwargs)
        self.epoch_seed = epoch_seed
        self.epoch = 0
        self.num_processes = num_processes

    @property
    def total_batch_size(self) -> int:
        """Examples per step over all processes (this process's batch size x processes), as
        accelerate's prepared loaders report it."""
        holder = self.batch_sampler if self.batch_size is None else self
        return int(holder.batch_size) * self.num_processes

    @property
    def total_dataset_length(self) -> int:
        """Examples in the whole dataset (before sharding); needs a sized dataset."""
        dataset = self.dataset
        while isinstance(dataset, IterableDatasetShard):
            dataset = dataset.dataset
        return int(getattr(dataset, "total_length", None) or len(dataset))

    def set_epoch(self, epoch: int) -> None:
        """Select the data order of ``epoch``; call at the start of every training epoch."""
        self.epoch = epoch
        if is_iterable_dataset(self.dataset):
            set_dataset_epoch(self.dataset, epoch, self.epoch_seed)
            return
        holder = self.batch_sampler if hasattr(self.batch_sampler, "set_epoch") else self.sampler
        if hasattr(holder, "set_epoch"):
            holder.set_epoch(epoch)
        elif hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)


def _check_not_empty(dataset: Any, what: str) -> None:
    if dataset is None:
        raise ValueError(f"{what} requires a dataset, got None.")
    if has_length(dataset) and len(dataset) == 0:
        raise ValueError(
            f"The {what.lower()} dataset is empty (0 examples); pass a non-empty dataset."
        )


def _handle_columns(
    dataset: Any, collator: Callable, args: Any, model: Any, description: str
) -> tuple[Any, Callable]:
    if model is None or not getattr(args, "remove_unused_columns", True):
        return dataset, collator
    columns = signature_columns(model, getattr(args, "label_names", None))
    name = type(model).__name__
    if getattr(dataset, "column_names", None) is not None and hasattr(dataset, "remove_columns"):
        dataset = remove_unused_columns(dataset, columns, description, _logger, model_name=name)
        return dataset, collator
    return dataset, RemoveColumnsCollator(collator, columns, _logger, name, description)


def _has_accelerator() -> bool:
    """Whether pinned host memory can help: a CUDA, XPU, MPS, ... device is present."""
    accelerator = getattr(torch, "accelerator", None)  # torch >= 2.6
    if accelerator is not None:
        return accelerator.is_available()
    return torch.cuda.is_available()


def _worker_kwargs(args: Any, process_index: int, training: bool) -> dict[str, Any]:
    workers = int(_arg(args, "dataloader_num_workers", 0))
    kwargs: dict[str, Any] = {
        "num_workers": workers,
        "pin_memory": bool(_arg(args, "dataloader_pin_memory", True)) and _has_accelerator(),
    }
    if workers > 0:
        kwargs["persistent_workers"] = bool(_arg(args, "dataloader_persistent_workers", False))
        prefetch = getattr(args, "dataloader_prefetch_factor", None)
        if prefetch is not None:
            kwargs["prefetch_factor"] = prefetch
        if training:
            kwargs["worker_init_fn"] = partial(seed_worker, num_workers=workers, rank=process_index)
    return kwargs


def _shard_iterable(dataset: Any, batch_size: int, drop_last: bool, world: int, rank: int) -> Any:
    if world <= 1:
        return dataset
    if getattr(dataset, "n_shards", 0) >= world and hasattr(dataset, "shard"):
        return dataset.shard(num_shards=world, index=rank)
    return IterableDatasetShard(dataset, batch_size, drop_last, world, rank)


@functools.cache
def _stateful_loader_class() -> type:
    """``TrainerDataLoader`` on torchdata's ``StatefulDataLoader`` (which collects the position
    of datasets read in worker processes); the plain one, said once, without torchdata."""
    if not stateful_loader_available():
        _logger.info(
            "The training data can report its position, but with dataloader_num_workers > 0 "
            "that needs torchdata's StatefulDataLoader: pip install 'trainer-data[stateful]' so "
            "a resumed run does not read the consumed examples again."
        )
        return TrainerDataLoader
    from torchdata.stateful_dataloader import StatefulDataLoader

    class StatefulTrainerDataLoader(TrainerDataLoader, StatefulDataLoader):
        """A ``TrainerDataLoader`` whose ``state_dict()`` holds every worker's data position."""

    return StatefulTrainerDataLoader


def _warn_idle_workers(dataset: Any, workers: int) -> None:
    shards = shard_count(dataset)
    if workers > 0 and shards is not None and workers > shards:
        _logger.warning(
            "dataloader_num_workers=%d is more than the %d shard(s) of the streaming dataset, so "
            "%d worker(s) get no data: set dataloader_num_workers <= %d, or split the data into "
            "more files (datasets: dataset.reshard()).",
            workers,
            shards,
            workers - shards,
            shards,
        )


def _build(
    dataset: Any,
    collator: Callable,
    args: Any,
    sampler: Sampler | None,
    batch_size: int,
    world_size: int,
    process_index: int,
    seed: int,
    training: bool,
) -> TrainerDataLoader:
    drop_last = bool(_arg(args, "dataloader_drop_last", False))
    kwargs = _worker_kwargs(args, process_index, training)
    if sampler is None:  # iterable dataset
        dataset = _shard_iterable(dataset, batch_size, drop_last, world_size, process_index)
        workers = kwargs["num_workers"]
        _warn_idle_workers(dataset, workers)
        loader_class = TrainerDataLoader
        if training and workers > 0 and stateful_dataset(dataset) is dataset:
            loader_class = _stateful_loader_class()
        return loader_class(
            dataset,
            epoch_seed=seed,
            num_processes=world_size,
            batch_size=batch_size,
            drop_last=drop_last,
            collate_fn=collator,
            **kwargs,
        )
    batches = ShardedBatchSampler(sampler, batch_size, drop_last, world_size, process_index)
    return TrainerDataLoader(
        dataset,
        epoch_seed=seed,
        num_processes=world_size,
        batch_sampler=batches,
        collate_fn=collator,
        **kwargs,
    )


def dataloader_from_sampler(
    dataset: Any,
    collator: Callable | None,
    args: Any,
    sampler: Sampler | None,
    *,
    batch_size: int,
    world_size: int = 1,
    process_index: int = 0,
    seed: int | None = None,
    training: bool = False,
) -> TrainerDataLoader:
    """The DataLoader of one process over ``sampler``'s order (for a custom sampler).

    Batches of ``batch_size`` are taken from the order and process ``i`` of ``world_size`` gets
    every ``world_size``-th of them, as accelerate shards a prepared DataLoader. A map-style
    dataset without a sampler is read in order; an iterable dataset is sharded itself.
    """
    if sampler is None and not is_iterable_dataset(dataset) and has_length(dataset):
        sampler = SequentialSampler(dataset)
    return _build(
        dataset,
        collator or default_data_collator,
        args,
        sampler,
        batch_size,
        world_size,
        process_index,
        _default_seed(args) if seed is None else seed,
        training,
    )


def build_train_dataloader(
    dataset: Any,
    collator: Callable | None,
    args: Any,
    *,
    model: Any = None,
    world_size: int = 1,
    process_index: int = 0,
    generator_seed: int | None = None,
    batch_size: int | None = None,
    model_input_name: str | None = None,
) -> TrainerDataLoader:
    """Build the training DataLoader of one process.

    Args:
        dataset: a map-style dataset (list, torch ``Dataset``, ``datasets.Dataset``) or an iterable
            one (torch ``IterableDataset``, ``datasets.IterableDataset``).
        collator: turns a list of examples into a batch; ``None`` means
            :func:`default_data_collator`.
        args: ``TrainingArguments`` (or any object with the same field names).
        model: when given and ``args.remove_unused_columns`` is true, inputs its ``forward`` does
            not accept are dropped (columns of a ``datasets`` dataset, keys of other examples).
        world_size: number of data-parallel processes; each gets its own shard.
        process_index: this process's data-parallel rank (which shard it reads).
        generator_seed: shuffle seed; default ``args.data_seed``, else ``args.seed`` (what the
            transformers Trainer ends up with after ``set_seed(args.seed)``).
        batch_size: per-process batch size; default ``args.train_batch_size``.
        model_input_name: key measured for ``group_by_length`` when there is no length column
            (default ``input_ids``).

    Order follows ``args.train_sampling_strategy``: ``"random"`` (:class:`SeedableRandomSampler`,
    same order as transformers' Trainer), ``"sequential"``, or ``"group_by_length"``
    (:class:`LengthGroupedSampler` with megabatches of ``batch_size * gradient_accumulation_steps``,
    seeded with the same seed + epoch). Call ``set_epoch(epoch)`` on the result before each epoch.

    Raises:
        ValueError: on a missing or empty dataset, an unknown sampling strategy, or a dataset
            none of whose columns the model accepts.
    """
    _check_not_empty(dataset, "Training")
    seed = _default_seed(args) if generator_seed is None else generator_seed
    if batch_size is None:
        batch_size = getattr(args, "train_batch_size", None) or args.per_device_train_batch_size
    lengths = None
    if str(_arg(args, "train_sampling_strategy", "random")) == "group_by_length":
        lengths = (
            None if is_iterable_dataset(dataset) else _lengths(dataset, args, model_input_name)
        )
    dataset, collator = _handle_columns(
        dataset, collator or default_data_collator, args, model, "training"
    )
    sampler = train_sampler(
        dataset,
        args,
        batch_size=batch_size,
        seed=seed,
        model_input_name=model_input_name,
        lengths=lengths,
    )
    return _build(
        dataset, collator, args, sampler, batch_size, world_size, process_index, seed, True
    )


def build_eval_dataloader(
    dataset: Any,
    collator: Callable | None,
    args: Any,
    *,
    model: Any = None,
    world_size: int = 1,
    process_index: int = 0,
    batch_size: int | None = None,
    model_input_name: str | None = None,
) -> TrainerDataLoader:
    """Build the evaluation/prediction DataLoader of one process.

    Same arguments as :func:`build_train_dataloader`; the batch size defaults to
    ``args.eval_batch_size``. Examples come in dataset order (length-grouped with a fixed seed
    when ``train_sampling_strategy="group_by_length"``, as in transformers). With several
    processes each gets every ``world_size``-th batch and the last global batch is completed with
    examples from the start, so gathered results must be truncated to ``len(dataset)``.
    """
    _check_not_empty(dataset, "Evaluation")
    if batch_size is None:
        batch_size = getattr(args, "eval_batch_size", None) or args.per_device_eval_batch_size
    grouped = str(_arg(args, "train_sampling_strategy", "random")) == "group_by_length"
    lengths = (
        _lengths(dataset, args, model_input_name)
        if grouped and not is_iterable_dataset(dataset)
        else None
    )
    dataset, collator = _handle_columns(
        dataset, collator or default_data_collator, args, model, "evaluation"
    )
    sampler = eval_sampler(
        dataset, args, batch_size=batch_size, model_input_name=model_input_name, lengths=lengths
    )
    return _build(
        dataset,
        collator,
        args,
        sampler,
        batch_size,
        world_size,
        process_index,
        _default_seed(args),
        False,
    )
