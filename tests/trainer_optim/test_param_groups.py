"""Decay / no-decay groups and build_optimizer."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn
from trainer_optim import build_optimizer, get_decay_parameter_names, get_parameter_names


def test_decay_names_on_tiny_lm(tiny_lm):
    names = get_decay_parameter_names(tiny_lm)
    assert "embed_tokens.weight" in names
    assert "layers.0.q_proj.weight" in names and "layers.0.o_proj.weight" in names
    assert "normalizer.weight" in names and "lm_head.weight" in names and "logit_scale" in names
    for excluded in (
        "layers.0.q_proj.bias",
        "layers.0.ln.weight",
        "layers.1.input_layernorm.weight",
        "layers.1.post_attention_layernorm.weight",
        "norm.weight",
        "final_layer_norm.weight",
        "LayerNorm.weight",
        "lm_head.bias",
    ):
        assert excluded not in names, excluded


def test_extra_no_decay_types_and_anchored_patterns():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    assert get_decay_parameter_names(model) == ["0.weight", "1.weight"]
    assert get_decay_parameter_names(model, [nn.BatchNorm1d]) == ["0.weight"]
    nested = nn.ModuleDict({"enc": nn.ModuleDict({"norm": nn.Linear(2, 2)})})
    assert get_parameter_names(nested, [], [r"^norm"]) == []


def test_build_optimizer_groups(tiny_lm, make_args):
    model = tiny_lm
    opt = build_optimizer(model, make_args(optim="sgd", weight_decay=0.1))
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    named = dict(model.named_parameters())
    decay_names = set(get_decay_parameter_names(model))
    assert {id(p) for p in decay["params"]} == {
        id(p) for n, p in named.items() if n in decay_names and p.requires_grad
    }
    assert all(p.requires_grad for g in opt.param_groups for p in g["params"])
    assert id(model.frozen.weight) not in {id(p) for g in opt.param_groups for p in g["params"]}
    total = sum(len(g["params"]) for g in opt.param_groups)
    assert total == sum(1 for p in model.parameters() if p.requires_grad)


def test_build_optimizer_with_explicit_cls_and_kwargs(tiny_lm, make_args):
    model = tiny_lm
    opt = build_optimizer(model, make_args(), (torch.optim.Adam, {"lr": 0.5}))
    assert isinstance(opt, torch.optim.Adam) and opt.defaults["lr"] == 0.5


def test_build_optimizer_accepts_a_factory(tiny_lm, make_args):
    seen = {}

    class Factory:
        def __call__(self, model, **kwargs):
            seen.update(kwargs)
            return torch.optim.SGD(model.parameters(), **kwargs)

    opt = build_optimizer(tiny_lm, make_args(), (Factory, {"lr": 0.2}))
    assert isinstance(opt, torch.optim.SGD) and seen == {"lr": 0.2}


def test_fused_falls_back_with_a_warning_on_unsupported_device(make_args):
    with torch.device("meta"):
        model = nn.Linear(3, 3)
    with pytest.warns(UserWarning, match="non-fused"):
        opt = build_optimizer(model, make_args(optim="adamw_torch_fused"))
    assert not opt.defaults.get("fused")


def test_fused_is_kept_on_cpu(make_args):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        opt = build_optimizer(nn.Linear(3, 3), make_args(optim="adamw_torch_fused"))
    assert opt.defaults["fused"] is True
