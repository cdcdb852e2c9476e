"""``trainer train`` configs: unknown keys and bad values fail early, naming key and allowed keys."""

from __future__ import annotations

import pytest
from helpers.trainer_cli import write_yaml
from trainer.config import load_config, training_arguments


def _base(tmp_path, **changes) -> dict:
    (tmp_path / "train.txt").write_text("one\n\ntwo\n")
    data = {
        "task": "causal-lm",
        "model": {"factory": "trainer.tiny_gpt:build_tiny_gpt", "tokenizer": "byte"},
        "data": {"train": "train.txt"},
        "training": {"output_dir": str(tmp_path / "out"), "report_to": "none"},
    }
    for key, value in changes.items():
        section, _, leaf = key.partition("__")
        if leaf:
            data[section][leaf] = value
        else:
            data[section] = value
    return data


def _load(tmp_path, **changes):
    return load_config(write_yaml(tmp_path / "run.yaml", _base(tmp_path, **changes)))


def test_a_valid_config_resolves_paths_next_to_the_file(tmp_path):
    config = _load(tmp_path)
    assert config.task == "causal-lm"
    assert config.data.train == str(tmp_path / "train.txt")
    assert config.model.tokenizer == "byte"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"trainig": {}},
            r"unknown key 'trainig' in the config \(did you mean 'training'\?\); allowed: data, model, task, training",
        ),
        (
            {"model__pth": "x"},
            r"unknown key 'pth' in section 'model' \(did you mean 'path'\?\); allowed: config, factory, kwargs, path, tokenizer",
        ),
        (
            {"data__text_col": "x"},
            r"unknown key 'text_col' in section 'data' \(did you mean 'text_column'\?\); allowed: .*max_length",
        ),
        (
            {"model__tokenizer": {"train": "bpe", "size": 10}},
            r"unknown key 'size' in model.tokenizer; allowed: lowercase, train, vocab_size",
        ),
    ],
)
def test_unknown_keys_name_the_key_and_the_allowed_ones(tmp_path, changes, message):
    with pytest.raises(ValueError, match=message):
        _load(tmp_path, **changes)


def test_unknown_training_field_names_the_allowed_fields(tmp_path):
    config = _load(tmp_path, training={"output_dir": "o", "learning_rat": 0.1})
    with pytest.raises(
        ValueError,
        match=r"unknown key 'learning_rat' in section 'training' \(did you mean 'learning_rate'\?\); allowed: .*weight_decay",
    ):
        training_arguments(config)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"task": "translation"},
            r"task='translation' is not supported; allowed: causal-lm, sequence-classification, token-classification, seq2seq",
        ),
        ({"model": {"path": "a", "factory": "b:c"}}, r"exactly one of path, config or factory"),
        ({"model": {"factory": "no_colon"}}, r"model.factory='no_colon' must look like"),
        (
            {"model__tokenizer": {"train": "sentencepiece"}},
            r"model.tokenizer.train='sentencepiece'; allowed: bpe, wordpiece, wordlevel",
        ),
        ({"task": "seq2seq"}, r"model.tokenizer='byte' serves task causal-lm only"),
        ({"data": {}}, r"data.train is required"),
        ({"data__format": "xml"}, r"data.format='xml'; allowed: csv, json, parquet, text"),
        ({"data__validation_split": 1.5}, r"data.validation_split=1.5 must be in \[0, 1\)"),
    ],
)
def test_bad_values_fail_naming_the_field(tmp_path, changes, message):
    with pytest.raises(ValueError, match=message):
        _load(tmp_path, **changes)


def test_set_overrides_values_as_yaml(tmp_path):
    path = write_yaml(tmp_path / "run.yaml", _base(tmp_path))
    config = load_config(path, ["training.max_steps=7", "data.packing=false"])
    assert config.training["max_steps"] == 7
    assert config.data.packing is False
    with pytest.raises(ValueError, match="expected KEY=VALUE"):
        load_config(path, ["training.max_steps"])


def test_seq2seq_gets_seq2seq_arguments(tmp_path):
    config = _load(tmp_path, task="seq2seq", model__tokenizer={"train": "wordlevel"})
    config.training["predict_with_generate"] = True
    args = training_arguments(config)
    assert type(args).__name__ == "Seq2SeqTrainingArguments"
    assert args.predict_with_generate is True


def test_json_configs_work_too(tmp_path):
    import json

    path = tmp_path / "run.json"
    path.write_text(json.dumps(_base(tmp_path)))
    assert load_config(path).model.factory == "trainer.tiny_gpt:build_tiny_gpt"
