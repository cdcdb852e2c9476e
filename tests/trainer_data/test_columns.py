"""Signature columns and RemoveColumnsCollator on plain python / torch data."""

from __future__ import annotations

import logging

import pytest
import torch
from trainer_data import RemoveColumnsCollator, default_data_collator, signature_columns


class Model(torch.nn.Module):
    def forward(self, input_ids, attention_mask=None, labels=None):
        return input_ids


class Wrapped:
    """Stands in for a PEFT model: get_base_model() returns the real module."""

    def __init__(self, base):
        self.base = base

    def get_base_model(self):
        return self.base

    def forward(self, *args, **kwargs):
        return None


def test_signature_columns():
    cols = signature_columns(Model())
    assert cols == ["input_ids", "attention_mask", "labels", "label", "label_ids"]
    cols = signature_columns(Model(), label_names=["start_positions", "label"])
    assert cols[-1] == "start_positions" and cols.count("label") == 1
    assert signature_columns(Wrapped(Model()))[:2] == ["input_ids", "attention_mask"]


def test_remove_columns_collator_drops_and_logs_once(caplog):
    collator = RemoveColumnsCollator(
        default_data_collator,
        signature_columns(Model()),
        model_name="Model",
        description="training",
    )
    feats = [{"input_ids": [1, 2], "idx": i, "text": "t", "label": 0} for i in range(3)]
    with caplog.at_level(logging.INFO, logger="trainer_data"):
        batch = collator(feats)
        collator(feats)
    assert set(batch) == {"input_ids", "labels"}
    records = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert len(records) == 1
    assert "idx, text" in records[0].getMessage() and "training" in records[0].getMessage()
    assert "idx" in feats[0]  # the caller's examples are not modified


def test_remove_columns_collator_passthrough_and_error():
    calls = []

    def spy(features):
        calls.append(features)
        return features

    collator = RemoveColumnsCollator(spy, ["input_ids", "labels"])
    feats = [{"input_ids": 1}]
    assert collator(feats) is feats  # nothing to drop: same list, no copies
    assert collator([(1, 2)]) == [(1, 2)]  # non-mapping examples pass through
    with pytest.raises(ValueError, match=r"\(a, b\).*input_ids, labels"):
        collator([{"a": 1, "b": 2}])
