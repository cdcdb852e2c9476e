"""Older language-modelling collators transformers still exports: whole-word masking and SOP.

Both are deprecated in transformers 5.3.0 (a ``FutureWarning`` on construction) and kept here so
scripts that name them keep running.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from .language_modeling import DataCollatorForLanguageModeling, _pad_rows

__all__ = ["DataCollatorForSOP", "DataCollatorForWholeWordMask"]


class DataCollatorForWholeWordMask(DataCollatorForLanguageModeling):
    """:class:`DataCollatorForLanguageModeling` with ``mlm=True, whole_word_mask=True`` forced.

    Deprecated: use ``DataCollatorForLanguageModeling(tokenizer, whole_word_mask=True)``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        warnings.warn(
            "DataCollatorForWholeWordMask is deprecated; use "
            "DataCollatorForLanguageModeling(tokenizer, whole_word_mask=True) instead.",
            FutureWarning,
            stacklevel=2,
        )
        kwargs["mlm"] = True
        kwargs["whole_word_mask"] = True
        super().__init__(*args, **kwargs)


class DataCollatorForSOP(DataCollatorForLanguageModeling):
    """Masked LM plus sentence-order prediction (ALBERT pre-training).

    Examples carry ``input_ids``, ``token_type_ids`` (tensors) and ``sentence_order_label``. The
    batch gets masked ``input_ids`` and ``labels`` (80% mask token, 10% random token, 10%
    unchanged), an ``attention_mask`` that is 0 on masked positions and 1 elsewhere (padding
    included), the padded ``token_type_ids`` and the stacked ``sentence_order_label``. Masking
    draws from the global torch generator.

    Deprecated: use :class:`DataCollatorForLanguageModeling`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        warnings.warn(
            "DataCollatorForSOP is deprecated; use DataCollatorForLanguageModeling instead.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__(*args, **kwargs)

    def __call__(self, examples: list[dict[str, Any]], return_tensors: str | None = None) -> Any:
        from torch.nn.utils.rnn import pad_sequence

        ids = _pad_rows([e["input_ids"] for e in examples], self.tokenizer, None, "pt")
        ids, labels, attention = self.mask_tokens(ids)
        token_types = pad_sequence(
            [torch.as_tensor(e["token_type_ids"]) for e in examples],
            batch_first=True,
            padding_value=self.tokenizer.pad_token_id,
        )
        order = torch.stack([torch.as_tensor(e["sentence_order_label"]) for e in examples])
        return {
            "input_ids": ids,
            "labels": labels,
            "attention_mask": attention,
            "token_type_ids": token_types,
            "sentence_order_label": order,
        }

    def mask_tokens(self, inputs: torch.Tensor) -> tuple[Any, Any, Any]:
        """Mask ``inputs`` in place; returns ``(inputs, labels, attention_mask)``."""
        labels = inputs.clone()
        blocked = torch.tensor(
            [
                self.tokenizer.get_special_tokens_mask(row, already_has_special_tokens=True)
                for row in labels.tolist()
            ],
            dtype=torch.bool,
        )
        padding = (
            labels.eq(self.tokenizer.pad_token_id)
            if self.tokenizer.pad_token is not None
            else torch.zeros_like(blocked)
        )
        probs = torch.full(labels.shape, self.mlm_probability)
        probs.masked_fill_(blocked | padding, 0.0)
        selected = torch.bernoulli(probs).bool()
        attention = (~selected).float()
        attention.masked_fill_(padding, 1.0)
        labels[~selected] = -100
        replaced = torch.bernoulli(torch.full(labels.shape, 0.8)).bool() & selected
        inputs[replaced] = self.tokenizer.convert_tokens_to_ids(self.tokenizer.mask_token)
        randomised = torch.bernoulli(torch.full(labels.shape, 0.5)).bool() & selected & ~replaced
        words = torch.randint(len(self.tokenizer), labels.shape, dtype=torch.long)
        inputs[randomised] = words[randomised]
        return inputs, labels, attention
