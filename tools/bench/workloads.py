"""Benchmark workloads: budget, sizes, the tiny MLP and the small GPT, and their data."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

# Budget of docs/performance.md and shared/DESIGN.md "Performance budget".
BUDGET = {
    "train": 1.10,
    "eval": 1.10,
    "checkpoint": 1.20,
    "import_trainer_over_torch_s": 0.5,
    "import_trainer_args_s": 0.15,
}
# Tighter targets for the tiny MLP, where the library's own per-step cost is most visible
# (a larger model hides it behind compute): (check, case) -> largest ours/raw ratio. They apply
# to the interleaved measures (tools/bench/interleaved*.py), which a busy host moves far less than
# separate runs (docs/performance.md).
TARGETS = {
    ("train", "mlp"): 1.03,
    ("whole", "mlp"): 1.05,
    ("evaluate", "mlp"): 1.05,
    ("predict", "mlp"): 1.05,
}
LR = 5e-4
WEIGHT_DECAY = 0.01
MAX_GRAD_NORM = 1.0
SEED = 42

# ---------------------------------------------------------------------------------- sizes


@dataclass
class Sizes:
    mlp_in: int = 64
    mlp_hidden: int = 256
    mlp_out: int = 10
    mlp_batch: int = 32
    mlp_steps: int = 600  # crosses one default logging step (500)
    mlp_warmup: int = 50
    gpt_layers: int = 2
    gpt_width: int = 128
    gpt_heads: int = 4
    gpt_seq: int = 128
    gpt_vocab: int = 1024
    gpt_batch: int = 8
    gpt_steps: int = 40
    gpt_warmup: int = 5
    eval_mlp_samples: int = 16384
    eval_mlp_batch: int = 64
    eval_gpt_samples: int = 128
    eval_gpt_batch: int = 8
    big_ckpt: bool = True  # the ~100M-parameter checkpoint
    import_runs: int = 5
    memory_steps: int = 30
    cuda_steps: int = 30
    cuda_warmup: int = 5
    resume_rows: tuple = (19_200, 96_000)  # streaming rows consumed before the resume


FULL = Sizes()
QUICK = Sizes(
    resume_rows=(640, 1_920),
    mlp_hidden=32,
    mlp_steps=40,
    mlp_warmup=5,
    gpt_layers=1,
    gpt_width=32,
    gpt_heads=2,
    gpt_seq=32,
    gpt_vocab=128,
    gpt_batch=4,
    gpt_steps=8,
    gpt_warmup=2,
    eval_mlp_samples=256,
    eval_gpt_samples=16,
    eval_gpt_batch=4,
    big_ckpt=False,
    import_runs=1,
    memory_steps=4,
    cuda_steps=4,
    cuda_warmup=1,
)


# ---------------------------------------------------------------------------------- models


class MLP(nn.Module):
    """Tiny classifier returning ``{"loss", "logits"}`` like a transformers model."""

    def __init__(self, d_in: int, hidden: int, d_out: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(d_in, hidden),
            nn.ReLU(),
            nn.LayerNorm(hidden),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, d_out),
        )

    def forward(self, x, labels=None):
        logits = self.net(x)
        out = {"logits": logits}
        if labels is not None:
            out = {"loss": nn.functional.cross_entropy(logits, labels), "logits": logits}
        return out


def make_mlp(s: Sizes) -> nn.Module:
    torch.manual_seed(SEED)
    return MLP(s.mlp_in, s.mlp_hidden, s.mlp_out)


def mlp_data(s: Sizes, n: int) -> list[dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(SEED)
    x = torch.randn(n, s.mlp_in, generator=g)
    y = torch.randint(0, s.mlp_out, (n,), generator=g)
    return [{"x": x[i], "labels": y[i]} for i in range(n)]


def make_gpt(
    layers: int, width: int, heads: int, seq: int, vocab: int, dtype=torch.float32
) -> nn.Module:
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(SEED)
    config = GPT2Config(
        n_layer=layers,
        n_embd=width,
        n_head=heads,
        n_positions=seq,
        vocab_size=vocab,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
    )
    with contextlib.redirect_stderr(io.StringIO()):
        model = GPT2LMHeadModel(config)
    return model.to(dtype)


def small_gpt(s: Sizes) -> nn.Module:
    return make_gpt(s.gpt_layers, s.gpt_width, s.gpt_heads, s.gpt_seq, s.gpt_vocab)


def gpt_data(vocab: int, seq: int, n: int) -> list[dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(SEED)
    ids = torch.randint(0, vocab, (n, seq), generator=g)
    return [{"input_ids": ids[i], "labels": ids[i]} for i in range(n)]


def case(s: Sizes, name: str) -> dict[str, Any]:
    """Model factory, data and batch size of one training case."""
    if name == "mlp":
        n = s.mlp_batch * (s.mlp_steps + 1)
        return {"model": lambda: make_mlp(s), "data": mlp_data(s, n), "batch": s.mlp_batch}
    n = s.gpt_batch * (s.gpt_steps + 1)
    return {
        "model": lambda: small_gpt(s),
        "data": gpt_data(s.gpt_vocab, s.gpt_seq, n),
        "batch": s.gpt_batch,
    }
