"""build_train_dataloader / build_eval_dataloader / skip_first_batches with plain torch data."""

from __future__ import annotations

import logging
import time
from types import SimpleNamespace

import pytest
import torch
from torch.utils.data import DataLoader, IterableDataset
from trainer_data import (
    DataCollatorMixin,
    IterableDatasetShard,
    TrainerDataLoader,
    build_eval_dataloader,
    build_train_dataloader,
    default_data_collator,
    has_length,
    skip_first_batches,
)


def make_args(**overrides):
    fields = dict(
        per_device_train_batch_size=4,
        per_device_eval_batch_size=5,
        train_batch_size=4,
        eval_batch_size=5,
        dataloader_drop_last=False,
        dataloader_num_workers=0,
        dataloader_pin_memory=True,
        dataloader_persistent_workers=False,
        dataloader_prefetch_factor=None,
        remove_unused_columns=True,
        label_names=None,
        train_sampling_strategy="random",
        length_column_name="length",
        data_seed=None,
        seed=42,
        gradient_accumulation_steps=1,
    )
    fields.update(overrides)
    if "per_device_train_batch_size" in overrides and "train_batch_size" not in overrides:
        fields["train_batch_size"] = overrides["per_device_train_batch_size"]
    return SimpleNamespace(**fields)


class IndexDataset(torch.utils.data.Dataset):
    """Item ``i`` is ``{"idx": i, "text": ...}``; counts how many items were loaded."""

    def __init__(self, n):
        self.n = n
        self.loaded = 0

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self.loaded += 1
        return {"idx": i, "text": f"example {i}"}


class IdxModel(torch.nn.Module):
    def forward(self, idx, labels=None):
        return idx


def order(loader):
    return [b["idx"].tolist() for b in loader]


def test_has_length():
    assert has_length([1, 2]) and has_length(IndexDataset(3))

    class Stream(IterableDataset):
        def __iter__(self):
            yield from range(3)

    assert not has_length(Stream())


def test_train_loader_random_order_is_seeded_per_epoch():
    loader = build_train_dataloader(IndexDataset(23), None, make_args(), model=IdxModel())
    assert isinstance(loader, TrainerDataLoader) and isinstance(loader, DataLoader)
    assert len(loader) == 6
    loader.set_epoch(0)
    e0 = order(loader)
    loader.set_epoch(1)
    e1 = order(loader)
    assert e0 != e1 and sorted(sum(e0, [])) == list(range(23))
    loader.set_epoch(0)
    assert order(loader) == e0
    g = torch.Generator().manual_seed(42)
    assert sum(e0, []) == torch.randperm(23, generator=g).tolist()
    # data_seed wins over seed, generator_seed over both
    other = build_train_dataloader(IndexDataset(23), None, make_args(data_seed=7))
    assert order(other) != e0
    same = build_train_dataloader(IndexDataset(23), None, make_args(data_seed=7), generator_seed=42)
    assert order(same) == e0


def test_train_loader_options():
    args = make_args(train_sampling_strategy="sequential", dataloader_drop_last=True)
    loader = build_train_dataloader(IndexDataset(10), None, args, batch_size=3)
    assert order(loader) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert loader.pin_memory == torch.cuda.is_available()
    eval_loader = build_eval_dataloader(IndexDataset(12), None, make_args())
    assert order(eval_loader) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11]]


def test_unused_columns_removed_through_collator(caplog):
    with caplog.at_level(logging.INFO, logger="trainer_data"):
        batch = next(
            iter(build_train_dataloader(IndexDataset(8), None, make_args(), model=IdxModel()))
        )
    assert set(batch) == {"idx"}
    kept = build_train_dataloader(
        IndexDataset(8), None, make_args(remove_unused_columns=False), model=IdxModel()
    )
    assert kept.collate_fn is default_data_collator


def test_no_matching_columns_error():
    class Other(torch.nn.Module):
        def forward(self, pixel_values):
            return pixel_values

    loader = build_train_dataloader(IndexDataset(8), None, make_args(), model=Other())
    with pytest.raises(ValueError, match=r"idx, text.*pixel_values"):
        next(iter(loader))


def test_errors_before_training():
    with pytest.raises(ValueError, match="empty"):
        build_train_dataloader([], None, make_args())
    with pytest.raises(ValueError, match="empty"):
        build_eval_dataloader([], None, make_args())
    with pytest.raises(ValueError, match="None"):
        build_train_dataloader(None, None, make_args())
    with pytest.raises(ValueError, match="train_sampling_strategy"):
        build_train_dataloader([{"x": 1}], None, make_args(train_sampling_strategy="shuffle"))
    ragged = [{"input_ids": [1] * (i + 1)} for i in range(4)]
    with pytest.raises(ValueError, match="DataCollatorWithPadding"):
        next(iter(build_train_dataloader(ragged, None, make_args())))


def test_group_by_length_uses_accumulated_batch_and_seed():
    data = [{"input_ids": [0] * (i % 9 + 1), "idx": i} for i in range(40)]

    def pad(features):
        return {"idx": torch.tensor([f["idx"] for f in features])}

    args = make_args(train_sampling_strategy="group_by_length", gradient_accumulation_steps=2)
    loader = build_train_dataloader(data, pad, args)
    assert loader.batch_sampler.sampler.batch_size == 8
    first = order(loader)
    assert max(len(data[i]["input_ids"]) for i in first[0]) == 9
    loader.set_epoch(0)
    assert order(loader) == first


@pytest.mark.parametrize("strategy", ["random", "group_by_length"])
@pytest.mark.parametrize("drop_last", [False, True])
def test_two_processes_see_the_global_batches(strategy, drop_last):
    data = [{"idx": i, "input_ids": [1] * (i % 5 + 1)} for i in range(30)]

    def collate(features):
        return {"idx": torch.tensor([f["idx"] for f in features])}

    def loader(world, rank, bs):
        args = make_args(
            train_sampling_strategy=strategy,
            dataloader_drop_last=drop_last,
            per_device_train_batch_size=bs,
            gradient_accumulation_steps=1,
        )
        dl = build_train_dataloader(data, collate, args, world_size=world, process_index=rank)
        dl.set_epoch(1)
        return order(dl)

    single = loader(1, 0, 8) if strategy == "random" else None
    ranks = [loader(2, r, 4) for r in range(2)]
    assert len(ranks[0]) == len(ranks[1])
    if strategy == "random":
        for step, (a, b) in enumerate(zip(*ranks)):
            if len(single[step]) == 8:
                assert a + b == single[step]
    seen = {i for r in ranks for b in r for i in b}
    assert seen == set(range(30)) or drop_last


@pytest.mark.parametrize("strategy", ["random", "sequential", "group_by_length"])
@pytest.mark.parametrize("world", [1, 2])
@pytest.mark.parametrize("skip", [0, 1, 3, 5])
def test_skip_first_batches_is_exact_and_loads_nothing(strategy, world, skip):
    args = make_args(train_sampling_strategy=strategy)
    for rank in range(world):
        ds = [{"idx": i, "input_ids": [1] * (i % 4 + 1)} for i in range(22)]

        def collate(features):
            return {"idx": torch.tensor([f["idx"] for f in features])}

        full = build_train_dataloader(ds, collate, args, world_size=world, process_index=rank)
        full.set_epoch(2)
        expected = order(full)[skip:]

        counting = IndexDataset(22)
        counting.rows = ds
        counting.__class__ = type("Counting", (IndexDataset,), {"__getitem__": _counting_getitem})
        loader = build_train_dataloader(
            counting, collate, args, world_size=world, process_index=rank
        )
        counting.loaded = 0  # group_by_length measured every item while building
        resumed = skip_first_batches(loader, skip)
        resumed.set_epoch(2)
        assert len(resumed) == len(expected)
        assert order(resumed) == expected
        assert counting.loaded == sum(len(b) for b in expected)  # skipped batches never loaded
        loader.set_epoch(3)  # next epoch through the original loader is complete again
        assert len(order(loader)) == len(order(full))


def _counting_getitem(self, i):
    self.loaded += 1
    return self.rows[i]


def test_skip_first_batches_on_plain_torch_loader():
    loader = DataLoader(list(range(10)), batch_size=3, shuffle=False)
    assert [b.tolist() for b in skip_first_batches(loader, 2)] == [[6, 7, 8], [9]]
    assert skip_first_batches(loader, 0) is loader


class Stream(IterableDataset):
    """An iterable dataset shuffled by its ``generator`` attribute."""

    def __init__(self, n=10):
        self.n = n
        self.generator = torch.Generator().manual_seed(0)

    def __iter__(self):
        for i in torch.randperm(self.n, generator=self.generator).tolist():
            yield {"idx": i}


class EpochStream(IterableDataset):
    def __init__(self):
        self.epochs = []

    def set_epoch(self, epoch):
        self.epochs.append(epoch)

    def __iter__(self):
        yield from ({"idx": i} for i in range(7))


def test_iterable_dataset_reseeded_per_epoch_and_skipped():
    loader = build_train_dataloader(Stream(), None, make_args())
    loader.set_epoch(0)
    e0 = order(loader)
    loader.set_epoch(1)
    e1 = order(loader)
    loader.set_epoch(0)
    assert order(loader) == e0 and e0 != e1
    resumed = skip_first_batches(loader, 1)
    resumed.set_epoch(1)
    assert order(resumed) == e1[1:]
    stream = EpochStream()
    build_train_dataloader(stream, None, make_args()).set_epoch(4)
    assert stream.epochs == [4]


@pytest.mark.parametrize("drop_last", [False, True])
def test_iterable_dataset_sharding(drop_last):
    args = make_args(train_sampling_strategy="sequential", dataloader_drop_last=drop_last)
    shards = [
        order(
            build_train_dataloader(
                EpochStream(), None, args, world_size=2, process_index=r, batch_size=2
            )
        )
        for r in range(2)
    ]
    assert isinstance(
        build_train_dataloader(EpochStream(), None, args, world_size=2).dataset,
        IterableDatasetShard,
    )
    if drop_last:
        assert shards == [[[0, 1]], [[2, 3]]]
    else:
        assert shards == [[[0, 1], [4, 5]], [[2, 3], [6, 0]]]


class WorkerSeedCollator(DataCollatorMixin):
    def torch_call(self, features):
        info = torch.utils.data.get_worker_info()
        return {
            "idx": torch.tensor([f["idx"] for f in features]),
            "worker": info.id if info else -1,
        }


@pytest.mark.slow
def test_workers_persistent_and_prefetch():
    args = make_args(
        dataloader_num_workers=2,
        dataloader_persistent_workers=True,
        dataloader_prefetch_factor=3,
        train_sampling_strategy="sequential",
    )
    loader = build_train_dataloader(IndexDataset(16), WorkerSeedCollator(), args)
    assert (
        loader.persistent_workers
        and loader.prefetch_factor == 3
        and loader.worker_init_fn is not None
    )
    batches = list(loader)
    assert [b["idx"].tolist() for b in batches] == [list(range(i, i + 4)) for i in range(0, 16, 4)]
    assert {b["worker"] for b in batches} == {0, 1}
    resumed = skip_first_batches(loader, 2)
    assert [b["idx"].tolist() for b in resumed] == [[8, 9, 10, 11], [12, 13, 14, 15]]


def test_batching_overhead_vs_bare_dataloader():
    """Budget: iterating our loader costs < 5% over a bare DataLoader with the same collator."""
    data = [{"x": torch.randn(8), "labels": i % 3} for i in range(4096)]
    args = make_args(per_device_train_batch_size=32)
    ours = build_train_dataloader(data, None, args, model=None)
    bare = DataLoader(data, batch_size=32, shuffle=True, collate_fn=default_data_collator)

    def once(loader):
        start = time.perf_counter()
        for _batch in loader:
            pass
        return time.perf_counter() - start

    once(ours), once(bare)  # warm up
    ours_t, bare_t = [], []
    for _ in range(9):  # interleaved, best of 9: robust to noise from neighbours
        ours_t.append(once(ours))
        bare_t.append(once(bare))
    ratio = min(ours_t) / min(bare_t)
    assert ratio < 1.10, ratio  # 1.05 is the budget; slack for noisy shared machines
