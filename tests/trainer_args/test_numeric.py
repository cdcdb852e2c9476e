"""Numbers and flags of TrainingArguments: strings parsed as the parser does, bad kinds refused."""

import pytest
from trainer_args import HfArgumentParser, TrainingArguments


@pytest.mark.parametrize(
    ("field", "text", "expected"),
    [
        ("num_train_epochs", "3", 3.0),
        ("learning_rate", "1e-4", 1e-4),
        ("seed", "7", 7),
        ("save_total_limit", "2", 2),
        ("gradient_accumulation_steps", "2", 2),
        ("per_device_train_batch_size", "16", 16),
        ("max_steps", "10", 10),
        ("fp16", "False", False),
        ("do_train", "yes", True),
    ],
)
def test_strings_parse_like_the_command_line(field, text, expected):
    args = TrainingArguments(output_dir="o", **{field: text})
    value = getattr(args, field)
    assert value == expected and type(value) is type(expected)
    # the command-line parser gives the same value
    (parsed,) = HfArgumentParser(TrainingArguments).parse_args_into_dataclasses(
        ["--output_dir", "o", f"--{field}", text]
    )
    assert getattr(parsed, field) == value


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"learning_rate": "fast"}, "learning_rate='fast' is not valid: expected a number"),
        ({"seed": "abc"}, "seed='abc' is not valid: expected an integer"),
        ({"max_steps": "1e3"}, "max_steps='1e3' is not valid: expected an integer"),
        ({"fp16": "maybe"}, "fp16='maybe' is not valid: expected true or false"),
        ({"per_device_train_batch_size": 8.5}, "per_device_train_batch_size=8.5"),
        ({"seed": True}, "seed=True is not valid: expected an integer, not a bool"),
        ({"learning_rate": float("nan")}, "learning_rate=nan is not valid"),
        ({"learning_rate": -1e-3}, "learning_rate=-0.001 is not valid: expected a learning rate"),
        ({"adam_beta1": 1.0}, r"adam_beta1=1.0 is not valid: expected a value in [0, 1)"),
        ({"adam_beta2": -0.5}, r"adam_beta2=-0.5 is not valid: expected a value in [0, 1)"),
        ({"adam_epsilon": -1e-8}, "adam_epsilon=-1e-08 is not valid"),
        ({"weight_decay": -0.1}, "weight_decay=-0.1 is not valid"),
        ({"label_smoothing_factor": 1.0}, "label_smoothing_factor=1.0 is not valid"),
        ({"max_grad_norm": -1.0}, "max_grad_norm=-1.0 is not valid"),
        ({"save_total_limit": -2}, "save_total_limit=-2 is not valid"),
        ({"eval_accumulation_steps": 0}, "eval_accumulation_steps=0 is not valid"),
        ({"num_train_epochs": 0}, "num_train_epochs=0 is not valid: .* set max_steps"),
        (
            {"num_train_epochs": float("inf")},
            "num_train_epochs=inf is not valid: expected a finite",
        ),
        ({"learning_rate": float("inf")}, "learning_rate=inf is not valid: expected a finite"),
        ({"seed": -1}, r"seed=-1 is not valid: expected a seed in [0, 2**32 - 1]"),
        ({"save_strategy": "steps", "save_steps": 0}, "save_steps=0 is not valid"),
    ],
)
def test_bad_numbers_name_field_value_and_rule(kwargs, message):
    pattern = message.replace("[", r"\[").replace(")", r"\)").replace("**", r"\*\*")
    with pytest.raises(ValueError, match=pattern):
        TrainingArguments(output_dir="o", **kwargs)


def test_edges_that_stay_allowed():
    args = TrainingArguments(
        output_dir="o",
        num_train_epochs=0,
        max_steps=5,
        learning_rate=0,
        adam_beta1=0.0,
        max_grad_norm=None,
        save_total_limit=0,
        eval_accumulation_steps=8.0,
    )
    assert args.max_steps == 5 and args.learning_rate == 0
    assert args.eval_accumulation_steps == 8 and type(args.eval_accumulation_steps) is int
    # ints given for float fields are kept as given (as transformers keeps them)
    assert type(TrainingArguments(output_dir="o", learning_rate=1).learning_rate) is int


def test_numpy_integers_are_integers():
    np = pytest.importorskip("numpy")
    args = TrainingArguments(output_dir="o", seed=np.int64(3), num_train_epochs=np.float32(2))
    assert args.seed == 3 and type(args.seed) is int
