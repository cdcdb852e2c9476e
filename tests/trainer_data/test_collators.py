"""Collators without transformers: default collation, return_tensors, ragged-input errors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from trainer_data import DataCollatorMixin, DefaultDataCollator, default_data_collator


def test_default_collator_stacks_and_renames_label():
    feats = [{"x": [1.0, 2.0], "label": 1, "text": "a"}, {"x": [3.0, 4.0], "label": 0, "text": "b"}]
    batch = default_data_collator(feats)
    assert set(batch) == {"x", "labels"}  # strings are skipped
    assert batch["labels"].dtype == torch.long
    assert torch.equal(batch["x"], torch.tensor([[1.0, 2.0], [3.0, 4.0]]))


def test_default_collator_float_labels_and_label_ids():
    batch = default_data_collator([{"label": 0.5}, {"label": 1.5}])
    assert batch["labels"].dtype == torch.float32
    batch = default_data_collator([{"label_ids": [1, 2]}, {"label_ids": [3, 4]}])
    assert batch["labels"].tolist() == [[1, 2], [3, 4]] and batch["labels"].dtype == torch.long


def test_default_collator_tensors_arrays_and_none():
    feats = [
        {
            "t": torch.ones(3),
            "a": np.zeros(2, dtype=np.float32),
            "skip": None,
            "label": torch.tensor(1),
        }
        for _ in range(4)
    ]
    batch = default_data_collator(feats)
    assert batch["t"].shape == (4, 3) and batch["a"].shape == (4, 2) and "skip" not in batch
    assert batch["labels"].dtype == torch.long


def test_default_collator_numpy():
    feats = [{"x": [1, 2], "label": 1}, {"x": [3, 4], "label": 0}]
    batch = default_data_collator(feats, return_tensors="np")
    assert isinstance(batch["x"], np.ndarray) and batch["labels"].dtype == np.int64
    assert DefaultDataCollator(return_tensors="np")(feats)["x"].tolist() == [[1, 2], [3, 4]]
    assert isinstance(DefaultDataCollator()(feats)["x"], torch.Tensor)


def test_default_collator_dataclass_features():
    @dataclass
    class Feature:
        input_ids: list
        label: int

    batch = default_data_collator([Feature([1, 2], 0), Feature([3, 4], 1)])
    assert batch["input_ids"].tolist() == [[1, 2], [3, 4]]


@pytest.mark.parametrize("return_tensors", ["pt", "np"])
def test_ragged_features_suggest_padding_collator(return_tensors):
    feats = [{"input_ids": [1, 2, 3]}, {"input_ids": [1, 2]}]
    with pytest.raises(ValueError, match="DataCollatorWithPadding"):
        default_data_collator(feats, return_tensors=return_tensors)


def test_unknown_return_tensors():
    with pytest.raises(ValueError, match="'pt' or 'np'"):
        default_data_collator([{"x": 1}], return_tensors="tf")
    with pytest.raises(ValueError):
        DefaultDataCollator(return_tensors="jax")


def test_mixin_dispatch():
    class Both(DataCollatorMixin):
        return_tensors = "np"

        def torch_call(self, features):
            return {"kind": "pt"}

        def numpy_call(self, features):
            return {"kind": "np"}

    c = Both()
    assert c([])["kind"] == "np"
    assert c([], return_tensors="pt")["kind"] == "pt"
