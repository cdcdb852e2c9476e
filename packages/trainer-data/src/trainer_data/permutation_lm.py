"""XLNet's permutation language modelling: :class:`DataCollatorForPermutationLanguageModeling`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from ._collate import DataCollatorMixin
from .language_modeling import _pad_rows

__all__ = ["DataCollatorForPermutationLanguageModeling"]


@dataclass
class DataCollatorForPermutationLanguageModeling(DataCollatorMixin):
    """Build ``input_ids``, ``perm_mask``, ``target_mapping`` and ``labels`` for XLNet.

    Along each sequence, spans of 1 to ``max_span_length`` tokens are masked, each inside a window
    of ``span / plm_probability`` tokens (so about ``plm_probability`` of the tokens are targets);
    special tokens and padding are never masked. ``perm_mask[b, i, j]`` is 1 where token ``i`` may
    not see token ``j`` under a random factorisation order drawn over the two halves of the
    sequence, which is why sequence lengths must be even. ``target_mapping`` is the identity
    (every position predicts itself; non-targets have label ``-100``).

    Random draws come from the global torch generator; ``return_tensors="np"`` converts the same
    tensors to numpy arrays.
    """

    tokenizer: Any
    plm_probability: float = 1 / 6
    max_span_length: int = 5
    return_tensors: str = "pt"

    def torch_call(self, examples: list[Any]) -> dict[str, Any]:
        if isinstance(examples[0], Mapping):
            examples = [e["input_ids"] for e in examples]
        ids = _pad_rows(list(examples), self.tokenizer, None, "pt")
        inputs, perm_mask, target_mapping, labels = self.torch_mask_tokens(ids)
        return {
            "input_ids": inputs,
            "perm_mask": perm_mask,
            "target_mapping": target_mapping,
            "labels": labels,
        }

    def numpy_call(self, examples: list[Any]) -> dict[str, Any]:
        return {k: v.numpy() for k, v in self.torch_call(examples).items()}

    def _spans(self, length: int) -> torch.Tensor:
        masked = torch.zeros(length, dtype=torch.bool)
        position = 0
        while position < length:
            span = int(torch.randint(1, self.max_span_length + 1, (1,)).item())
            window = int(span / self.plm_probability)
            start = position + int(torch.randint(window - span + 1, (1,)).item())
            masked[start : start + span] = True
            position += window
        return masked

    def torch_mask_tokens(self, inputs: torch.Tensor) -> tuple[Any, Any, Any, Any]:
        """Mask ``inputs`` in place; returns ``(inputs, perm_mask, target_mapping, labels)``."""
        if self.tokenizer.mask_token is None:
            raise ValueError(
                "Permutation language modelling needs a tokenizer with a mask token; this one has "
                "none."
            )
        batch, length = inputs.shape
        if length % 2:
            raise ValueError(
                f"Permutation language modelling needs even sequence lengths (got {length}); pad "
                "or truncate the examples to an even length."
            )
        labels = inputs.clone()
        masked = torch.stack([self._spans(length) for _ in range(batch)])
        target_mapping = torch.eye(length).expand(batch, length, length).clone()
        special = torch.tensor(
            [
                self.tokenizer.get_special_tokens_mask(row, already_has_special_tokens=True)
                for row in labels.tolist()
            ],
            dtype=torch.bool,
        )
        padding = (
            labels.eq(self.tokenizer.pad_token_id)
            if self.tokenizer.pad_token is not None
            else torch.zeros_like(special)
        )
        masked &= ~(special | padding)
        ordinary = ~(special | padding)
        inputs[masked] = self.tokenizer.mask_token_id
        labels[~masked] = -100
        perm_mask = torch.zeros(batch, length, length)
        half = length // 2
        for row in range(batch):
            # A factorisation order that permutes the two halves in step, so no token sees
            # across the half it would reuse.
            order = torch.arange(length).reshape(-1, half).transpose(0, 1)
            order = order[torch.randperm(half)].transpose(0, 1).flatten()
            order.masked_fill_(~masked[row] & ordinary[row], -1)
            perm_mask[row] = (order.reshape(length, 1) <= order.reshape(1, length)) & masked[row]
        return inputs.long(), perm_mask, target_mapping, labels.long()
