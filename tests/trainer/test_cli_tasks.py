"""How ``trainer train`` turns columns into model inputs for each task (no training)."""

from __future__ import annotations

import pytest
from helpers.trainer_cli import write_yaml
from trainer.config import load_config

datasets = pytest.importorskip("datasets")


def _config(tmp_path, task, tokenizer, **data):
    (tmp_path / "x.txt").write_text("x\n")
    raw = {
        "task": task,
        "model": {"factory": "trainer.tiny_gpt:build_tiny_gpt", "tokenizer": tokenizer},
        "data": {"train": "x.txt", **data},
    }
    return load_config(write_yaml(tmp_path / "run.yaml", raw))


def test_causal_lm_packs_blocks_with_end_of_text_between_documents(tmp_path):
    from trainer.byte_tokenizer import ByteTokenizer
    from trainer.tasks import prepare

    config = _config(tmp_path, "causal-lm", "byte", max_length=4)
    splits = {"train": datasets.Dataset.from_dict({"text": ["abc", "defgh"]})}
    prepared = prepare(config, splits, ByteTokenizer())
    rows = prepared.splits["train"]["input_ids"]
    assert rows == [[97, 98, 99, 256], [100, 101, 102, 103]]  # the tail "h<eos>" is dropped
    assert prepared.splits["train"]["labels"] == rows


def test_causal_lm_without_packing_pads_per_batch_and_ignores_padding(tmp_path):
    from trainer.byte_tokenizer import ByteTokenizer
    from trainer.tasks import prepare

    config = _config(tmp_path, "causal-lm", "byte", max_length=4, packing=False)
    splits = {"train": datasets.Dataset.from_dict({"text": ["ab", "cdefgh"]})}
    prepared = prepare(config, splits, ByteTokenizer())
    batch = prepared.collator(list(prepared.splits["train"]))
    assert batch["input_ids"].tolist() == [[97, 98, 256, 256], [99, 100, 101, 102]]
    assert batch["labels"].tolist() == [[97, 98, 256, -100], [99, 100, 101, 102]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 0], [1, 1, 1, 1]]


def test_perplexity_counts_only_predicted_tokens():
    import math

    import numpy as np
    from trainer.lm_data import perplexity
    from trainer_loop import EvalPrediction

    losses = np.array([[1.0, 3.0, 0.0]])  # the loss of predicting token t+1 at t
    labels = np.array([[5, 6, 7, -100]])
    assert perplexity(EvalPrediction(losses, labels))["perplexity"] == pytest.approx(math.e**2)


def test_text_pairs_and_given_label_names(tmp_path):
    pytest.importorskip("transformers")
    from trainer.local_tokenizer import train_tokenizer
    from trainer.tasks import prepare

    config = _config(
        tmp_path,
        "sequence-classification",
        {"train": "wordlevel"},
        text_column="a",
        text_pair_column="b",
        labels=["no", "yes"],
    )
    splits = {
        "train": datasets.Dataset.from_dict(
            {"a": ["sea boat", "town"], "b": ["boat", "sea"], "label": ["yes", "no"]}
        )
    }
    tokenizer = train_tokenizer({"train": "wordlevel"}, config.task, ["sea boat town"])
    prepared = prepare(config, splits, tokenizer)
    row = prepared.splits["train"][0]
    assert tokenizer.convert_ids_to_tokens(row["input_ids"]) == [
        "[CLS]", "sea", "boat", "[SEP]", "boat", "[SEP]",
    ]  # fmt: skip
    assert prepared.splits["train"]["labels"] == [1, 0]
    assert prepared.labels == ["no", "yes"]
    splits["train"] = splits["train"].map(lambda r: {"label": "maybe"})
    with pytest.raises(
        ValueError,
        match=r"label 'maybe' in column 'label' is not one of data.labels: \['no', 'yes'\]",
    ):
        prepare(config, splits, tokenizer)


def test_token_classification_tags_the_first_piece_of_each_word(tmp_path):
    pytest.importorskip("transformers")
    from trainer.local_tokenizer import train_tokenizer
    from trainer.tasks import prepare

    config = _config(tmp_path, "token-classification", {"train": "wordpiece"})
    tokenizer = train_tokenizer(
        {"train": "wordpiece", "vocab_size": 200},
        config.task,
        ["harbour sea harbour sea boats"] * 5,
    )
    splits = {
        "train": datasets.Dataset.from_dict({"tokens": [["sea", "harbours"]], "tags": [["B", "A"]]})
    }
    prepared = prepare(config, splits, tokenizer)
    row = prepared.splits["train"][0]
    pieces = tokenizer.convert_ids_to_tokens(row["input_ids"])
    assert pieces[0] == "[CLS]" and pieces[-1] == "[SEP]" and len(pieces) > 4
    assert prepared.labels == ["A", "B"]
    assert row["labels"][:3] == [-100, 1, 0] and set(row["labels"][3:]) == {-100}
