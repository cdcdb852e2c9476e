"""Causal language modelling data: packing text into blocks, a padding collator, perplexity.

Used by ``trainer train`` (task ``causal-lm``) and by the main demo.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def token_ids(tokenizer: Any, texts: Sequence[str]) -> list[list[int]]:
    """Token ids of each text followed by the end-of-text token when the tokenizer has one."""
    rows = tokenizer(list(texts))["input_ids"]
    eos = getattr(tokenizer, "eos_token_id", None)
    return [list(row) + ([eos] if eos is not None else []) for row in rows]


def pack(rows: Sequence[Sequence[int]], block_size: int) -> list[list[int]]:
    """Concatenate ``rows`` and cut them into blocks of ``block_size`` tokens.

    The tail shorter than a block is dropped unless it is all there is.
    """
    stream = [token for row in rows for token in row]
    if len(stream) < block_size:
        return [stream] if stream else []
    usable = len(stream) - len(stream) % block_size
    return [stream[i : i + block_size] for i in range(0, usable, block_size)]


def packed_dataset(tokenizer: Any, texts: Sequence[str], block_size: int) -> Any:
    """A ``datasets.Dataset`` of ``input_ids``/``labels`` blocks (labels equal the inputs)."""
    import datasets

    blocks = pack(token_ids(tokenizer, texts), block_size)
    return datasets.Dataset.from_dict({"input_ids": blocks, "labels": [list(b) for b in blocks]})


def truncated_dataset(tokenizer: Any, texts: Sequence[str], max_length: int) -> Any:
    """One example per text, cut to ``max_length`` tokens (pad in :class:`CausalLMCollator`)."""
    import datasets

    rows = [row[:max_length] for row in token_ids(tokenizer, texts)]
    return datasets.Dataset.from_dict({"input_ids": rows})


class CausalLMCollator:
    """Right-pads ``input_ids`` with the pad id; ``labels`` copy the inputs with ``-100`` padding."""

    def __init__(self, pad_token_id: int | None):
        self.pad_token_id = 0 if pad_token_id is None else pad_token_id

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        width = max(len(f["input_ids"]) for f in features)
        ids = torch.full((len(features), width), self.pad_token_id, dtype=torch.long)
        labels = torch.full((len(features), width), -100, dtype=torch.long)
        mask = torch.zeros((len(features), width), dtype=torch.long)
        for row, feature in enumerate(features):
            tokens = torch.as_tensor(feature["input_ids"], dtype=torch.long)
            ids[row, : len(tokens)] = tokens
            labels[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def token_losses(logits: Any, labels: Any) -> Any:
    """``preprocess_logits_for_metrics``: per-token loss of predicting token ``t+1`` at ``t``.

    Keeps evaluation memory at one float per token instead of a vocabulary-wide row.
    """
    import torch
    from torch.nn import functional as F

    if isinstance(logits, (tuple, list)):
        logits = logits[0]
    shifted = logits[:, :-1].float()
    losses = F.cross_entropy(
        shifted.reshape(-1, shifted.shape[-1]),
        labels[:, 1:].reshape(-1),
        ignore_index=-100,
        reduction="none",
    )
    return losses.view(labels.shape[0], -1).to(torch.float32)


def perplexity(prediction: Any) -> dict[str, float]:
    """``compute_metrics`` for :func:`token_losses`: ``exp`` of the mean loss per target token."""
    import numpy as np

    losses = np.asarray(prediction.predictions)
    labels = np.asarray(prediction.label_ids)[:, 1:]
    width = min(losses.shape[1], labels.shape[1])
    mask = labels[:, :width] != -100
    mean = float(losses[:, :width][mask].mean()) if mask.any() else float("nan")
    return {"perplexity": math.exp(min(mean, 50.0))}
