"""Collators that pad with a tokenizer: :class:`DataCollatorWithPadding` and :class:`DataCollatorForSeq2Seq`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ._collate import _check_return_tensors

__all__ = ["DataCollatorForSeq2Seq", "DataCollatorWithPadding"]


def _no_padding(padding: Any) -> bool:
    # Works for booleans, plain strings and transformers' PaddingStrategy (a str enum).
    return padding is False or padding == "do_not_pad"


def _rename_labels(batch: Any) -> Any:
    for key in ("label", "label_ids"):
        if key in batch:
            batch["labels"] = batch[key]
            del batch[key]
    return batch


@dataclass
class DataCollatorWithPadding:
    """Pad a list of tokenized examples to a common length with ``tokenizer.pad``.

    Args:
        tokenizer: any object with a transformers-style ``pad(features, padding=..., max_length=...,
            pad_to_multiple_of=..., return_tensors=...)`` method (a tokenizer or feature extractor).
        padding: ``True``/``"longest"`` pads to the longest example of the batch, ``"max_length"``
            to ``max_length``, ``False``/``"do_not_pad"`` leaves the lengths alone.
        max_length: the target length for ``"max_length"`` padding (and truncation limit).
        pad_to_multiple_of: round the padded length up to a multiple of this (e.g. 8 for tensor
            cores).
        return_tensors: ``"pt"`` (default) or ``"np"``.

    ``label`` and ``label_ids`` keys are renamed ``labels`` after padding.
    """

    tokenizer: Any
    padding: Any = True
    max_length: int | None = None
    pad_to_multiple_of: int | None = None
    return_tensors: str = "pt"

    def __post_init__(self) -> None:
        _check_return_tensors(self.return_tensors)

    def __call__(self, features: list[dict[str, Any]]) -> Any:
        batch = self.tokenizer.pad(
            features,
            padding=self.padding,
            max_length=self.max_length,
            pad_to_multiple_of=self.pad_to_multiple_of,
            return_tensors=self.return_tensors,
        )
        return _rename_labels(batch)


def _round_up(length: int, multiple: int | None) -> int:
    if multiple is None:
        return length
    return (length + multiple - 1) // multiple * multiple


def _as_list(label: Any) -> list[int]:
    return label.tolist() if hasattr(label, "tolist") else list(label)


@dataclass
class DataCollatorForSeq2Seq:
    """Pad encoder inputs with the tokenizer and labels with ``label_pad_token_id``.

    Inputs (everything except the label key) go through ``tokenizer.pad``. Labels (key ``labels``,
    or ``label`` when present) are padded by hand on the tokenizer's ``padding_side`` to the
    longest label of the batch (or ``max_length`` with ``padding="max_length"``), rounded up to
    ``pad_to_multiple_of``, and always returned as ``int64`` under ``labels`` (``None`` when the
    examples carry no labels). When ``model`` has ``prepare_decoder_input_ids_from_labels`` the
    batch also gets ``decoder_input_ids`` built from the padded labels.

    Args:
        tokenizer: an object with a transformers-style ``pad`` method and ``padding_side``.
        model: optional model used to build ``decoder_input_ids``.
        padding: as in :class:`DataCollatorWithPadding`.
        max_length: target length for ``"max_length"`` padding.
        pad_to_multiple_of: round padded lengths up to a multiple of this.
        label_pad_token_id: value used to pad labels (``-100`` is ignored by torch losses).
        return_tensors: ``"pt"`` (default) or ``"np"``.
    """

    tokenizer: Any
    model: Any | None = None
    padding: Any = True
    max_length: int | None = None
    pad_to_multiple_of: int | None = None
    label_pad_token_id: int = -100
    return_tensors: str = "pt"

    def __post_init__(self) -> None:
        _check_return_tensors(self.return_tensors)

    def _pad_labels(self, labels: list[Any]) -> list[Any]:
        if _no_padding(self.padding):
            return [
                lab if isinstance(lab, list) else np.asarray(lab, dtype=np.int64) for lab in labels
            ]
        if self.padding == "max_length" and self.max_length is not None:
            target = self.max_length
        else:
            target = max(len(lab) for lab in labels)
        target = _round_up(target, self.pad_to_multiple_of)
        pad_id = self.label_pad_token_id
        left = getattr(self.tokenizer, "padding_side", "right") != "right"
        padded = []
        for lab in labels:
            values = _as_list(lab)
            fill = [pad_id] * (target - len(values))
            padded.append(fill + values if left else values + fill)
        return padded

    def __call__(self, features: list[dict[str, Any]], return_tensors: str | None = None) -> Any:
        kind = _check_return_tensors(return_tensors or self.return_tensors)
        label_key = "label" if "label" in features[0] else "labels"
        labels = [f[label_key] for f in features] if label_key in features[0] else None
        if labels is not None and all(lab is None for lab in labels):
            labels = None
        inputs = [{k: v for k, v in f.items() if k != label_key} for f in features]
        batch = self.tokenizer.pad(
            inputs,
            padding=self.padding,
            max_length=self.max_length,
            pad_to_multiple_of=self.pad_to_multiple_of,
            return_tensors=kind,
        )
        if labels is None:
            batch["labels"] = None
            return batch
        padded = self._pad_labels(labels)
        if kind == "pt":
            batch["labels"] = torch.tensor(padded, dtype=torch.int64)
        else:
            batch["labels"] = np.array(padded, dtype=np.int64)
        prepare = getattr(self.model, "prepare_decoder_input_ids_from_labels", None)
        if prepare is not None:
            batch["decoder_input_ids"] = prepare(labels=batch["labels"])
        return batch
