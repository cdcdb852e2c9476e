"""IterableDatasetShard re-seeds a dataset's torch.Generator each epoch, as transformers' does."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import trainer_data  # noqa: E402


class ShuffledStream(torch.utils.data.IterableDataset):
    """Yields 0..n-1 in an order drawn from its own generator."""

    def __init__(self, n: int = 12):
        self.n = n
        self.generator = torch.Generator()

    def __iter__(self):
        yield from torch.randperm(self.n, generator=self.generator).tolist()


def _epochs(shard_cls, processes, epochs=3, seed=5, **kwargs):
    streams = [ShuffledStream() for _ in range(processes)]
    shards = [
        shard_cls(s, batch_size=2, num_processes=processes, process_index=i, seed=seed, **kwargs)
        for i, s in enumerate(streams)
    ]
    out = []
    for epoch in range(epochs):
        for shard in shards:
            shard.set_epoch(epoch)
        out.append([list(shard) for shard in shards])
    return out


def test_processes_see_disjoint_parts_of_one_order_and_epochs_differ():
    epochs = _epochs(trainer_data.IterableDatasetShard, processes=2)
    for parts in epochs:
        assert sorted(parts[0] + parts[1]) == list(range(12))
    assert epochs[0] != epochs[1] != epochs[2]
    # The same seed and epoch give the same order again.
    assert epochs == _epochs(trainer_data.IterableDatasetShard, processes=2)


def test_matches_transformers_shard():
    transformers = pytest.importorskip("transformers")
    from transformers.trainer_pt_utils import IterableDatasetShard

    assert _epochs(trainer_data.IterableDatasetShard, 2) == _epochs(IterableDatasetShard, 2)
    assert _epochs(trainer_data.IterableDatasetShard, 3, drop_last=True) == _epochs(
        IterableDatasetShard, 3, drop_last=True
    )
    del transformers


def test_loader_epoch_seed_is_used_through_the_shard():
    stream = ShuffledStream()
    shard = trainer_data.IterableDatasetShard(stream, batch_size=3)
    trainer_data.set_dataset_epoch(shard, epoch=2, seed=40)
    first = list(shard)
    expected = torch.randperm(12, generator=torch.Generator().manual_seed(42)).tolist()
    assert first == expected
