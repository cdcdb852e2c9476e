"""Building the model of a ``trainer train`` run: a local transformers folder or config (random
initialisation), or a ``package.module:function`` factory of the user's own."""

from __future__ import annotations

import importlib
import inspect
import json
import sys
from pathlib import Path
from typing import Any

from trainer.local_tokenizer import needs_transformers

AUTO_CLASSES = {
    "causal-lm": "AutoModelForCausalLM",
    "sequence-classification": "AutoModelForSequenceClassification",
    "token-classification": "AutoModelForTokenClassification",
    "seq2seq": "AutoModelForSeq2SeqLM",
}
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")


def _label_kwargs(labels: list[str] | None) -> dict[str, Any]:
    if not labels:
        return {}
    return {
        "num_labels": len(labels),
        "id2label": dict(enumerate(labels)),
        "label2id": {name: i for i, name in enumerate(labels)},
    }


def _fit_config_to_tokenizer(config: Any, tokenizer: Any) -> None:
    """Make a freshly initialised model's vocabulary and special ids match the tokenizer."""
    config.vocab_size = len(tokenizer)
    for name in ("pad_token_id", "eos_token_id", "bos_token_id"):
        value = getattr(tokenizer, name, None)
        if value is not None:
            setattr(config, name, value)
    if getattr(config, "is_encoder_decoder", False):
        config.decoder_start_token_id = tokenizer.pad_token_id


def _read_config(path: str) -> Any:
    from transformers import AutoConfig

    file = Path(path)
    if file.is_dir():
        return AutoConfig.from_pretrained(str(file), local_files_only=True)
    values = json.loads(file.read_text(encoding="utf-8"))
    model_type = values.pop("model_type", None)
    if model_type is None:
        raise ValueError(f"model.config={path!r} has no model_type (e.g. 'gpt2', 'bert', 't5')")
    return AutoConfig.for_model(model_type, **values)


def _from_transformers(section: Any, task: str, tokenizer: Any, labels: list[str] | None) -> Any:
    try:
        import transformers
    except ImportError as err:
        raise needs_transformers("model.path and model.config") from err
    auto = getattr(transformers, AUTO_CLASSES[task])
    source = section.path or section.config
    if not Path(source).exists():
        raise FileNotFoundError(f"model: {source!r} does not exist (a local folder or file)")
    has_weights = section.path is not None and any(
        (Path(section.path) / name).is_file() for name in WEIGHT_FILES
    )
    if has_weights:
        model = auto.from_pretrained(section.path, **_label_kwargs(labels), **section.kwargs)
        if tokenizer is not None and len(tokenizer) > model.get_input_embeddings().num_embeddings:
            model.resize_token_embeddings(len(tokenizer))
        return model
    config = _read_config(source)
    for key, value in {**_label_kwargs(labels), **section.kwargs}.items():
        setattr(config, key, value)
    if tokenizer is not None:
        _fit_config_to_tokenizer(config, tokenizer)
    return auto.from_config(config)


def _from_factory(section: Any, base_dir: Path, tokenizer: Any, labels: list[str] | None) -> Any:
    module_name, _, function_name = section.factory.partition(":")
    if str(base_dir) not in sys.path:
        sys.path.insert(0, str(base_dir))
    try:
        factory = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"model.factory={section.factory!r} cannot be imported: {err}") from err
    kwargs = dict(section.kwargs)
    accepted = inspect.signature(factory).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    offered = {"num_labels": len(labels) if labels else None}
    if tokenizer is not None:
        offered["vocab_size"] = len(tokenizer)
    for key, value in offered.items():
        if value is not None and key not in kwargs and (key in accepted or takes_any):
            kwargs[key] = value
    return factory(**kwargs)


def build_model(config: Any, tokenizer: Any, labels: list[str] | None = None) -> Any:
    """The model for ``config.task``; ``labels`` sets the classifier head's size and names.

    A factory receives ``model.kwargs`` plus ``vocab_size`` (the tokenizer's) and ``num_labels``
    when its signature takes them and the config does not set them.
    """
    if config.model.factory is not None:
        return _from_factory(config.model, config.base_dir, tokenizer, labels)
    return _from_transformers(config.model, config.task, tokenizer, labels)
