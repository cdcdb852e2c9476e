"""Generation settings without importing transformers until a file or model id must be read.

``transformers.GenerationConfig`` is recognised by its class name, so a config object built by the
user works here while ``transformers`` stays an optional dependency; reading a config from a path
or a Hub id imports it on demand.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "GenerationConfigLike",
    "generation_lengths",
    "is_generation_config",
    "load_generation_config",
]

_INSTALL_HINT = (
    "Reading a generation config from a file, folder or model id needs transformers "
    "(pip install transformers); or pass a transformers.GenerationConfig object instead."
)


@runtime_checkable
class GenerationConfigLike(Protocol):
    """What the trainer uses of a ``transformers.GenerationConfig``."""

    def to_dict(self) -> dict[str, Any]: ...


def is_generation_config(value: Any) -> bool:
    """Whether ``value`` is a ``transformers.GenerationConfig`` (or a subclass), without importing it."""
    if value is None or isinstance(value, (str, bytes, os.PathLike, Mapping)):
        return False
    return any(cls.__name__ == "GenerationConfig" for cls in type(value).__mro__) and callable(
        getattr(value, "to_dict", None)
    )


def _generation_config_class() -> Any:
    try:
        from transformers import GenerationConfig
    except ImportError as err:
        raise ImportError(_INSTALL_HINT) from err
    return GenerationConfig


def load_generation_config(source: Any) -> Any:
    """Turn ``Seq2SeqTrainingArguments.generation_config`` into a checked ``GenerationConfig``.

    ``source`` may be a ``GenerationConfig`` (a deep copy is returned, so the caller's object is
    never changed by the trainer), a mapping of its attributes, a path to a JSON file, a folder
    holding ``generation_config.json``, or a Hub model id. The result is validated strictly: a
    setting that transformers would only warn about (``temperature`` without ``do_sample``, ...)
    raises ``ValueError`` here, before training starts, rather than when the model is saved.
    """
    if is_generation_config(source):
        config = copy.deepcopy(source)
    elif isinstance(source, Mapping):
        config = _generation_config_class().from_dict(dict(source))
    elif isinstance(source, (str, os.PathLike)):
        config_cls = _generation_config_class()
        path = Path(source)
        if path.is_file():
            config = config_cls.from_pretrained(path.parent, path.name)
        elif path.is_dir():
            config = config_cls.from_pretrained(path)
        else:  # a model id on the Hub, or a URL
            config = config_cls.from_pretrained(os.fspath(source))
    else:
        raise TypeError(
            "generation_config must be a transformers.GenerationConfig, a dict of its attributes, "
            "a path to a generation config JSON file or folder, or a model id; got "
            f"{type(source).__name__}."
        )
    validate = getattr(config, "validate", None)
    if callable(validate):
        try:
            validate(strict=True)
        except ValueError as err:
            raise ValueError(
                f"{err}\n\nFix these issues to train your model (generation_config={_describe(source)})."
            ) from err
    return config


def _describe(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return repr(os.fspath(source))
    return type(source).__name__


def generation_lengths(model: Any, gen_kwargs: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """The ``(max_length, max_new_tokens)`` that generated sequences are padded to.

    Like transformers, the model's own ``generation_config`` decides (after its unset values are
    filled with the library defaults, e.g. ``max_length=20``); this also marks a config derived
    from the model config as no longer so, which keeps ``generate`` from rebuilding it on every
    batch. A model without a ``generation_config`` (a plain ``nn.Module`` with a ``generate``
    method) falls back to the lengths passed to ``generate``.
    """
    config = getattr(model, "generation_config", None)
    if config is None:
        return gen_kwargs.get("max_length"), gen_kwargs.get("max_new_tokens")
    if getattr(config, "_from_model_config", False):
        config._from_model_config = False
    defaults = getattr(config, "_get_default_generation_params", None)
    update = getattr(config, "update", None)
    if callable(defaults) and callable(update):
        update(**defaults(), defaults_only=True)
    return getattr(config, "max_length", None), getattr(config, "max_new_tokens", None)
