"""Seq2SeqTrainingArguments on its own: fields, parser, serialisation, imports (no transformers)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from trainer_args import HfArgumentParser, TrainingArguments
from trainer_seq2seq import Seq2SeqTrainingArguments

EXTRA = {
    "sortish_sampler": False,
    "predict_with_generate": False,
    "generation_max_length": None,
    "generation_num_beams": None,
    "generation_config": None,
}


class GenerationConfig:
    """Stands in for transformers.GenerationConfig (recognised by its class name)."""

    def __init__(self, **values):
        self.__dict__.update(values)

    def to_dict(self):
        return dict(self.__dict__)


def test_extra_fields_follow_the_base_fields_with_their_defaults():
    base = [f.name for f in dataclasses.fields(TrainingArguments)]
    fields = dataclasses.fields(Seq2SeqTrainingArguments)
    assert [f.name for f in fields] == base + list(EXTRA)
    args = Seq2SeqTrainingArguments()
    assert {name: getattr(args, name) for name in EXTRA} == EXTRA
    assert isinstance(args, TrainingArguments)
    for field in fields[len(base) :]:
        assert field.metadata["help"], field.name


def test_base_validation_still_runs():
    with pytest.raises(ValueError, match="did you mean 'steps'"):
        Seq2SeqTrainingArguments(eval_strategy="step")
    args = Seq2SeqTrainingArguments(eval_strategy="epoch", predict_with_generate=True)
    assert args.do_eval and args.predict_with_generate


def test_command_line_dict_and_json(tmp_path):
    parser = HfArgumentParser(Seq2SeqTrainingArguments)
    (args,) = parser.parse_args_into_dataclasses(
        [
            "--output_dir",
            "out",
            "--predict_with_generate",
            "--generation-max-length",
            "12",
            "--generation_num_beams",
            "3",
            "--generation_config",
            "some/folder",
            "--sortish_sampler",
            "true",
        ],
        look_for_args_file=False,
    )
    assert args.predict_with_generate and args.sortish_sampler
    assert (args.generation_max_length, args.generation_num_beams) == (12, 3)
    assert args.generation_config == "some/folder"
    (from_dict,) = parser.parse_dict({"output_dir": "out", "generation_num_beams": 2})
    assert from_dict.generation_num_beams == 2 and not from_dict.predict_with_generate
    path = tmp_path / "args.json"
    path.write_text(json.dumps(args.to_dict()))
    (again,) = parser.parse_json_file(path)
    assert again.to_dict() == args.to_dict()
    assert "predict_with_generate" in parser.format_help()


def test_to_dict_writes_a_generation_config_as_a_dict():
    config = GenerationConfig(max_length=7, num_beams=2)
    args = Seq2SeqTrainingArguments(generation_config=config, predict_with_generate=True)
    data = args.to_dict()
    assert data["generation_config"] == {"max_length": 7, "num_beams": 2}
    assert args.generation_config is config  # the field itself is left alone
    assert json.loads(args.to_json_string())["generation_config"]["num_beams"] == 2
    assert "generation_config" in repr(args)


def test_to_json_string_accepts_a_path():
    args = Seq2SeqTrainingArguments(generation_config=Path("gen") / "config.json")
    assert json.loads(args.to_json_string())["generation_config"] == str(Path("gen/config.json"))
    assert args.to_sanitized_dict()["generation_config"] == str(Path("gen/config.json"))


def test_importing_the_arguments_loads_no_torch():
    code = (
        "import sys, trainer_seq2seq; trainer_seq2seq.Seq2SeqTrainingArguments(output_dir='o'); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


def test_lazy_names():
    import trainer_seq2seq

    assert {"Seq2SeqTrainer", "Seq2SeqTrainingArguments"} <= set(dir(trainer_seq2seq))
    assert trainer_seq2seq.Seq2SeqTrainer.__name__ == "Seq2SeqTrainer"
    with pytest.raises(AttributeError, match="no attribute"):
        trainer_seq2seq.NotAThing  # noqa: B018


def test_meta_package_re_exports_both():
    trainer = pytest.importorskip("trainer")
    if getattr(trainer, "__file__", None) is None:  # tests/trainer, a namespace package
        pytest.skip("the trainer meta-package is not installed")
    import trainer_seq2seq

    assert trainer.Seq2SeqTrainingArguments is Seq2SeqTrainingArguments
    assert trainer.Seq2SeqTrainer is trainer_seq2seq.Seq2SeqTrainer
    assert {"Seq2SeqTrainer", "Seq2SeqTrainingArguments"} <= set(trainer.__all__)
