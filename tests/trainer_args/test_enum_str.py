"""str() and f-strings of enum-valued arguments read as in transformers ("SaveStrategy.STEPS")."""

from __future__ import annotations

import dataclasses
from enum import Enum

import pytest
from trainer_args import TrainingArguments

SETTINGS = [
    {},
    dict(eval_strategy="epoch", save_strategy="best", metric_for_best_model="loss"),
    dict(lr_scheduler_type="cosine", optim="adafactor", hub_strategy="checkpoint"),
    dict(logging_strategy="no", save_strategy="no", optim="sgd"),
]


@pytest.mark.parametrize("settings", SETTINGS)
def test_enum_fields_print_like_transformers(tmp_path, settings):
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("torch")
    common = dict(output_dir=str(tmp_path), report_to="none", use_cpu=True, **settings)
    ours = TrainingArguments(**common)
    theirs = transformers.TrainingArguments(**common)
    compared = 0
    for field in dataclasses.fields(theirs):
        reference = getattr(theirs, field.name)
        if not isinstance(reference, Enum):
            continue
        mine = getattr(ours, field.name)
        assert str(mine) == str(reference), field.name
        assert f"{mine}" == f"{reference}", field.name
        assert mine == reference.value, field.name
        compared += 1
    assert compared >= 6


def test_plain_value_stays_available():
    args = TrainingArguments(output_dir="unused", save_strategy="epoch")
    assert str(args.save_strategy) == "SaveStrategy.EPOCH"
    assert args.save_strategy.value == "epoch" and args.save_strategy == "epoch"
    assert args.to_dict()["save_strategy"] == "epoch"
