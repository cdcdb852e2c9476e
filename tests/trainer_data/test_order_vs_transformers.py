"""Index order side by side with transformers' Trainer, its samplers and accelerate's sharding."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")
pytest.importorskip("accelerate")
import torch  # noqa: E402
from accelerate.data_loader import BatchSamplerShard  # noqa: E402
from torch.utils.data import BatchSampler  # noqa: E402
from trainer_data import (  # noqa: E402
    LengthGroupedSampler,
    ShardedBatchSampler,
    build_train_dataloader,
    get_length_grouped_indices,
)
from transformers import Trainer, TrainingArguments  # noqa: E402
from transformers.trainer_pt_utils import LengthGroupedSampler as HFLengthGroupedSampler  # noqa: E402
from transformers.trainer_pt_utils import get_length_grouped_indices as hf_grouped  # noqa: E402


class IdxDataset(torch.utils.data.Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {
            "input_x": torch.tensor(float(i)),
            "labels": torch.tensor(float(i)),
            "note": "drop me",
        }


class IdxModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(()))

    def forward(self, input_x, labels=None):
        loss = ((input_x * self.w - labels) ** 2).mean()
        return (loss,)


def epochs(loader, n=2):
    out = []
    for epoch in range(n):
        loader.set_epoch(epoch)
        out.append([b["input_x"].long().tolist() for b in loader])
    return out


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"data_seed": 11},
        {"seed": 7, "dataloader_drop_last": True, "per_device_train_batch_size": 5},
        {"train_sampling_strategy": "sequential"},
    ],
)
def test_train_order_equals_transformers_trainer(tmp_path, options):
    kwargs = dict(per_device_train_batch_size=4, seed=123)
    kwargs.update(options)
    args = TrainingArguments(output_dir=str(tmp_path), report_to="none", use_cpu=True, **kwargs)
    trainer = Trainer(model=IdxModel(), args=args, train_dataset=IdxDataset(29))
    expected = epochs(trainer.get_train_dataloader())
    ours = build_train_dataloader(IdxDataset(29), None, args, model=IdxModel())
    assert epochs(ours) == expected
    # without set_epoch both advance one epoch per full pass
    ours2 = build_train_dataloader(IdxDataset(29), None, args, model=IdxModel())
    theirs2 = Trainer(
        model=IdxModel(), args=args, train_dataset=IdxDataset(29)
    ).get_train_dataloader()
    assert [b["input_x"].tolist() for _ in range(2) for b in ours2] == [
        b["input_x"].tolist() for _ in range(2) for b in theirs2
    ]


@pytest.mark.parametrize("n,batch", [(10, 2), (100, 4), (1000, 8), (97, 3)])
def test_length_grouped_indices_match(n, batch):
    lengths = torch.randint(1, 64, (n,), generator=torch.Generator().manual_seed(n)).tolist()
    for seed in (0, 5):
        ours = get_length_grouped_indices(
            lengths, batch, generator=torch.Generator().manual_seed(seed)
        )
        theirs = hf_grouped(lengths, batch, generator=torch.Generator().manual_seed(seed))
        assert ours == theirs


def test_length_grouped_sampler_matches_for_same_seed():
    data = [{"input_ids": [0] * (i * 7 % 23 + 1)} for i in range(200)]
    for epoch in range(2):
        ours = LengthGroupedSampler(16, dataset=data, seed=3)
        ours.set_epoch(epoch)
        theirs = HFLengthGroupedSampler(
            16, dataset=data, generator=torch.Generator().manual_seed(3 + epoch)
        )
        assert list(ours) == list(theirs)
    # with no seed and no generator both draw from the global RNG
    torch.manual_seed(9)
    ours = list(LengthGroupedSampler(16, dataset=data))
    torch.manual_seed(9)
    assert ours == list(HFLengthGroupedSampler(16, dataset=data))


@pytest.mark.parametrize("n", [7, 24, 25, 50])
@pytest.mark.parametrize("procs", [2, 3])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sharding_matches_accelerate(n, procs, drop_last):
    for rank in range(procs):
        theirs = list(BatchSamplerShard(BatchSampler(range(n), 4, drop_last), procs, rank))
        ours = ShardedBatchSampler(range(n), 4, drop_last, procs, rank)
        assert list(ours) == theirs
        assert len(ours) == len(
            BatchSamplerShard(BatchSampler(range(n), 4, drop_last), procs, rank)
        )


def test_resume_skip_matches_accelerate_skip_first_batches(tmp_path):
    from accelerate import skip_first_batches as acc_skip
    from trainer_data import skip_first_batches

    args = TrainingArguments(
        output_dir=str(tmp_path), report_to="none", use_cpu=True, per_device_train_batch_size=4
    )
    theirs = acc_skip(
        Trainer(model=IdxModel(), args=args, train_dataset=IdxDataset(29)).get_train_dataloader(), 3
    )
    ours = skip_first_batches(
        build_train_dataloader(IdxDataset(29), None, args, model=IdxModel()), 3
    )
    theirs.set_epoch(1)
    ours.set_epoch(1)
    assert [b["input_x"].tolist() for b in ours] == [b["input_x"].tolist() for b in theirs]
