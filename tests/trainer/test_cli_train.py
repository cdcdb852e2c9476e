"""``trainer train CONFIG`` on every task with tiny local models and data files."""

from __future__ import annotations

import json

import pytest
from helpers.trainer_cli import TINY_BERT, TINY_GPT2, TINY_T5, model_config, training, write_yaml
from trainer.cli import main

pytest.importorskip("transformers")
pytest.importorskip("datasets")
pytestmark = pytest.mark.slow


def _results(output_dir) -> dict:
    return json.loads((output_dir / "all_results.json").read_text())


def _first_and_last_eval_loss(output_dir) -> tuple[float, float]:
    state = json.loads((output_dir / "trainer_state.json").read_text())
    losses = [e["eval_loss"] for e in state["log_history"] if "eval_loss" in e]
    return losses[0], losses[-1]


def test_causal_lm_with_own_factory_byte_tokenizer_and_text_files(tmp_path, text_files):
    config = {
        "task": "causal-lm",
        "model": {
            "factory": "trainer.tiny_gpt:build_tiny_gpt",
            "kwargs": {"n_embd": 32, "n_layer": 1, "n_head": 2, "n_positions": 32},
            "tokenizer": "byte",
        },
        "data": {"train": "train.txt", "validation": "valid.txt", "max_length": 32},
        "training": training(tmp_path, "lm", max_steps=12, eval_steps=6, save_steps=6),
    }
    assert main(["train", str(write_yaml(tmp_path / "lm.yaml", config))]) == 0
    out = tmp_path / "lm"
    results = _results(out)
    assert results["eval_perplexity"] < 257  # better than guessing among the 257 byte tokens
    assert (out / "model.safetensors").is_file() and (out / "byte_tokenizer.json").is_file()
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-12", "checkpoint-6"]


def test_causal_lm_with_a_transformers_config_and_a_trained_bpe(tmp_path, lm_jsonl):
    config = {
        "task": "causal-lm",
        "model": {
            "config": str(model_config(tmp_path, "gpt2", TINY_GPT2)),
            "tokenizer": {"train": "bpe", "vocab_size": 120},
        },
        "data": {"train": "lm.jsonl", "validation_split": 0.2, "max_length": 16},
        "training": training(tmp_path, "gpt2"),
    }
    main(["train", str(write_yaml(tmp_path / "gpt2.yaml", config))])
    out = tmp_path / "gpt2"
    first, last = _first_and_last_eval_loss(out)
    assert last < first
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert model.config.vocab_size == len(tokenizer)
    assert "eval_perplexity" in _results(out)


def test_sequence_classification_from_a_saved_model_folder_and_csv(tmp_path, classification_csv):
    from trainer.local_tokenizer import train_tokenizer
    from transformers import BertConfig, BertForSequenceClassification

    sentences = classification_csv["train"].read_text().splitlines()[1:]
    tokenizer = train_tokenizer(
        {"train": "wordpiece", "vocab_size": 80}, "sequence-classification", sentences
    )
    sizes = {k: v for k, v in TINY_BERT.items() if k != "model_type"}
    bert = BertForSequenceClassification(BertConfig(vocab_size=len(tokenizer), **sizes))
    bert.save_pretrained(tmp_path / "bert")
    tokenizer.save_pretrained(tmp_path / "bert")
    config = {
        "task": "sequence-classification",
        "model": {"path": "bert"},
        "data": {
            "train": "cls_train.csv",
            "validation": "cls_valid.csv",
            "text_column": "sentence",
        },
        "training": training(tmp_path, "cls", max_steps=12, eval_steps=12, save_steps=12),
    }
    main(["train", str(write_yaml(tmp_path / "cls.yaml", config))])
    out = tmp_path / "cls"
    saved = json.loads((out / "config.json").read_text())
    assert saved["id2label"] == {"0": "land", "1": "sea"}
    assert 0.0 <= _results(out)["eval_accuracy"] <= 1.0


def test_token_classification_with_json_and_word_level_tokenizer(tmp_path, tagging_json):
    config = {
        "task": "token-classification",
        "model": {
            "config": str(model_config(tmp_path, "bert", TINY_BERT)),
            "tokenizer": {"train": "wordlevel", "vocab_size": 50},
        },
        "data": {"train": "tags.json", "validation_split": 0.25},
        "training": training(tmp_path, "tags", max_steps=12, eval_steps=12, save_steps=12),
    }
    main(["train", str(write_yaml(tmp_path / "tags.yaml", config))])
    out = tmp_path / "tags"
    saved = json.loads((out / "config.json").read_text())
    assert set(saved["id2label"].values()) == {"NOUN", "O"}
    # every word is tagged, so accuracy is over real words only (-100 positions are skipped)
    assert _results(out)["eval_accuracy"] > 0.5


def test_seq2seq_with_parquet_and_generation(tmp_path, seq2seq_parquet):
    config = {
        "task": "seq2seq",
        "model": {
            "config": str(model_config(tmp_path, "t5", TINY_T5)),
            "tokenizer": {"train": "wordlevel", "vocab_size": 50},
        },
        "data": {"train": "pairs.parquet", "validation_split": 0.25, "max_target_length": 12},
        "training": training(tmp_path, "s2s", predict_with_generate=True, generation_max_length=12),
    }
    main(["train", str(write_yaml(tmp_path / "s2s.yaml", config))])
    results = _results(tmp_path / "s2s")
    assert "eval_exact_match" in results and "eval_loss" in results


def test_missing_column_names_the_key_and_the_columns(tmp_path, classification_csv):
    config = {
        "task": "sequence-classification",
        "model": {
            "config": str(model_config(tmp_path, "bert", TINY_BERT)),
            "tokenizer": {"train": "wordlevel"},
        },
        "data": {"train": "cls_train.csv"},
        "training": training(tmp_path, "bad", eval_strategy="no"),
    }
    path = write_yaml(tmp_path / "bad.yaml", config)
    with pytest.raises(
        ValueError,
        match=r"data.text_column='text' is not a column of the train split; columns: sentence, label",
    ):
        main(["train", str(path)])
