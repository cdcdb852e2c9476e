"""Decay parameter names and optimizer kwargs equal the transformers Trainer's."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")

from torch import nn
from trainer_optim import build_optimizer, get_decay_parameter_names, get_optimizer_cls_and_kwargs
from transformers import Trainer
from transformers import TrainingArguments as HFTrainingArguments


def _hf_decay_names(model):
    # get_decay_parameter_names does not use `self`
    return Trainer.get_decay_parameter_names(None, model)


def test_tiny_lm_decay_names_equal(tiny_lm):
    model = tiny_lm
    assert get_decay_parameter_names(model) == _hf_decay_names(model)


def test_gpt2_decay_names_equal():
    from helpers.models import tiny_gpt2

    model = tiny_gpt2()
    ours = get_decay_parameter_names(model)
    assert ours == _hf_decay_names(model)
    assert any("ln_" in n for n, _ in model.named_parameters()) and not any(
        "ln_" in n for n in ours
    )


def test_sequential_decay_names_equal():
    model = nn.Sequential(nn.Embedding(4, 3), nn.Linear(3, 3), nn.LayerNorm(3), nn.Linear(3, 2))
    assert get_decay_parameter_names(model) == _hf_decay_names(model)


@pytest.mark.parametrize(
    ("optim", "optim_args"),
    [
        ("adamw_torch", None),
        ("adamw_torch_fused", None),
        ("adafactor", None),
        ("sgd", None),
        ("sgd", "momentum=0.9, nesterov=True, dampening=0"),
        ("adagrad", "lr_decay=0.1,eps=1e-6"),
        ("rmsprop", "alpha=0.8,centered=true,momentum=0.5"),
    ],
)
def test_cls_and_kwargs_equal(optim, optim_args, make_args):
    hf_args = HFTrainingArguments(
        output_dir="out",
        report_to="none",
        optim=optim,
        optim_args=optim_args,
        learning_rate=3e-4,
        adam_beta1=0.8,
        adam_beta2=0.95,
        adam_epsilon=1e-6,
    )
    ours_cls, ours_kwargs = get_optimizer_cls_and_kwargs(hf_args)
    hf_cls, hf_kwargs = Trainer.get_optimizer_cls_and_kwargs(hf_args)
    assert ours_cls.__name__ == hf_cls.__name__
    assert ours_kwargs == hf_kwargs
    same = get_optimizer_cls_and_kwargs(
        make_args(
            optim=optim,
            optim_args=optim_args,
            learning_rate=3e-4,
            adam_beta1=0.8,
            adam_beta2=0.95,
            adam_epsilon=1e-6,
        )
    )
    assert same == (ours_cls, ours_kwargs)


def test_build_optimizer_matches_trainer_create_optimizer(tiny_lm):
    model = tiny_lm
    hf_args = HFTrainingArguments(
        output_dir="out", report_to="none", optim="adamw_torch", weight_decay=0.05
    )
    trainer = Trainer(model=model, args=hf_args)
    theirs = trainer.create_optimizer()
    ours = build_optimizer(model, hf_args)
    assert len(ours.param_groups) == len(theirs.param_groups)
    for a, b in zip(ours.param_groups, theirs.param_groups):
        assert [id(p) for p in a["params"]] == [id(p) for p in b["params"]]
        assert {k: v for k, v in a.items() if k != "params"} == {
            k: v for k, v in b.items() if k != "params"
        }
