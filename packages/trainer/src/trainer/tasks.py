"""Per-task preparation for ``trainer train``: tokenised splits, collator and metrics.

Each ``prepare_*`` returns a :class:`Prepared`; :func:`prepare` picks the one for the task.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from trainer import lm_data
from trainer.data_loading import require_columns

DEFAULT_TEXT = {"seq2seq": "source"}


@dataclass
class Prepared:
    """What the Trainer needs besides the model and the arguments."""

    splits: dict[str, Any]
    collator: Callable
    compute_metrics: Callable | None = None
    preprocess_logits_for_metrics: Callable | None = None
    labels: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def text_column(config: Any) -> str:
    """The configured text column, or the task's default (``source`` for seq2seq, else ``text``)."""
    return config.data.text_column or DEFAULT_TEXT.get(config.task, "text")


def check_columns(config: Any, splits: dict[str, Any]) -> None:
    """Fail early, naming the ``data`` key and the columns present, when a column is missing."""
    data = config.data
    needed = {
        "causal-lm": {"text_column": text_column(config)},
        "sequence-classification": {
            "text_column": text_column(config),
            "text_pair_column": data.text_pair_column,
            "label_column": data.label_column,
        },
        "token-classification": {
            "tokens_column": data.tokens_column,
            "tags_column": data.tags_column,
        },
        "seq2seq": {"text_column": text_column(config), "target_column": data.target_column},
    }[config.task]
    for name, dataset in splits.items():
        columns = dict(needed)
        if name == "test" and config.task == "sequence-classification":
            columns.pop("label_column")
        require_columns(dataset, name, columns)


def training_texts(config: Any, train: Any):
    """Every text of the training split that a trained tokenizer should see."""
    data = config.data
    if config.task == "token-classification":
        for tokens in train[data.tokens_column]:
            yield " ".join(tokens)
        return
    columns = [text_column(config)]
    if config.task == "seq2seq":
        columns.append(data.target_column)
    if data.text_pair_column:
        columns.append(data.text_pair_column)
    for column in columns:
        yield from (str(v) for v in train[column])


def _label_names(config: Any, train: Any, values_of: Callable[[Any], list[Any]]) -> list[str]:
    if config.data.labels:
        return [str(v) for v in config.data.labels]
    values = values_of(train)
    if all(isinstance(v, int) for v in values):
        return [str(i) for i in range(max(values) + 1)]
    return sorted({str(v) for v in values})


def _to_id(names: list[str], value: Any, column: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
        return value
    try:
        return names.index(str(value))
    except ValueError:
        raise ValueError(
            f"label {value!r} in column {column!r} is not one of data.labels: {names}"
        ) from None


def _accuracy(prediction: Any) -> dict[str, float]:
    import numpy as np

    predicted = np.asarray(prediction.predictions).argmax(-1)
    labels = np.asarray(prediction.label_ids)
    mask = labels != -100
    return {"accuracy": float((predicted[mask] == labels[mask]).mean())}


def prepare_causal_lm(config: Any, splits: dict[str, Any], tokenizer: Any) -> Prepared:
    """Texts to packed blocks of ``max_length`` tokens (or one truncated example per text)."""
    column = text_column(config)
    out = {}
    for name, dataset in splits.items():
        texts = [str(t) for t in dataset[column]]
        if config.data.packing:
            out[name] = lm_data.packed_dataset(tokenizer, texts, config.data.max_length)
        else:
            out[name] = lm_data.truncated_dataset(tokenizer, texts, config.data.max_length)
    pad = getattr(tokenizer, "pad_token_id", None)
    if pad is None:
        pad = getattr(tokenizer, "eos_token_id", None)
    return Prepared(
        out,
        lm_data.CausalLMCollator(pad),
        compute_metrics=lm_data.perplexity,
        preprocess_logits_for_metrics=lm_data.token_losses,
    )


def prepare_sequence_classification(
    config: Any, splits: dict[str, Any], tokenizer: Any
) -> Prepared:
    """Text (and optional pair) columns to token ids, labels (names or ids) to class ids."""
    from trainer_data import DataCollatorWithPadding

    data = config.data
    column, pair = text_column(config), data.text_pair_column
    names = _label_names(config, splits["train"], lambda ds: ds[data.label_column])

    def encode(batch: dict[str, list[Any]]) -> dict[str, Any]:
        pairs = batch[pair] if pair else None
        out = tokenizer(batch[column], pairs, truncation=True, max_length=data.max_length)
        if data.label_column in batch:
            out["labels"] = [_to_id(names, v, data.label_column) for v in batch[data.label_column]]
        return out

    out = {
        name: ds.map(encode, batched=True, remove_columns=ds.column_names, keep_in_memory=True)
        for name, ds in splits.items()
    }
    return Prepared(out, DataCollatorWithPadding(tokenizer), _accuracy, labels=names)


class TokenClassificationCollator:
    """Pads the tokenizer's inputs with ``tokenizer.pad`` and ``labels`` with ``-100``."""

    def __init__(self, tokenizer: Any):
        self.tokenizer = tokenizer

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        labels = [f["labels"] for f in features]
        inputs = [{k: v for k, v in f.items() if k != "labels"} for f in features]
        batch = self.tokenizer.pad(inputs, return_tensors="pt")
        width = batch["input_ids"].shape[1]
        padded = torch.full((len(labels), width), -100, dtype=torch.long)
        for row, values in enumerate(labels):
            padded[row, : len(values)] = torch.as_tensor(values, dtype=torch.long)
        batch["labels"] = padded
        return batch


def prepare_token_classification(config: Any, splits: dict[str, Any], tokenizer: Any) -> Prepared:
    """Word lists and one tag per word; a word's first sub-token carries its tag."""
    data = config.data
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("token-classification needs a fast tokenizer (it maps tokens to words)")
    names = _label_names(
        config, splits["train"], lambda ds: [t for tags in ds[data.tags_column] for t in tags]
    )

    def encode(batch: dict[str, list[Any]]) -> dict[str, Any]:
        out = tokenizer(
            batch[data.tokens_column],
            is_split_into_words=True,
            truncation=True,
            max_length=data.max_length,
        )
        out["labels"] = []
        for row, tags in enumerate(batch[data.tags_column]):
            previous, aligned = None, []
            for word in out.word_ids(row):
                first = word is not None and word != previous
                aligned.append(_to_id(names, tags[word], data.tags_column) if first else -100)
                previous = word
            out["labels"].append(aligned)
        return out

    out = {
        name: ds.map(encode, batched=True, remove_columns=ds.column_names, keep_in_memory=True)
        for name, ds in splits.items()
    }
    return Prepared(out, TokenClassificationCollator(tokenizer), _accuracy, labels=names)


def prepare_seq2seq(config: Any, splits: dict[str, Any], tokenizer: Any) -> Prepared:
    """Source and target columns to ``input_ids`` and ``labels``; exact match when generating."""
    data = config.data
    column = text_column(config)

    def encode(batch: dict[str, list[Any]]) -> dict[str, Any]:
        out = tokenizer(batch[column], truncation=True, max_length=data.max_length)
        targets = tokenizer(
            text_target=batch[data.target_column],
            truncation=True,
            max_length=data.max_target_length,
        )
        out["labels"] = targets["input_ids"]
        return out

    def exact_match(prediction: Any) -> dict[str, float]:
        import numpy as np

        predicted = np.where(
            prediction.predictions < 0, tokenizer.pad_token_id, prediction.predictions
        )
        labels = np.where(prediction.label_ids < 0, tokenizer.pad_token_id, prediction.label_ids)
        said = tokenizer.batch_decode(predicted, skip_special_tokens=True)
        meant = tokenizer.batch_decode(labels, skip_special_tokens=True)
        return {
            "exact_match": float(np.mean([a.strip() == b.strip() for a, b in zip(said, meant)]))
        }

    out = {
        name: ds.map(encode, batched=True, remove_columns=ds.column_names, keep_in_memory=True)
        for name, ds in splits.items()
    }
    generating = bool(config.training.get("predict_with_generate", False))
    return Prepared(out, None, exact_match if generating else None)


PREPARE = {
    "causal-lm": prepare_causal_lm,
    "sequence-classification": prepare_sequence_classification,
    "token-classification": prepare_token_classification,
    "seq2seq": prepare_seq2seq,
}


def prepare(config: Any, splits: dict[str, Any], tokenizer: Any) -> Prepared:
    """Tokenise every split for ``config.task`` and pick its collator and metrics."""
    return PREPARE[config.task](config, splits, tokenizer)
