"""Fixtures for the trainer_optim tests: a stand-in arguments object and a small model."""

from __future__ import annotations

import types

import pytest
import torch
from torch import nn


def _make_args(**overrides) -> types.SimpleNamespace:
    """Just the fields trainer_optim reads, with the TrainingArguments defaults."""
    fields = {
        "optim": "adamw_torch",
        "optim_args": None,
        "learning_rate": 1e-3,
        "weight_decay": 0.01,
        "adam_beta1": 0.9,
        "adam_beta2": 0.999,
        "adam_epsilon": 1e-8,
        "optim_target_modules": None,
        "warmup_steps": 0,
        "warmup_ratio": None,
        "gradient_accumulation_steps": 1,
        "lr_scheduler_type": "linear",
        "lr_scheduler_kwargs": None,
    }
    fields.update(overrides)
    return types.SimpleNamespace(**fields)


class RMSNormLike(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.weight


class Block(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.q_proj = nn.Linear(dim, dim)
        self.o_proj = nn.Linear(dim, dim, bias=False)
        self.input_layernorm = RMSNormLike(dim)
        self.post_attention_layernorm = RMSNormLike(dim)
        self.ln = nn.LayerNorm(dim)

    def forward(self, x):
        h = self.q_proj(self.input_layernorm(x))
        return self.ln(x + self.o_proj(self.post_attention_layernorm(h)))


class TinyLM(nn.Module):
    """Embeddings, linear layers with and without bias, LayerNorm and RMSNorm-style modules."""

    def __init__(self, vocab: int = 11, dim: int = 8):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, dim)
        self.layers = nn.ModuleList([Block(dim), Block(dim)])
        self.norm = RMSNormLike(dim)
        self.final_layer_norm = RMSNormLike(dim)
        self.LayerNorm = RMSNormLike(dim)
        self.normalizer = nn.Linear(dim, dim)  # "norm" only as a prefix: decayed
        self.lm_head = nn.Linear(dim, vocab)
        self.logit_scale = nn.Parameter(torch.ones(()))
        self.frozen = nn.Linear(dim, dim)
        self.frozen.requires_grad_(False)

    def forward(self, input_ids):
        h = self.embed_tokens(input_ids)
        for layer in self.layers:
            h = layer(h)
        h = self.LayerNorm(self.final_layer_norm(self.norm(self.normalizer(h) + self.frozen(h))))
        return self.lm_head(h) * self.logit_scale

    def loss(self, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        ids = torch.randint(0, 11, (2, 5), generator=g)
        return nn.functional.cross_entropy(self(ids).reshape(-1, 11), ids.reshape(-1))


@pytest.fixture
def make_args():
    """Factory for a stand-in TrainingArguments: ``make_args(optim="sgd", ...)``."""
    return _make_args


@pytest.fixture
def tiny_lm() -> TinyLM:
    torch.manual_seed(0)
    return TinyLM()
