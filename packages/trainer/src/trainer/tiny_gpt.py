"""A small GPT-style causal language model written here, so the main job needs no model download.

The model follows the usual decoder-only recipe (token and position embeddings, pre-norm blocks of
causal self-attention and an MLP, a head tied to the token embedding) and speaks the Trainer's
model contract: ``forward(input_ids, attention_mask=None, labels=None)`` returns a mapping with
``loss`` (when labels are given) and ``logits``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F


@dataclass
class TinyGPTConfig:
    """Sizes of a :class:`TinyGPT` (``trainer demo`` uses ``n_embd=128``, ``attn_dropout=0.0``)."""

    vocab_size: int = 257
    n_positions: int = 128
    n_embd: int = 96
    n_layer: int = 2
    n_head: int = 4
    dropout: float = 0.1
    # dropout on the attention weights; None: the same as ``dropout``. On CPU, attention with
    # dropout cannot use the fused kernel and costs about twice as much as without.
    attn_dropout: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The sizes as a plain mapping (written next to the weights as ``config.json``)."""
        return asdict(self)


class _Block(nn.Module):
    def __init__(self, config: TinyGPTConfig):
        super().__init__()
        self.n_head = config.n_head
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.proj = nn.Linear(config.n_embd, config.n_embd)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = nn.Sequential(
            nn.Linear(config.n_embd, 4 * config.n_embd),
            nn.GELU(),
            nn.Linear(4 * config.n_embd, config.n_embd),
        )
        self.dropout = nn.Dropout(config.dropout)
        self.attn_dropout = config.dropout if config.attn_dropout is None else config.attn_dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        q, k, v = self.qkv(self.ln_1(x)).split(width, dim=2)
        heads = [t.view(batch, length, self.n_head, -1).transpose(1, 2) for t in (q, k, v)]
        drop = self.attn_dropout if self.training else 0.0
        attended = F.scaled_dot_product_attention(*heads, dropout_p=drop, is_causal=True)
        attended = attended.transpose(1, 2).reshape(batch, length, width)
        x = x + self.dropout(self.proj(attended))
        return x + self.dropout(self.mlp(self.ln_2(x)))


class TinyGPT(nn.Module):
    """A decoder-only transformer over ``config.vocab_size`` tokens (random initialisation)."""

    main_input_name = "input_ids"

    def __init__(self, config: TinyGPTConfig | None = None, **sizes: Any):
        super().__init__()
        config = config or TinyGPTConfig(**sizes)
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(_Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.apply(self._init_weights)
        scale = 0.02 / math.sqrt(2 * config.n_layer)
        for block in self.blocks:
            nn.init.normal_(block.proj.weight, std=scale)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Next-token logits; with ``labels`` (``-100`` ignored) also the mean shifted loss.

        ``attention_mask`` is accepted for collators that send it; right padding needs no mask
        under causal attention because padded positions carry ``-100`` labels.
        """
        length = input_ids.shape[1]
        if length > self.config.n_positions:
            raise ValueError(
                f"input of {length} tokens is longer than n_positions={self.config.n_positions}"
            )
        positions = torch.arange(length, device=input_ids.device)
        x = self.drop(self.wte(input_ids) + self.wpe(positions))
        for block in self.blocks:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.weight.T
        out = {"logits": logits}
        if labels is not None:
            out["loss"] = F.cross_entropy(
                logits[:, :-1].reshape(-1, logits.shape[-1]),
                labels[:, 1:].reshape(-1),
                ignore_index=-100,
            )
        return out

    @torch.no_grad()
    def generate(
        self,
        input_ids: torch.Tensor,
        max_new_tokens: int = 80,
        temperature: float = 0.8,
        top_k: int | None = 20,
        seed: int | None = 0,
    ) -> torch.Tensor:
        """Sample ``max_new_tokens`` tokens after ``input_ids`` (``seed`` makes it repeatable)."""
        was_training = self.training
        self.eval()
        generator = torch.Generator(device=input_ids.device)
        if seed is not None:
            generator.manual_seed(seed)
        ids = input_ids
        # the output at the last position is never trained (the loss predicts token t+1 at t, so
        # a full-length block has no target for its last position): keep the window one shorter
        context = max(1, self.config.n_positions - 1)
        for _ in range(max_new_tokens):
            window = ids[:, -context:]
            logits = self(window)["logits"][:, -1, :] / max(temperature, 1e-5)
            if top_k is not None:
                cutoff = torch.topk(logits, min(top_k, logits.shape[-1])).values[:, -1:]
                logits = logits.masked_fill(logits < cutoff, float("-inf"))
            probs = torch.softmax(logits, dim=-1)
            ids = torch.cat([ids, torch.multinomial(probs, 1, generator=generator)], dim=1)
        self.train(was_training)
        return ids


def build_tiny_gpt(**sizes: Any) -> TinyGPT:
    """Factory for configs: ``model: {factory: "trainer.tiny_gpt:build_tiny_gpt", kwargs: ...}``."""
    torch.manual_seed(sizes.pop("seed", 0))
    return TinyGPT(TinyGPTConfig(**sizes))
