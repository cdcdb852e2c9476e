"""Collators that pad with a tokenizer for two task shapes: per-token labels and multiple choice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ._collate import DataCollatorMixin, _check_return_tensors

__all__ = ["DataCollatorForMultipleChoice", "DataCollatorForTokenClassification"]


def _label_key(feature: Any) -> str:
    return "label" if "label" in feature else "labels"


def _as_list(values: Any) -> list[Any]:
    return values.tolist() if hasattr(values, "tolist") else list(values)


@dataclass
class DataCollatorForTokenClassification(DataCollatorMixin):
    """Pad inputs with ``tokenizer.pad`` and per-token labels with ``label_pad_token_id``.

    Every key except the label key goes through ``tokenizer.pad``. The labels (key ``labels``, or
    ``label`` when the examples use that name, which is kept) are padded on the tokenizer's
    ``padding_side`` to the padded length of ``input_ids`` and returned as ``int64``. Examples
    without labels are padded like :class:`DataCollatorWithPadding` would.

    Args:
        tokenizer: an object with a transformers-style ``pad`` method and ``padding_side``.
        padding: ``True``/``"longest"``, ``"max_length"`` or ``False``/``"do_not_pad"``.
        max_length: target length for ``"max_length"`` padding.
        pad_to_multiple_of: round padded lengths up to a multiple of this.
        label_pad_token_id: value used to pad labels (``-100`` is ignored by torch losses).
        return_tensors: ``"pt"`` (default) or ``"np"``.
    """

    tokenizer: Any
    padding: Any = True
    max_length: int | None = None
    pad_to_multiple_of: int | None = None
    label_pad_token_id: int = -100
    return_tensors: str = "pt"

    def __post_init__(self) -> None:
        _check_return_tensors(self.return_tensors)

    def _padded_labels(self, labels: list[Any], length: int) -> list[list[int]]:
        left = getattr(self.tokenizer, "padding_side", "right") != "right"
        rows = []
        for label in labels:
            values = _as_list(label)
            fill = [self.label_pad_token_id] * (length - len(values))
            rows.append(fill + values if left else values + fill)
        return rows

    def _call(self, features: list[Any], kind: str) -> Any:
        key = _label_key(features[0])
        labels = [f[key] for f in features] if key in features[0] else None
        inputs = [{k: v for k, v in f.items() if k != key} for f in features]
        batch = self.tokenizer.pad(
            inputs,
            padding=self.padding,
            max_length=self.max_length,
            pad_to_multiple_of=self.pad_to_multiple_of,
            return_tensors=kind,
        )
        if labels is None:
            return batch
        rows = self._padded_labels(labels, int(batch["input_ids"].shape[1]))
        if kind == "pt":
            batch[key] = torch.tensor(rows, dtype=torch.int64)
        else:
            batch[key] = np.array(rows, dtype=np.int64)
        return batch

    def torch_call(self, features: list[Any]) -> Any:
        return self._call(features, "pt")

    def numpy_call(self, features: list[Any]) -> Any:
        return self._call(features, "np")


@dataclass
class DataCollatorForMultipleChoice(DataCollatorMixin):
    """Pad every choice of every example to one length; tensors come out ``(batch, choices, length)``.

    Each example holds, for every input key, one sequence per choice (``input_ids: [[...], [...]]``)
    and one label (key ``label`` or ``labels``) naming the right choice. All choices of the batch
    are padded together with ``tokenizer.pad``, reshaped to ``(batch, choices, length)``, and the
    labels are returned under ``labels`` as ``int64``.

    Args:
        tokenizer: an object with a transformers-style ``pad`` method.
        padding: ``True``/``"longest"``, ``"max_length"`` or ``False``/``"do_not_pad"``.
        max_length: target length for ``"max_length"`` padding.
        pad_to_multiple_of: round padded lengths up to a multiple of this.
        return_tensors: ``"pt"`` (default) or ``"np"``.
    """

    tokenizer: Any
    padding: Any = True
    max_length: int | None = None
    pad_to_multiple_of: int | None = None
    return_tensors: str = "pt"

    def __post_init__(self) -> None:
        _check_return_tensors(self.return_tensors)

    def _call(self, examples: list[Any], kind: str) -> dict[str, Any]:
        key = _label_key(examples[0])
        labels = [example[key] for example in examples]
        inputs = [{k: v for k, v in example.items() if k != key} for example in examples]
        choices = len(inputs[0]["input_ids"])
        flat = [{k: v[i] for k, v in example.items()} for example in inputs for i in range(choices)]
        padded = self.tokenizer.pad(
            flat,
            padding=self.padding,
            max_length=self.max_length,
            pad_to_multiple_of=self.pad_to_multiple_of,
            return_tensors=kind,
        )
        batch = {k: v.reshape(len(examples), choices, -1) for k, v in padded.items()}
        if kind == "pt":
            batch["labels"] = torch.tensor(labels, dtype=torch.int64)
        else:
            batch["labels"] = np.array(labels, dtype=np.int64)
        return batch

    def torch_call(self, examples: list[Any]) -> dict[str, Any]:
        return self._call(examples, "pt")

    def numpy_call(self, examples: list[Any]) -> dict[str, Any]:
        return self._call(examples, "np")
