"""A GPT-2-small-sized decoder written in plain PyTorch, for the GPU throughput check.

124M parameters at the full size (12 layers, width 768, 12 heads, vocab 50304, context 1024),
pre-LayerNorm blocks, tied input and output embeddings, attention through
``scaled_dot_product_attention`` (causal). ``forward(input_ids, labels)`` returns ``{"loss"}``
(the next-token cross-entropy, labels shifted inside) while training, and ``{"loss", "logits"}``
in eval mode, so the raw loop, this project's Trainer, transformers' Trainer and Lightning all
train the same module.

Packed (padding-free) batches, as ``DataCollatorWithFlattening(return_flash_attn_kwargs=True)``
makes them, carry ``cu_seq_lens_q`` and ``max_length_q``: attention then stays inside each example,
through ``torch.nn.attention.varlen`` where that works and else one causal SDPA call per example.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812


@dataclass(frozen=True)
class GPTShape:
    layers: int = 12
    width: int = 768
    heads: int = 12
    vocab: int = 50304
    context: int = 1024


GPT2_SMALL = GPTShape()
TINY = GPTShape(layers=2, width=64, heads=2, vocab=512, context=64)

# Which attention ran for packed batches last ("varlen" or "per-example sdpa"); the check reports it.
PACKED_ATTENTION: dict[str, str] = {}


def _varlen_call():
    """``torch.nn.attention.varlen.varlen_attn`` adapted to causal use, or ``None`` if absent.

    Its causal switch has changed between PyTorch versions (``is_causal`` or ``window_size``)."""
    try:
        from torch.nn.attention.varlen import varlen_attn
    except ImportError:
        return None
    params = inspect.signature(varlen_attn).parameters
    if "is_causal" in params:
        return lambda q, k, v, cu, mx: varlen_attn(q, k, v, cu, cu, mx, mx, is_causal=True)
    if "window_size" in params:
        return lambda q, k, v, cu, mx: varlen_attn(q, k, v, cu, cu, mx, mx, window_size=(-1, 0))
    return None


def _per_example(q, k, v, cu: torch.Tensor) -> torch.Tensor:
    outs = []
    bounds = cu.tolist()
    for start, end in zip(bounds[:-1], bounds[1:]):
        part = [t[start:end].transpose(0, 1) for t in (q, k, v)]  # (heads, len, dim)
        outs.append(F.scaled_dot_product_attention(*part, is_causal=True).transpose(0, 1))
    return torch.cat(outs)


_VARLEN: dict[str, Any] = {}


def _working_varlen(dtype: torch.dtype, device: torch.device):
    """The varlen call once it has run forward and backward here and matched per-example SDPA."""
    if "call" not in _VARLEN:
        call = _varlen_call()
        if call is not None:
            try:
                g = torch.Generator(device=device).manual_seed(0)
                q, k, v = (
                    torch.randn(12, 2, 64, device=device, dtype=dtype, generator=g).requires_grad_()
                    for _ in range(3)
                )
                cu = torch.tensor([0, 5, 12], device=device, dtype=torch.int32)
                out = call(q, k, v, cu, 7)
                out.float().sum().backward()
                ref = _per_example(q.detach(), k.detach(), v.detach(), cu)
                if not torch.allclose(out.float(), ref.float(), atol=3e-2, rtol=3e-2):
                    raise ValueError("varlen_attn does not match causal SDPA per example")
            except Exception as exc:  # an unsupported dtype, head size, build or semantics
                PACKED_ATTENTION["varlen_error"] = f"{type(exc).__name__}: {exc}"[:300]
                call = None
        _VARLEN["call"] = call
    return _VARLEN["call"]


def packed_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cu: torch.Tensor, mx: int):
    """Causal attention within each example of one packed row; q/k/v are ``(tokens, heads, dim)``."""
    call = _working_varlen(q.dtype, q.device) if q.is_cuda else None
    if call is not None:
        PACKED_ATTENTION["path"] = "varlen"
        return call(q, k, v, cu.to(torch.int32), int(mx))
    PACKED_ATTENTION["path"] = "per-example sdpa"
    return _per_example(q, k, v, cu)


class Block(nn.Module):
    def __init__(self, shape: GPTShape):
        super().__init__()
        self.heads = shape.heads
        self.ln_1 = nn.LayerNorm(shape.width)
        self.qkv = nn.Linear(shape.width, 3 * shape.width)
        self.proj = nn.Linear(shape.width, shape.width)
        self.ln_2 = nn.LayerNorm(shape.width)
        self.fc = nn.Linear(shape.width, 4 * shape.width)
        self.fc_out = nn.Linear(4 * shape.width, shape.width)

    def attend(self, x: torch.Tensor, packed: tuple[torch.Tensor, int] | None) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(self.ln_1(x)).view(b, t, 3, self.heads, c // self.heads).unbind(2)
        if packed is None:
            y = F.scaled_dot_product_attention(
                q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True
            ).transpose(1, 2)
        else:  # one packed row: (1, tokens, heads, dim)
            y = packed_attention(q[0], k[0], v[0], *packed).unsqueeze(0)
        return self.proj(y.reshape(b, t, c))

    def forward(self, x: torch.Tensor, packed: tuple[torch.Tensor, int] | None) -> torch.Tensor:
        x = x + self.attend(x, packed)
        return x + self.fc_out(F.gelu(self.fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    main_input_name = "input_ids"

    def __init__(self, shape: GPTShape = GPT2_SMALL):
        super().__init__()
        self.shape = shape
        self.wte = nn.Embedding(shape.vocab, shape.width)
        self.wpe = nn.Embedding(shape.context, shape.width)
        self.blocks = nn.ModuleList(Block(shape) for _ in range(shape.layers))
        self.ln_f = nn.LayerNorm(shape.width)
        self.lm_head = nn.Linear(shape.width, shape.vocab, bias=False)
        self.lm_head.weight = self.wte.weight
        self.apply(self._init)
        for block in self.blocks:  # scaled residual projections (GPT-2)
            for proj in (block.proj, block.fc_out):
                nn.init.normal_(proj.weight, std=0.02 / math.sqrt(2 * shape.layers))

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_parameters(self, exclude_embeddings: bool = False) -> int:
        """Parameters (the tied output projection once); ``exclude_embeddings`` drops the
        position table only, since the token table does a matrix product as the output head."""
        skip = {id(self.wpe.weight)} if exclude_embeddings else set()
        seen = {id(p): p for p in self.parameters() if id(p) not in skip}
        return sum(p.numel() for p in seen.values())

    def flops_per_token(self, seq: int | None = None) -> float:
        """Forward+backward FLOPs per token: 6 x parameters (position table excluded) plus the
        attention products, 12 x layers x width x seq (PaLM, appendix B)."""
        seq = seq or self.shape.context
        s = self.shape
        return 6.0 * self.num_parameters(exclude_embeddings=True) + 12.0 * s.layers * s.width * seq

    def forward(
        self,
        input_ids: torch.Tensor,
        labels: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        cu_seq_lens_q: torch.Tensor | None = None,
        max_length_q: int | None = None,
        **_: Any,
    ) -> dict[str, torch.Tensor]:
        t = input_ids.shape[1]
        if position_ids is None:
            position_ids = torch.arange(t, device=input_ids.device).unsqueeze(0)
        packed = None
        if cu_seq_lens_q is not None:
            packed = (cu_seq_lens_q, int(max_length_q or t))
        x = self.wte(input_ids) + self.wpe(position_ids)
        for block in self.blocks:
            x = block(x, packed)
        logits = self.lm_head(self.ln_f(x))
        out: dict[str, torch.Tensor] = {}
        if labels is not None:
            out["loss"] = F.cross_entropy(
                logits[:, :-1].flatten(0, 1).float(),
                labels[:, 1:].flatten(),
                ignore_index=-100,
            )
        if not self.training or labels is None:
            out["logits"] = logits
        return out


def token_data(vocab: int, seq: int, n: int, seed: int = 0) -> list[dict[str, torch.Tensor]]:
    """``n`` random sequences of ``seq`` tokens, labels equal to the inputs."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab, (n, seq), generator=g)
    return [{"input_ids": ids[i], "labels": ids[i]} for i in range(n)]


def variable_length_data(
    vocab: int, low: int, high: int, n: int, seed: int = 0
) -> list[dict[str, list[int]]]:
    """``n`` random sequences whose lengths are uniform in ``[low, high]``, as lists of ids."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(low, high + 1, (n,), generator=g).tolist()
    return [{"input_ids": torch.randint(0, vocab, (n_,), generator=g).tolist()} for n_ in lengths]


class PadToLongest:
    """Pads a batch of variable-length ``input_ids`` to its longest; padded labels are -100.

    Right padding under a causal mask: real tokens never attend to the padding after them."""

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        longest = max(len(f["input_ids"]) for f in features)
        ids = torch.zeros(len(features), longest, dtype=torch.long)
        labels = torch.full((len(features), longest), -100, dtype=torch.long)
        for row, f in enumerate(features):
            seq = torch.as_tensor(f["input_ids"], dtype=torch.long)
            ids[row, : len(seq)] = seq
            labels[row, : len(seq)] = seq
        return {"input_ids": ids, "labels": labels}
