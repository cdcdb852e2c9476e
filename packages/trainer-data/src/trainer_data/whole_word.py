"""Whole-word masking helpers: which tokens start a word, and spreading a mask over whole words.

Words are found from the tokenizer's offset mapping (``return_offsets_mapping=True``, a fast
tokenizer): a token starts a new word when it is not a special token and either does not touch the
previous token's end or follows a special token. Only word starts are drawn for masking; a drawn
start then masks every token of its word.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["expand_to_words", "word_ids_and_blocked"]


def as_numpy(values: Any) -> np.ndarray:
    """``values`` (tensor, array or nested lists) as a numpy array."""
    if isinstance(values, np.ndarray):
        return values
    if hasattr(values, "detach"):
        return values.detach().cpu().numpy()
    return np.array(values)


def word_ids_and_blocked(offsets: Any, special_tokens_mask: Any) -> tuple[np.ndarray, np.ndarray]:
    """Word index of every token (``-1`` for special tokens) and the tokens never drawn.

    ``offsets`` has shape ``(batch, length, 2)`` (character start and end of each token) and
    ``special_tokens_mask`` shape ``(batch, length)``. The second result is true for every token
    that is not the first token of a word (special tokens included).
    """
    if offsets is None:
        raise ValueError(
            "whole_word_mask=True needs each example's 'offset_mapping': tokenize with "
            "return_offsets_mapping=True (a fast tokenizer)."
        )
    offsets = as_numpy(offsets)
    special = as_numpy(special_tokens_mask).astype(bool)
    starts, ends = offsets[:, :, 0], offsets[:, :, 1]
    previous_end = np.roll(ends, 1, axis=1)
    previous_end[:, 0] = -1
    previous_special = np.roll(special, 1, axis=1)
    previous_special[:, 0] = False
    new_word = ~special & ((starts != previous_end) | previous_special)
    word_ids = np.cumsum(new_word, axis=1)
    word_ids[special] = -1
    return word_ids, ~new_word


def expand_to_words(word_ids: np.ndarray, selected: Any) -> np.ndarray:
    """Select every token whose word has a selected token (``selected`` has the batch's shape)."""
    selected = as_numpy(selected).astype(bool)
    valid = word_ids != -1
    same_word = (
        (word_ids[:, :, None] == word_ids[:, None, :]) & valid[:, :, None] & valid[:, None, :]
    )
    return np.any(same_word & selected[:, None, :], axis=2)
