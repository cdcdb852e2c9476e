"""HfArgumentParser: dataclasses to argparse, args files, dict, JSON and YAML."""

import builtins
import dataclasses
import json
import sys
from argparse import Namespace
from enum import Enum
from typing import Literal

import pytest
from trainer_args import (
    HfArg,
    HfArgumentParser,
    IntervalStrategy,
    TrainingArguments,
    string_to_bool,
)


class Color(str, Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass
class Example:
    name: str = HfArg(default="n", help="the name", aliases=["-n"])
    count: int = 1
    ratio: float | None = None
    flag: bool = False
    on: bool = True
    maybe: bool | None = None
    color: Color = Color.RED
    mode: Literal["a", "b"] = "a"
    items: list[int] = dataclasses.field(default_factory=lambda: [1, 2])
    text_or_flag: str | bool = "no"
    options: dict | None = None


@dataclasses.dataclass
class Other:
    _argument_group_name = "other options"
    path: str = "p"
    required_value: int = 5


def parse(argv, *types, **kwargs):
    parser = HfArgumentParser(types or Example)
    return parser.parse_args_into_dataclasses(argv, look_for_args_file=False, **kwargs)


def test_defaults():
    (ex,) = parse([])
    # like argparse (and transformers), a string default goes through the option's type
    assert ex == dataclasses.replace(Example(), text_or_flag=False)


def test_types_and_choices():
    argv = [
        "--name", "x", "--count", "3", "--ratio", "0.5", "--flag", "--no_on", "--maybe", "false",
        "--color", "blue", "--mode", "b", "--items", "4", "5", "6", "--text_or_flag", "non_padding",
        "--options", '{"k": 1}',
    ]  # fmt: skip
    (ex,) = parse(argv)
    assert (ex.name, ex.count, ex.ratio, ex.flag, ex.on, ex.maybe) == (
        "x",
        3,
        0.5,
        True,
        False,
        False,
    )
    assert ex.color == "blue" and ex.mode == "b" and ex.items == [4, 5, 6]
    assert ex.text_or_flag == "non_padding" and ex.options == {"k": 1}


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--flag"], True),
        (["--flag", "yes"], True),
        (["--flag", "0"], False),
        (["--flag=true"], True),
    ],
)
def test_bool_with_optional_value(argv, expected):
    assert parse(argv)[0].flag is expected


def test_dashes_aliases_and_negation():
    (ex,) = parse(["--text-or-flag", "-n", "alias", "--no-on"])
    assert ex.text_or_flag is True and ex.name == "alias" and ex.on is False


def test_invalid_choice_and_bool_exit():
    with pytest.raises(SystemExit):
        parse(["--color", "green"])
    with pytest.raises(SystemExit):
        parse(["--flag", "maybe"])


def test_string_to_bool():
    assert string_to_bool("Y") is True and string_to_bool("off".replace("off", "n")) is False
    assert string_to_bool(True) is True


def test_help_lists_metadata(capsys):
    with pytest.raises(SystemExit):
        HfArgumentParser(TrainingArguments).parse_args(["--help"])
    out = capsys.readouterr().out
    assert "--per_device_train_batch_size" in out and "--no_log_on_each_node" in out
    assert "Training batch size on each device." in out


def test_training_arguments_from_command_line():
    (args,) = parse(
        ["--output_dir", "o", "--eval_strategy", "steps", "--fsdp", "full_shard auto_wrap", "--debug",
         "underflow_overflow", "--report_to", "wandb", "tensorboard", "--use_cpu"],
        TrainingArguments,
    )  # fmt: skip
    assert args.eval_strategy is IntervalStrategy.STEPS and args.eval_steps == 500
    assert [o.value for o in args.fsdp] == ["full_shard", "auto_wrap"]
    assert args.report_to == ["wandb", "tensorboard"] and args.use_cpu
    with pytest.raises(SystemExit):
        parse(["--eval_strategy", "step"], TrainingArguments)


def test_several_dataclasses_and_groups():
    ex, other = parse(["--count", "2", "--path", "q"], Example, Other)
    assert ex.count == 2 and other.path == "q"
    parser = HfArgumentParser([Example, Other])
    assert any(g.title == "other options" for g in parser._action_groups)


def test_remaining_strings_and_extra_namespace():
    parser = HfArgumentParser(Example)
    parser.add_argument("--extra", default=1, type=int)
    ex, ns, rest = parser.parse_args_into_dataclasses(
        ["--count", "4", "--extra", "2", "--unknown", "u"],
        return_remaining_strings=True,
        look_for_args_file=False,
    )
    assert ex.count == 4 and ns == Namespace(extra=2) and rest == ["--unknown", "u"]
    with pytest.raises(ValueError, match="--unknown"):
        parser.parse_args_into_dataclasses(["--unknown"], look_for_args_file=False)


def test_args_files(tmp_path, monkeypatch):
    (tmp_path / "base.args").write_text("--count 7 --name from_file")
    (tmp_path / "more.args").write_text("--ratio 0.25")
    (ex,) = parse(["--name", "cli"], args_filename=str(tmp_path / "base.args"))
    assert (ex.count, ex.name) == (7, "cli")
    (ex,) = parse(["--cfg", str(tmp_path / "more.args"), "--count", "1"], args_file_flag="--cfg")
    assert (ex.ratio, ex.count) == (0.25, 1)
    monkeypatch.setattr(sys, "argv", [str(tmp_path / "base.py")])
    (ex,) = HfArgumentParser(Example).parse_args_into_dataclasses([])
    assert ex.count == 7


def test_parse_dict_and_unknown_keys():
    (ex,) = HfArgumentParser(Example).parse_dict({"count": 9, "color": "blue"})
    assert ex.count == 9
    with pytest.raises(ValueError, match=r"\['cuont', 'zzz'\].*did you mean 'count'"):
        HfArgumentParser(Example).parse_dict({"cuont": 9, "zzz": 1})
    (ex,) = HfArgumentParser(Example).parse_dict({"count": 2, "zzz": 1}, allow_extra_keys=True)
    assert ex.count == 2
    with pytest.raises(ValueError, match="mapping"):
        HfArgumentParser(Example).parse_dict([1, 2])


def test_parse_dict_validates_training_arguments():
    with pytest.raises(ValueError, match="did you mean 'steps'"):
        HfArgumentParser(TrainingArguments).parse_dict({"eval_strategy": "step"})


def test_json_file(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"output_dir": "o", "learning_rate": 0.1, "eval_strategy": "epoch"}))
    (args,) = HfArgumentParser(TrainingArguments).parse_json_file(path)
    assert args.learning_rate == 0.1 and args.do_eval
    path.write_text(json.dumps({"learning_rat": 0.1}))
    with pytest.raises(ValueError, match="learning_rat"):
        HfArgumentParser(TrainingArguments).parse_json_file(str(path))


def test_yaml_file(tmp_path):
    pytest.importorskip("yaml")
    path = tmp_path / "a.yaml"
    path.write_text("output_dir: o\nnum_train_epochs: 2\nextra_key: 1\n")
    (args,) = HfArgumentParser(TrainingArguments).parse_yaml_file(path, allow_extra_keys=True)
    assert args.num_train_epochs == 2
    with pytest.raises(ValueError, match="extra_key"):
        HfArgumentParser(TrainingArguments).parse_yaml_file(path)


def test_yaml_missing_names_the_extra(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "yaml":
            raise ImportError("no yaml")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    path = tmp_path / "a.yaml"
    path.write_text("a: 1\n")
    with pytest.raises(ImportError, match=r"pip install trainer-args\[yaml\]"):
        HfArgumentParser(Example).parse_yaml_file(path)


def test_unsupported_union_is_rejected():
    @dataclasses.dataclass
    class Bad:
        value: int | float = 1

    with pytest.raises(ValueError, match="value"):
        HfArgumentParser(Bad)


def test_required_field():
    @dataclasses.dataclass
    class Needs:
        must: int

    assert parse(["--must", "3"], Needs)[0].must == 3
    with pytest.raises(SystemExit):
        parse([], Needs)
