"""Masked and causal language-modelling collator."""

from __future__ import annotations

import multiprocessing
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ._collate import DataCollatorMixin, _check_return_tensors
from .whole_word import expand_to_words, word_ids_and_blocked

__all__ = ["DataCollatorForLanguageModeling"]


def _pad_rows(rows: list[Any], tokenizer: Any, multiple: int | None, kind: str) -> Any:
    """Stack token-id sequences, padding them with the tokenizer's pad token when needed."""
    if kind == "pt":
        rows = [
            r if isinstance(r, torch.Tensor) else torch.tensor(r, dtype=torch.long) for r in rows
        ]
    else:
        rows = [np.asarray(r, dtype=np.int64) if isinstance(r, (list, tuple)) else r for r in rows]
    longest = max(len(r) for r in rows)
    same = all(len(r) == longest for r in rows)
    if same and (multiple is None or longest % multiple == 0):
        return torch.stack(rows) if kind == "pt" else np.stack(rows)
    if tokenizer.pad_token is None:
        raise ValueError(
            f"The examples have different lengths and need padding, but the tokenizer "
            f"({type(tokenizer).__name__}) has no pad token; set `tokenizer.pad_token` first."
        )
    if multiple is not None and longest % multiple:
        longest = (longest // multiple + 1) * multiple
    if kind == "pt":
        out = rows[0].new_full((len(rows), longest), tokenizer.pad_token_id)
    else:
        out = np.full((len(rows), longest), tokenizer.pad_token_id, dtype=rows[0].dtype)
    right = tokenizer.padding_side == "right"
    for i, row in enumerate(rows):
        if right:
            out[i, : len(row)] = row
        else:
            out[i, len(out[i]) - len(row) :] = row
    return out


@dataclass
class DataCollatorForLanguageModeling(DataCollatorMixin):
    """Pad token sequences and build language-modelling labels.

    With ``mlm=True`` (masked LM) each non-special token is selected with probability
    ``mlm_probability``; selected tokens keep their id in ``labels`` (all others get ``-100``)
    and in ``input_ids`` are replaced by the mask token with probability ``mask_replace_prob``,
    by a random token with probability ``random_replace_prob``, and left as they are otherwise.
    With ``mlm=False`` (causal LM) ``labels`` is a copy of ``input_ids`` with padding set to
    ``-100``; the model shifts them itself.

    Examples may be mappings (padded with ``tokenizer.pad``; a ``special_tokens_mask`` key is
    used and removed) or plain sequences of token ids.

    ``seed`` makes masking reproducible: the collator draws from its own generator seeded with
    ``seed`` (``seed + worker id`` inside a DataLoader worker) instead of the global RNG. The
    draws are the same as transformers' collator with the same seed (transformers treats
    ``seed=0`` as "no seed"; here only ``None`` means that).

    ``whole_word_mask=True`` (masked LM only) draws whole words instead of tokens: examples must
    carry the tokenizer's ``offset_mapping`` (``return_offsets_mapping=True``), only the first
    token of each word is drawn, and a drawn word has all its tokens masked and replaced by the
    mask token (random replacement is turned off, with a warning).
    """

    tokenizer: Any
    mlm: bool = True
    whole_word_mask: bool = False
    mlm_probability: float | None = 0.15
    mask_replace_prob: float = 0.8
    random_replace_prob: float = 0.1
    pad_to_multiple_of: int | None = None
    return_tensors: str = "pt"
    seed: int | None = None
    generator: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        _check_return_tensors(self.return_tensors)
        if self.whole_word_mask and not self.mlm:
            raise ValueError(
                "whole_word_mask=True only applies to masked language modelling; pass mlm=True."
            )
        if self.mlm:
            if getattr(self.tokenizer, "mask_token", None) is None:
                raise ValueError(
                    "Masked language modelling needs a tokenizer with a mask token; this one has "
                    "none. Pass mlm=False for causal language modelling."
                )
            p = self.mlm_probability
            if p is None or not 0.0 <= p <= 1.0:
                raise ValueError(f"mlm_probability must be between 0 and 1, got {p!r}.")
            self.mlm_probability = float(p)
        for name in ("mask_replace_prob", "random_replace_prob"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value!r}.")
            setattr(self, name, float(value))
        if self.mask_replace_prob + self.random_replace_prob > 1:
            raise ValueError("mask_replace_prob + random_replace_prob must not exceed 1.")
        if self.whole_word_mask:
            if not getattr(self.tokenizer, "is_fast", True):
                warnings.warn(
                    "Whole-word masking reads the offset mapping, which only fast tokenizers give.",
                    UserWarning,
                    stacklevel=3,
                )
            if self.mask_replace_prob < 1:
                warnings.warn(
                    "Whole-word masking does not replace tokens at random; setting "
                    "mask_replace_prob=1 and random_replace_prob=0.",
                    UserWarning,
                    stacklevel=3,
                )
                self.mask_replace_prob, self.random_replace_prob = 1.0, 0.0

    # -- randomness ---------------------------------------------------------------------------

    def _ensure_generator(self, kind: str) -> None:
        if self.seed is None or self.generator is not None:
            return
        seed = self.seed
        if multiprocessing.current_process().name != "MainProcess":
            info = torch.utils.data.get_worker_info()
            if info is None:
                raise ValueError(
                    "A seeded DataCollatorForLanguageModeling used in a subprocess must run inside "
                    "a torch DataLoader worker, so that each worker gets its own seed."
                )
            seed += info.id
        self.generator = (
            torch.Generator().manual_seed(seed) if kind == "pt" else np.random.default_rng(seed)
        )

    def _np_binomial(self, p: Any, shape: tuple[int, ...]) -> np.ndarray:
        source = self.generator if self.generator is not None else np.random
        return source.binomial(1, p, size=shape).astype(bool)

    # -- batching -----------------------------------------------------------------------------

    def _collate(self, examples: list[Any], kind: str) -> dict[str, Any]:
        if isinstance(examples[0], Mapping):
            return self.tokenizer.pad(
                examples, return_tensors=kind, pad_to_multiple_of=self.pad_to_multiple_of
            )
        return {"input_ids": _pad_rows(examples, self.tokenizer, self.pad_to_multiple_of, kind)}

    def _special_mask(self, labels: Any, given: Any) -> Any:
        if given is not None:
            return given
        return [
            self.tokenizer.get_special_tokens_mask(row, already_has_special_tokens=True)
            for row in labels.tolist()
        ]

    def torch_call(self, examples: list[Any]) -> dict[str, Any]:
        self._ensure_generator("pt")
        batch = self._collate(examples, "pt")
        special = batch.pop("special_tokens_mask", None)
        offsets = batch.pop("offset_mapping", None)
        if self.mlm:
            batch["input_ids"], batch["labels"] = self.torch_mask_tokens(
                batch["input_ids"], special, offsets
            )
        else:
            labels = batch["input_ids"].clone()
            if self.tokenizer.pad_token_id is not None:
                labels[labels == self.tokenizer.pad_token_id] = -100
            batch["labels"] = labels
        return batch

    def numpy_call(self, examples: list[Any]) -> dict[str, Any]:
        self._ensure_generator("np")
        batch = self._collate(examples, "np")
        special = batch.pop("special_tokens_mask", None)
        offsets = batch.pop("offset_mapping", None)
        if self.mlm:
            batch["input_ids"], batch["labels"] = self.numpy_mask_tokens(
                batch["input_ids"], special, offsets
            )
        else:
            labels = np.copy(batch["input_ids"])
            if self.tokenizer.pad_token_id is not None:
                labels[labels == self.tokenizer.pad_token_id] = -100
            batch["labels"] = labels
        return batch

    # -- masking ------------------------------------------------------------------------------

    @staticmethod
    def _calc_word_ids_and_prob_mask(offsets: Any, special_tokens_mask: Any) -> tuple[Any, Any]:
        """Word index of each token (``-1`` for special tokens) and the tokens never drawn (all
        but the first token of each word), from the ``(batch, length, 2)`` offset mapping.

        transformers' name for this step; a subclass may override it (the masking calls it)."""
        return word_ids_and_blocked(offsets, special_tokens_mask)

    @staticmethod
    def _whole_word_mask(word_ids: Any, mask: Any) -> Any:
        """``mask`` spread to every token of each word that has a selected token (numpy array)."""
        return expand_to_words(word_ids, mask)

    def torch_mask_tokens(
        self, inputs: torch.Tensor, special_tokens_mask: Any = None, offset_mapping: Any = None
    ) -> tuple[Any, Any]:
        """Mask ``inputs`` in place for MLM; returns ``(inputs, labels)``."""
        gen = self.generator
        labels = inputs.clone()
        special = self._special_mask(labels, special_tokens_mask)
        word_ids = None
        if self.whole_word_mask:
            word_ids, blocked = self._calc_word_ids_and_prob_mask(offset_mapping, special)
            special = torch.from_numpy(blocked)
        special = (
            special.bool()
            if isinstance(special, torch.Tensor)
            else torch.tensor(special, dtype=torch.bool)
        )
        probs = torch.full(labels.shape, self.mlm_probability)
        probs.masked_fill_(special, 0.0)
        selected = torch.bernoulli(probs, generator=gen).bool()
        if word_ids is not None:
            selected = torch.from_numpy(self._whole_word_mask(word_ids, selected))
        labels[~selected] = -100
        to_mask = torch.bernoulli(
            torch.full(labels.shape, self.mask_replace_prob), generator=gen
        ).bool()
        to_mask &= selected
        inputs[to_mask] = self.tokenizer.convert_tokens_to_ids(self.tokenizer.mask_token)
        if self.mask_replace_prob == 1 or self.random_replace_prob == 0:
            return inputs, labels
        scaled = self.random_replace_prob / (1 - self.mask_replace_prob)
        to_random = torch.bernoulli(torch.full(labels.shape, scaled), generator=gen).bool()
        to_random &= selected & ~to_mask
        words = torch.randint(len(self.tokenizer), labels.shape, dtype=torch.long, generator=gen)
        inputs[to_random] = words[to_random]
        return inputs, labels

    def numpy_mask_tokens(
        self, inputs: np.ndarray, special_tokens_mask: Any = None, offset_mapping: Any = None
    ) -> tuple[Any, Any]:
        """Mask ``inputs`` in place for MLM (numpy); returns ``(inputs, labels)``."""
        labels = np.copy(inputs)
        special = self._special_mask(labels, special_tokens_mask)
        word_ids = None
        if self.whole_word_mask:
            word_ids, special = self._calc_word_ids_and_prob_mask(offset_mapping, special)
        special = (
            special.astype(bool)
            if isinstance(special, np.ndarray)
            else np.array(special, dtype=bool)
        )
        probs = np.full(labels.shape, self.mlm_probability)
        probs[special] = 0
        selected = self._np_binomial(probs, probs.shape)
        if word_ids is not None:
            selected = self._whole_word_mask(word_ids, selected)
        labels[~selected] = -100
        to_mask = self._np_binomial(self.mask_replace_prob, labels.shape) & selected
        inputs[to_mask] = self.tokenizer.mask_token_id
        if self.mask_replace_prob == 1 or self.random_replace_prob == 0:
            return inputs, labels
        scaled = self.random_replace_prob / (1 - self.mask_replace_prob)
        to_random = self._np_binomial(scaled, labels.shape) & selected & ~to_mask
        count = int(np.count_nonzero(to_random))
        high = len(self.tokenizer)
        if self.generator is not None:
            words = self.generator.integers(low=0, high=high, size=count, dtype=np.int64)
        else:
            words = np.random.randint(low=0, high=high, size=count, dtype=np.int64)
        inputs[to_random] = words
        return inputs, labels
