"""``AcceleratorConfig``: the accelerate options of ``TrainingArguments.accelerator_config``.

``TrainingArguments`` turns whatever was given (``None``, a dict, a JSON string, the path of a JSON
or YAML file, or an instance) into one of these, so code reads ``args.accelerator_config.split_batches``
as with transformers. It also answers the mapping protocol (``config["even_batches"]``,
``config.get(...)``, ``dict(config)``) for code that treats it as a dict.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator
from typing import Any

from ._errors import invalid_choice, invalid_value

__all__ = ["AcceleratorConfig"]


class UnknownAcceleratorOption(TypeError, ValueError):
    """An ``accelerator_config`` key that is not an option (a ``TypeError``, as an unknown keyword
    argument is, and a ``ValueError`` like the other invalid arguments)."""


@dataclasses.dataclass
class AcceleratorConfig:
    """How the ``accelerate.Accelerator`` behind a ``Trainer`` is configured.

    Fields:
        split_batches: split each fetched batch across processes instead of giving every process a
            batch of ``per_device_*_batch_size``.
        dispatch_batches: fetch batches on the main process only and send slices to the others
            (``None``: accelerate's choice, on for iterable datasets).
        even_batches: repeat samples at the end of evaluation so each process gets full batches.
        use_seedable_sampler: shuffle with a sampler whose seed is restored on resume.
        non_blocking: copy batches to the device asynchronously (with ``dataloader_pin_memory``).
        gradient_accumulation_kwargs: extra options of accelerate's ``GradientAccumulationPlugin``
            (``sync_each_batch``, ``adjust_scheduler``, ``sync_with_dataloader``).
        use_configured_state: reuse an ``AcceleratorState``/``PartialState`` created before the
            arguments instead of resetting it (an error when none exists).
    """

    split_batches: bool = False
    dispatch_batches: bool | None = None
    even_batches: bool = True
    use_seedable_sampler: bool = True
    non_blocking: bool = False
    gradient_accumulation_kwargs: dict | None = None
    use_configured_state: bool = False

    @classmethod
    def from_json_file(cls, json_file: str | os.PathLike) -> AcceleratorConfig:
        """Read the options from a JSON file (or YAML, for a ``.yaml``/``.yml`` path)."""
        return cls.from_dict(_read_file(os.fspath(json_file)))

    @classmethod
    def from_dict(cls, values: Any) -> AcceleratorConfig:
        """Build from a mapping, naming the first unknown key and the allowed ones."""
        allowed = [f.name for f in dataclasses.fields(cls)]
        unknown = [key for key in values if key not in allowed]
        if unknown:
            raise UnknownAcceleratorOption(
                str(invalid_choice("accelerator_config key", unknown[0], allowed))
            )
        return cls(**dict(values))

    def to_dict(self) -> dict[str, Any]:
        """The options as a plain dict (a copy)."""
        return {f.name: _copy(getattr(self, f.name)) for f in dataclasses.fields(self)}

    # -- the mapping protocol, for code written against a dict ---------------------------------
    def __getitem__(self, key: str) -> Any:
        if key not in self._names():
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in self._names():
            raise KeyError(key)
        setattr(self, key, value)

    def __contains__(self, key: object) -> bool:
        return key in self._names()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def keys(self) -> list[str]:
        return list(self._names())

    def values(self) -> list[Any]:
        return [getattr(self, name) for name in self._names()]

    def items(self) -> list[tuple[str, Any]]:
        return [(name, getattr(self, name)) for name in self._names()]

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in self._names() else default

    def pop(self, key: str, default: Any = None) -> Any:
        """Return the option's value (options keep existing; transformers' object does the same)."""
        return self.get(key, default)

    def _names(self) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(self))


def _copy(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else value


def _read_file(path: str) -> dict:
    if not os.path.isfile(path):
        raise invalid_value(
            "accelerator_config",
            path,
            "expected a dict, an AcceleratorConfig, a JSON string or the path of a JSON/YAML file",
        )
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if path.endswith((".yaml", ".yml")):
        try:
            import yaml
        except ImportError as err:
            raise ImportError(
                f"accelerator_config={path!r} is a YAML file: install PyYAML "
                "(`pip install trainer-args[yaml]`)."
            ) from err
        loaded = yaml.safe_load(text)
    else:
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as err:
            raise invalid_value(
                "accelerator_config", path, f"the file is not valid JSON ({err})"
            ) from None
    if not isinstance(loaded, dict):
        raise invalid_value("accelerator_config", path, "the file must hold a mapping of options")
    return loaded
