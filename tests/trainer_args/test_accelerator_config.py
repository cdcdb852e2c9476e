"""``accelerator_config`` becomes an ``AcceleratorConfig`` with attribute access, as in transformers."""

from __future__ import annotations

import json
import pathlib

import pytest
from trainer_args import AcceleratorConfig, HfArgumentParser, TrainingArguments


def test_default_is_a_config_object_with_transformers_defaults():
    config = TrainingArguments(output_dir="out").accelerator_config
    assert isinstance(config, AcceleratorConfig)
    assert config.split_batches is False
    assert config.dispatch_batches is None
    assert config.even_batches is True
    assert config.use_seedable_sampler is True
    assert config.non_blocking is False
    assert config.gradient_accumulation_kwargs is None
    assert config.use_configured_state is False


@pytest.mark.parametrize(
    "given",
    [
        {"split_batches": True, "even_batches": False},
        '{"split_batches": true, "even_batches": false}',
        AcceleratorConfig(split_batches=True, even_batches=False),
    ],
    ids=["dict", "json-string", "instance"],
)
def test_every_form_gives_attribute_access(given):
    config = TrainingArguments(output_dir="out", accelerator_config=given).accelerator_config
    assert config.split_batches is True
    assert config.even_batches is False
    # code written against the old dict form keeps working
    assert config["split_batches"] is True
    assert config.get("non_blocking") is False
    assert dict(config.items())["even_batches"] is False


def test_json_and_yaml_files_as_str_or_path(tmp_path):
    json_file = tmp_path / "acc.json"
    json_file.write_text(json.dumps({"dispatch_batches": False, "non_blocking": True}))
    yaml_file = tmp_path / "acc.yaml"
    yaml_file.write_text(
        "split_batches: true\ngradient_accumulation_kwargs:\n  sync_each_batch: true\n"
    )
    for given in (json_file, str(json_file)):
        config = TrainingArguments(output_dir="out", accelerator_config=given).accelerator_config
        assert config.dispatch_batches is False and config.non_blocking is True
    pytest.importorskip("yaml")  # YAML files need the trainer-args[yaml] extra
    config = TrainingArguments(
        output_dir="out", accelerator_config=pathlib.Path(yaml_file)
    ).accelerator_config
    assert config.split_batches is True
    assert config.gradient_accumulation_kwargs == {"sync_each_batch": True}


def test_command_line_json_string():
    (args,) = HfArgumentParser(TrainingArguments).parse_args_into_dataclasses(
        ["--output_dir", "out", "--accelerator_config", '{"split_batches": true}']
    )
    assert args.accelerator_config.split_batches is True


def test_to_dict_is_plain_json():
    args = TrainingArguments(output_dir="out", accelerator_config={"even_batches": False})
    data = args.to_dict()["accelerator_config"]
    assert isinstance(data, dict) and data["even_batches"] is False
    json.loads(args.to_json_string())


def test_unknown_key_and_class_raise_as_transformers():
    with pytest.raises(TypeError, match="split_batch"):
        TrainingArguments(output_dir="out", accelerator_config={"split_batch": True})
    with pytest.raises(NotImplementedError, match="AcceleratorConfig"):
        TrainingArguments(output_dir="out", accelerator_config=AcceleratorConfig)
    with pytest.raises(ValueError, match="missing.json"):
        TrainingArguments(output_dir="out", accelerator_config="missing.json")


def test_same_values_and_error_types_as_transformers(tmp_path):
    transformers = pytest.importorskip("transformers")
    yaml_file = tmp_path / "acc.json"
    yaml_file.write_text(json.dumps({"split_batches": True}))
    for given in ({"even_batches": False}, str(yaml_file), None):
        ours = TrainingArguments(output_dir="out", accelerator_config=given).accelerator_config
        theirs = transformers.TrainingArguments(
            output_dir="out", accelerator_config=given, use_cpu=True
        ).accelerator_config
        for name in ("split_batches", "dispatch_batches", "even_batches", "non_blocking"):
            assert getattr(ours, name) == getattr(theirs, name), name
    for bad, error in (({"split_batch": True}, TypeError), (dict, NotImplementedError)):
        with pytest.raises(error):
            transformers.TrainingArguments(output_dir="out", accelerator_config=bad)
        with pytest.raises(error):
            TrainingArguments(output_dir="out", accelerator_config=bad)
