"""Tiny models and datasets built in code, shared by every test folder."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class RegressionDataset(torch.utils.data.Dataset):
    """``y = a * x + b + noise`` with fixed seed; items are dicts with ``input_x`` and ``labels``."""

    def __init__(self, a: float = 2.0, b: float = 3.0, length: int = 64, seed: int = 42):
        rng = np.random.default_rng(seed)
        self.length = length
        self.x = rng.normal(size=(length,)).astype(np.float32)
        self.ys = (a * self.x + b + rng.normal(scale=0.1, size=(length,))).astype(np.float32)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> dict:
        return {"input_x": self.x[i], "labels": self.ys[i]}


class RegressionModel(nn.Module):
    """Learns ``a`` and ``b``; returns ``(loss, prediction)`` when labels are given."""

    def __init__(self, a: float = 0.0, b: float = 0.0, double_output: bool = False):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(a).float())
        self.b = nn.Parameter(torch.tensor(b).float())
        self.double_output = double_output

    def forward(self, input_x, labels=None, **kwargs):
        y = input_x * self.a + self.b
        if labels is None:
            return (y, y) if self.double_output else (y,)
        loss = nn.functional.mse_loss(y, labels)
        return (loss, y, y) if self.double_output else (loss, y)


class TinyMLP(nn.Module):
    """A small MLP classifier taking ``input_ids``-free float features ``x``."""

    def __init__(self, in_features: int = 16, hidden: int = 32, classes: int = 4):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden),
            nn.ReLU(),
            nn.LayerNorm(hidden),
            nn.Linear(hidden, classes),
        )

    def forward(self, x, labels=None):
        logits = self.net(x)
        if labels is None:
            return {"logits": logits}
        return {"loss": nn.functional.cross_entropy(logits, labels), "logits": logits}


def classification_data(
    n: int = 128, in_features: int = 16, classes: int = 4, seed: int = 0
) -> list[dict]:
    """A list of ``{"x", "labels"}`` dicts whose label is learnable from ``x``."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, in_features, generator=g)
    w = torch.randn(in_features, classes, generator=g)
    labels = (x @ w).argmax(-1)
    return [{"x": x[i], "labels": labels[i]} for i in range(n)]


def tiny_gpt2(vocab_size: int = 64, n_positions: int = 32, seed: int = 0):
    """A transformers GPT-2 with two tiny layers and random weights (needs transformers)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=vocab_size, n_positions=n_positions, n_embd=16, n_layer=2, n_head=2
    )
    return GPT2LMHeadModel(config)


def lm_data(n: int = 32, seq_len: int = 16, vocab_size: int = 64, seed: int = 0) -> list[dict]:
    """Random token sequences for causal language modelling (labels equal inputs)."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab_size, (n, seq_len), generator=g)
    return [{"input_ids": ids[i], "labels": ids[i].clone()} for i in range(n)]
