"""Data that reports its position: capture/restore, JSON trees, source descriptions, warnings."""

from __future__ import annotations

import json
import logging

import pytest
import torch
from trainer_args import TrainingArguments
from trainer_data import build_train_dataloader
from trainer_data.data_state import (
    can_report_position,
    capture_position,
    describe_source,
    from_json_tree,
    restore_position,
    source_mismatch,
    to_json_tree,
)


class Counting(torch.utils.data.IterableDataset):
    """0, 1, 2, ... with ``state_dict``/``load_state_dict``; counts the items it produces."""

    def __init__(self, n: int = 40) -> None:
        self.n, self.next, self.start, self.produced = n, 0, 0, 0

    def __iter__(self):
        self.next = self.start
        self.start = 0
        while self.next < self.n:
            self.produced += 1
            value = self.next
            self.next += 1
            yield {"x": torch.tensor(float(value))}

    def state_dict(self):
        return {"next": self.next, "seen": torch.tensor([self.next]), "pair": (1, 2)}

    def load_state_dict(self, state):
        assert isinstance(state["pair"], tuple) and state["seen"].dtype == torch.int64
        self.start = state["next"]


def _args(**kw):
    return TrainingArguments(output_dir="unused", report_to="none", use_cpu=True, **kw)


def test_position_round_trips_through_json_without_reading_again():
    data = Counting()
    loader = build_train_dataloader(data, None, _args(per_device_train_batch_size=4))
    assert can_report_position(loader)
    batches = iter(loader)
    for _ in range(3):
        next(batches)
    position = json.loads(json.dumps(capture_position(loader)))
    fresh = Counting()
    again = build_train_dataloader(fresh, None, _args(per_device_train_batch_size=4))
    assert restore_position(again, position)
    assert next(iter(again))["x"].tolist() == [12.0, 13.0, 14.0, 15.0]
    assert fresh.produced == 4  # the 12 consumed items were not produced again


def test_json_tree_keeps_tensors_and_tuples():
    state = {"a": torch.tensor([1.5, 2.5]), "b": (1, [2, (3,)]), "c": None}
    back = from_json_tree(json.loads(json.dumps(to_json_tree(state))))
    assert torch.equal(back["a"], state["a"]) and back["b"] == (1, [2, (3,)])
    with pytest.raises(TypeError, match="cannot be saved as JSON"):
        to_json_tree({"x": object()})


def test_source_mismatch_names_what_changed():
    saved = {"type": "IterableDataset", "num_shards": 4, "files": ["a.parquet", "b.parquet"]}
    assert source_mismatch(saved, dict(saved)) is None
    moved = dict(saved, files=["a.parquet", "c.parquet"])
    assert "file list was ['a.parquet', 'b.parquet']" in source_mismatch(saved, moved)
    assert describe_source(Counting())["type"] == "Counting"


def test_more_workers_than_shards_is_said(tmp_path, caplog):
    datasets = pytest.importorskip("datasets")
    stream = datasets.Dataset.from_dict({"x": [1.0] * 8}).to_iterable_dataset(num_shards=2)
    with caplog.at_level(logging.WARNING, logger="trainer_data"):
        build_train_dataloader(stream, None, _args(dataloader_num_workers=3))
    assert "dataloader_num_workers=3 is more than the 2 shard(s)" in caplog.text
