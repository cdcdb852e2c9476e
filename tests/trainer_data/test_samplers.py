"""Samplers: seeded shuffling, length grouping and process sharding (no transformers needed)."""

from __future__ import annotations

import pytest
import torch
from trainer_data import (
    LengthGroupedSampler,
    SeedableRandomSampler,
    ShardedBatchSampler,
    get_length_grouped_indices,
)


def test_seedable_sampler_order_depends_on_seed_and_epoch():
    s = SeedableRandomSampler(range(20), seed=3)
    g = torch.Generator().manual_seed(3)
    first = list(s)
    assert first == torch.randperm(20, generator=g).tolist()
    second = list(s)  # epoch advanced after a full pass
    assert second != first
    s.set_epoch(0)
    assert list(s) == first
    s.set_epoch(1)
    assert list(s) == second
    assert list(SeedableRandomSampler(range(20), seed=4)) != first


def test_sharded_batch_sampler_single_process():
    batches = list(ShardedBatchSampler(range(10), 4))
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert list(ShardedBatchSampler(range(10), 4, drop_last=True)) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(ShardedBatchSampler(range(10), 4)) == 3
    assert list(ShardedBatchSampler(range(10), 4, skip=2)) == [[8, 9]]
    with pytest.raises(ValueError):
        ShardedBatchSampler(range(3), 0)


@pytest.mark.parametrize("n", [1, 5, 16, 17, 23, 24])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sharding_covers_the_global_batches(n, drop_last):
    procs, bs = 2, 3
    shards = [list(ShardedBatchSampler(range(n), bs, drop_last, procs, p)) for p in range(procs)]
    assert len({len(s) for s in shards}) == 1
    for p, shard in enumerate(shards):
        assert len(shard) == len(ShardedBatchSampler(range(n), bs, drop_last, procs, p))
        assert all(len(b) == bs for b in shard)
    global_batches = list(ShardedBatchSampler(range(n), bs * procs, drop_last))
    for step, parts in enumerate(zip(*shards)):
        merged = [i for part in parts for i in part]
        if len(global_batches[step]) == bs * procs:
            assert merged == global_batches[step]
        else:  # last global batch completed with indices from the start
            assert merged[: len(global_batches[step])] == global_batches[step]
            assert merged[len(global_batches[step]) :] == [
                i % n for i in range(len(merged) - len(global_batches[step]))
            ]


def test_length_grouped_indices_properties():
    lengths = [
        int(x) for x in torch.randint(1, 100, (400,), generator=torch.Generator().manual_seed(0))
    ]
    g = torch.Generator().manual_seed(1)
    idx = get_length_grouped_indices(lengths, 4, generator=g)
    assert sorted(idx) == list(range(400))
    assert lengths[idx[0]] == max(lengths)
    mega = 4 * 25  # 400 // (4 * 4) = 25 batches per megabatch
    for start in range(mega, 400, mega):
        block = [lengths[i] for i in idx[start : start + mega]]
        assert block == sorted(block, reverse=True)


def test_length_grouped_sampler_seeded_and_errors():
    data = [{"input_ids": list(range(k % 7 + 1))} for k in range(30)]
    s = LengthGroupedSampler(4, dataset=data, seed=9)
    assert s.lengths == [k % 7 + 1 for k in range(30)]
    e0 = list(s)
    s.set_epoch(0)
    assert list(s) == e0
    s.set_epoch(1)
    assert list(s) != e0 and sorted(s) == list(range(30))
    assert LengthGroupedSampler(4, lengths=torch.tensor([3, 1, 2])).lengths == [3, 1, 2]
    with pytest.raises(ValueError, match="dataset"):
        LengthGroupedSampler(4)
    with pytest.raises(ValueError, match="'input_ids'"):
        LengthGroupedSampler(4, dataset=[{"x": [1]}])
