"""The ``trainer train`` configuration: one YAML or JSON file with ``task``, ``model``, ``data``
and ``training`` sections (docs/cli.md lists every key).

Unknown keys are errors that name the key and the keys allowed in its section; relative paths in
``model`` and ``data`` are read from the folder that holds the configuration file.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TASKS = ("causal-lm", "sequence-classification", "token-classification", "seq2seq")
TOKENIZER_KINDS = ("bpe", "wordpiece", "wordlevel")
FORMATS = {
    ".json": "json",
    ".jsonl": "json",
    ".csv": "csv",
    ".txt": "text",
    ".parquet": "parquet",
}


@dataclass
class ModelSection:
    """Where the model comes from: exactly one of ``path``, ``config`` or ``factory``."""

    path: str | None = None
    config: str | None = None
    factory: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    tokenizer: str | dict[str, Any] | None = None


@dataclass
class DataSection:
    """The data files and how to turn their columns into model inputs."""

    train: str | list[str] | None = None
    validation: str | list[str] | None = None
    test: str | list[str] | None = None
    format: str | None = None
    text_column: str | None = None
    text_pair_column: str | None = None
    label_column: str = "label"
    labels: list[str] | None = None
    tokens_column: str = "tokens"
    tags_column: str = "tags"
    target_column: str = "target"
    max_length: int = 128
    max_target_length: int = 128
    packing: bool = True
    validation_split: float = 0.0
    max_train_samples: int | None = None
    max_eval_samples: int | None = None


@dataclass
class RunConfig:
    """A parsed configuration; ``training`` holds the TrainingArguments fields as given."""

    task: str
    model: ModelSection
    data: DataSection
    training: dict[str, Any]
    base_dir: Path

    @property
    def seq2seq(self) -> bool:
        return self.task == "seq2seq"


def _names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.init]


def check_keys(section: str, given: dict[str, Any], allowed: list[str]) -> None:
    """Raise ``ValueError`` for the first key of ``given`` not in ``allowed``, naming both."""
    for key in given:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(
                f"unknown key {key!r} in {section}{hint}; allowed: {', '.join(sorted(allowed))}"
            )


def _section(name: str, raw: Any, cls: type) -> Any:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ValueError(f"section {name!r} must be a mapping, got {type(raw).__name__}")
    check_keys(f"section {name!r}", raw, _names(cls))
    return cls(**raw)


def read_file(path: str | Path) -> dict[str, Any]:
    """The mapping stored in a ``.yaml``/``.yml`` or ``.json`` file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {str(path)!r} does not exist")
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
    elif path.suffix == ".json":
        data = json.loads(text)
    else:
        raise ValueError(f"config file {str(path)!r}: use .yaml, .yml or .json")
    if not isinstance(data, dict):
        raise ValueError(f"config file {str(path)!r} must hold a mapping at the top level")
    return data


def apply_override(data: dict[str, Any], assignment: str) -> None:
    """Apply one ``--set section.key=value`` (the value is read as YAML: numbers, true, lists)."""
    key, sep, value = assignment.partition("=")
    if not sep or not key:
        raise ValueError(f"--set {assignment!r}: expected KEY=VALUE, e.g. training.max_steps=10")
    import yaml

    *parents, leaf = key.split(".")
    target = data
    for part in parents:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise ValueError(f"--set {assignment!r}: {part!r} is not a section")
    target[leaf] = yaml.safe_load(value)


def _resolve(base: Path, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        return [_resolve(base, v) for v in value]
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else base / path)


def _check(config: RunConfig) -> None:
    if config.task not in TASKS:
        raise ValueError(f"task={config.task!r} is not supported; allowed: {', '.join(TASKS)}")
    model = config.model
    sources = [k for k in ("path", "config", "factory") if getattr(model, k) is not None]
    if len(sources) != 1:
        raise ValueError(
            f"model: give exactly one of path, config or factory (got {sources or 'none'})"
        )
    if model.factory is not None and ":" not in model.factory:
        raise ValueError(
            f"model.factory={model.factory!r} must look like 'package.module:function'"
        )
    if not isinstance(model.kwargs, dict):
        raise ValueError(f"model.kwargs must be a mapping, got {model.kwargs!r}")
    tokenizer = model.tokenizer
    if isinstance(tokenizer, dict):
        check_keys("model.tokenizer", tokenizer, ["train", "vocab_size", "lowercase"])
        if tokenizer.get("train") not in TOKENIZER_KINDS:
            raise ValueError(
                f"model.tokenizer.train={tokenizer.get('train')!r}; allowed: "
                f"{', '.join(TOKENIZER_KINDS)}"
            )
    if tokenizer == "byte" and config.task != "causal-lm":
        raise ValueError(f"model.tokenizer='byte' serves task causal-lm only, not {config.task!r}")
    data = config.data
    if data.train is None:
        raise ValueError("data.train is required: a local file (or list of files) to train on")
    if data.format is not None and data.format not in set(FORMATS.values()):
        raise ValueError(
            f"data.format={data.format!r}; allowed: {', '.join(sorted(set(FORMATS.values())))}"
        )
    if not 0.0 <= data.validation_split < 1.0:
        raise ValueError(f"data.validation_split={data.validation_split!r} must be in [0, 1)")
    if data.max_length < 2:
        raise ValueError(f"data.max_length={data.max_length!r} must be at least 2")
    if not isinstance(config.training, dict):
        raise ValueError(f"section 'training' must be a mapping, got {config.training!r}")


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Read, override, check and resolve a configuration file."""
    path = Path(path)
    data = read_file(path)
    for assignment in overrides:
        apply_override(data, assignment)
    check_keys("the config", data, ["task", "model", "data", "training"])
    if "task" not in data:
        raise ValueError(f"the config needs a task; allowed: {', '.join(TASKS)}")
    base = path.resolve().parent
    model = _section("model", data.get("model"), ModelSection)
    data_section = _section("data", data.get("data"), DataSection)
    config = RunConfig(
        task=data["task"],
        model=model,
        data=data_section,
        training=dict(data.get("training") or {}),
        base_dir=base,
    )
    _check(config)
    model.path = _resolve(base, model.path)
    model.config = _resolve(base, model.config)
    if isinstance(model.tokenizer, str) and model.tokenizer != "byte":
        model.tokenizer = _resolve(base, model.tokenizer)
    for split in ("train", "validation", "test"):
        setattr(data_section, split, _resolve(base, getattr(data_section, split)))
    return config


def training_arguments(config: RunConfig) -> Any:
    """``TrainingArguments`` (``Seq2SeqTrainingArguments`` for seq2seq) from the training section."""
    if config.seq2seq:
        from trainer_seq2seq import Seq2SeqTrainingArguments as cls
    else:
        from trainer_args import TrainingArguments as cls
    check_keys(
        "section 'training'", config.training, [f.name for f in dataclasses.fields(cls) if f.init]
    )
    from trainer_args import HfArgumentParser

    (args,) = HfArgumentParser(cls).parse_dict(config.training)
    return args
