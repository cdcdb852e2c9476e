"""Padding-free batches: :class:`DataCollatorWithFlattening` joins a batch into one sequence."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._collate import DefaultDataCollator, _check_return_tensors

__all__ = ["DataCollatorWithFlattening"]

# Keys that get a leading batch dimension of 1, and which of them are int64 (the rest int32).
_BATCHED = ("input_ids", "labels", "position_ids", "seq_idx")
_INT64 = ("input_ids", "labels", "position_ids")
# Kept as plain Python ints (flash-attention's maximum lengths).
_PLAIN = ("max_length_q", "max_length_k")


def _as_list(values: Any) -> list[int]:
    return values.tolist() if hasattr(values, "tolist") else list(values)


class DataCollatorWithFlattening(DefaultDataCollator):
    """Concatenate the examples of a batch into one row of shape ``(1, total_tokens)``, unpadded.

    ``input_ids`` are joined end to end; ``labels`` (the example's ``labels``, or its
    ``input_ids`` when it has none) are joined with each example's first label replaced by
    ``separator_id``, so no token is predicted across an example boundary. ``position_ids``
    restart at 0 for every example, which is how attention implementations that support packed
    sequences (flash-attention, SDPA with position-id masking) tell the examples apart.

    Args:
        return_position_ids: add ``position_ids`` (default ``True``).
        separator_id: label put at each example's first position (default ``-100``).
        return_flash_attn_kwargs: add ``cu_seq_lens_q``/``cu_seq_lens_k`` (cumulative lengths,
            int32) and ``max_length_q``/``max_length_k`` (Python ints).
        return_seq_idx: add ``seq_idx``, the example index of every token (int32).

    ``return_tensors`` (``"pt"``, the default, or ``"np"``) is passed on to
    :class:`DefaultDataCollator`, as are any other arguments.

    The model's attention must understand packed sequences; an ordinary causal mask lets tokens
    attend across example boundaries.
    """

    def __init__(
        self,
        *args: Any,
        return_position_ids: bool = True,
        separator_id: int = -100,
        return_flash_attn_kwargs: bool = False,
        return_seq_idx: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.return_position_ids = return_position_ids
        self.separator_id = separator_id
        self.return_flash_attn_kwargs = return_flash_attn_kwargs
        self.return_seq_idx = return_seq_idx

    def __call__(
        self,
        features: list[Any],
        return_tensors: str | None = None,
        separator_id: int | None = None,
    ) -> dict[str, Any]:
        kind = _check_return_tensors(return_tensors or self.return_tensors)
        separator = self.separator_id if separator_id is None else separator_id
        with_labels = "labels" in features[0]
        batch: dict[str, Any] = {"input_ids": [], "labels": []}
        if self.return_position_ids:
            batch["position_ids"] = []
        if self.return_seq_idx:
            batch["seq_idx"] = []
        boundaries, longest = [0], 0
        for index, example in enumerate(features):
            ids = _as_list(example["input_ids"])
            labels = _as_list(example["labels"]) if with_labels else ids
            batch["input_ids"] += ids
            batch["labels"] += [separator] + labels[1:]
            if self.return_position_ids:
                batch["position_ids"] += list(range(len(ids)))
            if self.return_seq_idx:
                batch["seq_idx"] += [index] * len(ids)
            boundaries.append(boundaries[-1] + len(ids))
            longest = max(longest, len(ids))
        if self.return_flash_attn_kwargs:
            batch["cu_seq_lens_q"] = batch["cu_seq_lens_k"] = boundaries
            batch["max_length_q"] = batch["max_length_k"] = longest
        make = torch.tensor if kind == "pt" else np.array
        wide, narrow = (torch.int64, torch.int32) if kind == "pt" else (np.int64, np.int32)
        for key, value in batch.items():
            if key in _PLAIN:
                continue
            value = [value] if key in _BATCHED else value
            batch[key] = make(value, dtype=wide if key in _INT64 else narrow)
        return batch
