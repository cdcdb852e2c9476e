"""datasets.Dataset / IterableDataset support: column removal, length column, epochs, sharding."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

datasets = pytest.importorskip("datasets")
import torch  # noqa: E402
from trainer_data import (  # noqa: E402
    build_eval_dataloader,
    build_train_dataloader,
    remove_unused_columns,
    signature_columns,
    skip_first_batches,
)


class TextModel(torch.nn.Module):
    def forward(self, input_ids, attention_mask=None, labels=None):
        return input_ids


def args(**overrides):
    base = dict(
        per_device_train_batch_size=4,
        train_batch_size=4,
        per_device_eval_batch_size=4,
        eval_batch_size=4,
        dataloader_drop_last=False,
        dataloader_num_workers=0,
        dataloader_pin_memory=False,
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
    base.update(overrides)
    return SimpleNamespace(**base)


@pytest.fixture
def text_dataset():
    n = 21
    return datasets.Dataset.from_dict(
        {
            "input_ids": [[i] * 3 for i in range(n)],
            "label": [i % 2 for i in range(n)],
            "text": [f"sentence {i}" for i in range(n)],
            "source": ["web"] * n,
        }
    )


def test_remove_unused_columns_logs_one_line(text_dataset, caplog):
    cols = signature_columns(TextModel())
    with caplog.at_level(logging.INFO, logger="trainer_data"):
        out = remove_unused_columns(
            text_dataset, cols, description="training", model_name="TextModel"
        )
    assert out.column_names == ["input_ids", "label"]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "text, source" in lines[0] and "TextModel.forward" in lines[0]
    with caplog.at_level(logging.INFO, logger="trainer_data"):
        assert remove_unused_columns(out, cols) is out
    assert len(caplog.records) == 1


def test_no_accepted_column_lists_both_sides(text_dataset):
    only_text = text_dataset.select_columns(["text", "source"])
    with pytest.raises(ValueError, match=r"text, source.*input_ids, attention_mask, labels"):
        remove_unused_columns(only_text, signature_columns(TextModel()))


def test_train_loader_with_text_columns(text_dataset):
    loader = build_train_dataloader(text_dataset, None, args(), model=TextModel())
    assert loader.dataset.column_names == ["input_ids", "label"]
    batch = next(iter(loader))
    assert set(batch) == {"input_ids", "labels"} and batch["input_ids"].shape == (4, 3)
    loader.set_epoch(1)
    rows = sorted(int(r[0]) for b in loader for r in b["input_ids"])
    assert rows == list(range(21))


def test_group_by_length_reads_length_column(text_dataset):
    ds = text_dataset.add_column("length", [(i * 5) % 11 + 1 for i in range(21)])
    loader = build_train_dataloader(
        ds, None, args(train_sampling_strategy="group_by_length"), model=TextModel()
    )
    assert loader.batch_sampler.sampler.lengths == [(i * 5) % 11 + 1 for i in range(21)]
    assert "length" not in loader.dataset.column_names  # dropped for the model after reading it
    first = next(iter(loader))["input_ids"][:, 0].tolist()
    assert first[0] in (2, 13)  # an example of the longest length (11) opens the epoch


def test_eval_loader_sequential(text_dataset):
    loader = build_eval_dataloader(text_dataset, None, args(), model=TextModel())
    assert [int(r[0]) for b in loader for r in b["input_ids"]] == list(range(21))


def test_iterable_dataset_set_epoch_and_skip(text_dataset):
    stream = text_dataset.to_iterable_dataset(num_shards=3).shuffle(seed=0, buffer_size=8)
    loader = build_train_dataloader(stream, None, args(), model=TextModel())

    def rows(dl):
        return [int(r[0]) for b in dl for r in b["input_ids"]]

    loader.set_epoch(0)
    e0 = rows(loader)
    loader.set_epoch(1)
    e1 = rows(loader)
    assert sorted(e0) == list(range(21)) and e0 != e1
    resumed = skip_first_batches(loader, 2)
    resumed.set_epoch(1)
    assert rows(resumed) == e1[8:]


def test_iterable_dataset_sharded_over_processes(text_dataset):
    stream = text_dataset.to_iterable_dataset(num_shards=4)
    parts = [
        build_train_dataloader(
            stream, None, args(), model=TextModel(), world_size=2, process_index=r
        )
        for r in range(2)
    ]
    seen = [int(x[0]) for dl in parts for b in dl for x in b["input_ids"]]
    assert sorted(seen) == list(range(21))
