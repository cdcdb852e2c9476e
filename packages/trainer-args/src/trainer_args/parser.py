"""``HfArgumentParser``: dataclasses to command-line options, and dict / JSON / YAML loading.

How a field becomes an option (``--name`` and ``--name-with-dashes``):

* ``X | None`` is treated as ``X`` (the default stays ``None``);
* an ``Enum`` or ``Literal`` gives ``choices``; in a union it wins over ``str``;
* ``bool`` takes an optional value (``--flag``, ``--flag false``); a ``True`` default also gets
  ``--no_flag`` / ``--no-flag``; ``str | bool`` accepts either a boolean word or any string;
* ``list[X]`` takes one or more values (``nargs="+"``); with ``| str`` the items stay strings;
* ``dict`` alone is read as JSON; ``dict | str`` stays a string (``TrainingArguments`` parses it);
* help text, ``choices`` and ``aliases`` come from the field's metadata.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import types
from argparse import ArgumentDefaultsHelpFormatter, ArgumentParser, ArgumentTypeError, Namespace
from collections.abc import Callable, Iterable
from enum import Enum
from pathlib import Path
from typing import Any, Literal, NewType, Union, get_args, get_origin, get_type_hints

from ._errors import did_you_mean

__all__ = ["DataClass", "DataClassType", "HfArg", "HfArgumentParser", "string_to_bool"]

DataClass = NewType("DataClass", Any)
DataClassType = NewType("DataClassType", Any)

_TRUE = ("yes", "true", "t", "y", "1")
_FALSE = ("no", "false", "f", "n", "0")
_PASSED_METADATA = ("help", "choices", "metavar")


def string_to_bool(value: Any) -> bool:
    """Read a command-line boolean such as ``yes``/``no``, ``true``/``false`` or ``1``/``0``."""
    if isinstance(value, bool):
        return value
    lowered = str(value).lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ArgumentTypeError(
        f"expected a boolean (yes/no, true/false, t/f, y/n, 1/0), got {value!r}"
    )


def _bool_or_string(value: str) -> bool | str:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return value


def _choice_reader(choices: list) -> Callable[[str], Any]:
    by_text = {str(choice): choice for choice in choices}
    return lambda text: by_text.get(text, text)


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise ArgumentTypeError(f"expected a JSON object, got {text!r} ({err})") from None
    if not isinstance(value, dict):
        raise ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


def HfArg(  # noqa: N802 - the transformers name
    *,
    aliases: str | list[str] | None = None,
    help: str | None = None,
    default: Any = dataclasses.MISSING,
    default_factory: Callable[[], Any] = dataclasses.MISSING,
    metadata: dict | None = None,
    **kwargs: Any,
) -> dataclasses.Field:
    """``dataclasses.field`` with ``aliases`` and ``help`` stored where the parser looks for them."""
    metadata = dict(metadata or {})
    if aliases is not None:
        metadata["aliases"] = aliases
    if help is not None:
        metadata["help"] = help
    return dataclasses.field(
        metadata=metadata, default=default, default_factory=default_factory, **kwargs
    )


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) is Union or isinstance(annotation, types.UnionType)


def _is_enum(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, Enum)


def _pick_member(name: str, members: list[Any]) -> Any:
    """Choose the one type a union field is parsed as (``None`` already removed)."""
    if len(members) == 1:
        return members[0]
    for member in members:
        if _is_enum(member) or get_origin(member) is Literal:
            return member
    for member in members:
        if get_origin(member) is list or member is list:
            # ``list[Enum] | str`` also takes "a b" in one word; the dataclass checks the values.
            return list[str] if str in members else member
    if bool in members and str in members:
        return "bool_or_str"
    if str in members:
        return str
    raise ValueError(
        f"field {name!r}: cannot parse a union of {members} from the command line; "
        "use one type, optionally with None or str."
    )


def _choices(kind: Any) -> list[Any] | tuple[Any, ...]:
    """An Enum's values (a list) or a Literal's values (the tuple of its arguments, as
    transformers gives them to argparse)."""
    return [member.value for member in kind] if _is_enum(kind) else get_args(kind)


def _field_default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return dataclasses.MISSING


def _option_kwargs(field: dataclasses.Field, annotation: Any) -> tuple[dict[str, Any], bool]:
    """argparse keyword arguments for ``field``, and whether it is a bool whose default is True."""
    kwargs = {key: field.metadata[key] for key in _PASSED_METADATA if key in field.metadata}
    given = kwargs.get("choices")
    if isinstance(given, Iterable) and not isinstance(given, (list, tuple, str)):
        kwargs["choices"] = list(given)  # a set or a generator: argparse needs a sequence
    optional = False
    if _is_union(annotation):
        members = [m for m in get_args(annotation) if m is not type(None)]
        optional = len(members) < len(get_args(annotation))
        kind = _pick_member(field.name, members)
    else:
        kind = annotation
    default = _field_default(field)
    if default is not dataclasses.MISSING:
        kwargs["default"] = default
    else:
        kwargs["required"] = True
    true_default_bool = False
    if kind == "bool_or_str":
        kwargs.update(type=_bool_or_string, nargs="?", const=True)
    elif _is_enum(kind) or get_origin(kind) is Literal:
        choices = _choices(kind)
        kwargs.update(choices=choices, type=_choice_reader(choices))
    elif kind is bool:
        kwargs["type"] = string_to_bool
        if not optional or default is not None:
            kwargs.setdefault("default", False)
            kwargs.pop("required", None)
            kwargs.update(nargs="?", const=True)
        true_default_bool = default is True
    elif get_origin(kind) is list or kind is list:
        item = (get_args(kind) or (str,))[0]
        if _is_enum(item) or get_origin(item) is Literal:
            choices = _choices(item)
            kwargs.update(choices=choices, type=_choice_reader(choices))
        else:
            kwargs["type"] = item
        kwargs["nargs"] = "+"
    elif kind is dict or get_origin(kind) is dict:
        kwargs["type"] = _json_object
    elif kind is Any:
        kwargs["type"] = str
    else:
        kwargs["type"] = kind
    return kwargs, true_default_bool


class HfArgumentParser(ArgumentParser):
    """An ``argparse.ArgumentParser`` built from one or more dataclasses (e.g. ``TrainingArguments``)."""

    def __init__(
        self, dataclass_types: DataClassType | Iterable[DataClassType] | None = None, **kwargs: Any
    ):
        kwargs.setdefault("formatter_class", ArgumentDefaultsHelpFormatter)
        super().__init__(**kwargs)
        if dataclass_types is None:
            dataclass_types = []
        elif dataclasses.is_dataclass(dataclass_types) or not isinstance(dataclass_types, Iterable):
            dataclass_types = [dataclass_types]
        self.dataclass_types = list(dataclass_types)
        for dtype in self.dataclass_types:
            self._add_dataclass_arguments(dtype)

    def _add_dataclass_arguments(self, dtype: DataClassType) -> None:
        group_name = getattr(dtype, "_argument_group_name", None)
        target = self.add_argument_group(group_name) if group_name else self
        try:
            hints = get_type_hints(dtype)
        except NameError as err:
            raise RuntimeError(
                f"cannot resolve the type annotations of {dtype.__name__} ({err}); declare it at module "
                "level or drop 'from __future__ import annotations'."
            ) from None
        for field in dataclasses.fields(dtype):
            if field.init:
                self._add_field(target, field, hints[field.name])

    @staticmethod
    def _add_field(target: Any, field: dataclasses.Field, annotation: Any) -> None:
        names = [f"--{field.name}"]
        if "_" in field.name:
            names.append(f"--{field.name.replace('_', '-')}")
        aliases = field.metadata.get("aliases", [])
        names += [aliases] if isinstance(aliases, str) else list(aliases)
        kwargs, true_default_bool = _option_kwargs(field, annotation)
        target.add_argument(*names, **kwargs)
        if true_default_bool:
            negated = {key: kwargs[key] for key in ("help",) if key in kwargs}
            target.add_argument(
                f"--no_{field.name}",
                f"--no-{field.name.replace('_', '-')}",
                action="store_false",
                dest=field.name,
                default=False,
                **negated,
            )

    # -- building dataclasses -----------------------------------------------------------------
    def _build(self, values: dict[str, Any]) -> tuple[list[Any], set[str]]:
        """Instantiate every dataclass from ``values``; return the objects and the unused keys."""
        unused = set(values)
        outputs = []
        for dtype in self.dataclass_types:
            keys = {f.name for f in dataclasses.fields(dtype) if f.init}
            inputs = {key: value for key, value in values.items() if key in keys}
            unused -= inputs.keys()
            outputs.append(dtype(**inputs))
        return outputs, unused

    def _known_keys(self) -> list[str]:
        return [f.name for d in self.dataclass_types for f in dataclasses.fields(d) if f.init]

    def parse_args_into_dataclasses(
        self,
        args: list[str] | None = None,
        return_remaining_strings: bool = False,
        look_for_args_file: bool = True,
        args_filename: str | None = None,
        args_file_flag: str | None = None,
    ) -> tuple[DataClass, ...]:
        """Parse command-line strings into one instance per dataclass.

        Options may also come from files of whitespace-separated arguments: ``args_filename``, the
        ``<script>.args`` file next to ``sys.argv[0]`` (``look_for_args_file``) and every file passed
        with ``args_file_flag``; command-line values win over file values. Options that match no
        dataclass but were declared on the parser come back in an extra ``Namespace``; unknown strings
        are returned last with ``return_remaining_strings=True`` and are an error otherwise.
        """
        if args_file_flag or args_filename or (look_for_args_file and sys.argv):
            files: list[Path] = []
            if args_filename:
                files.append(Path(args_filename))
            elif look_for_args_file and sys.argv:
                files.append(Path(sys.argv[0]).with_suffix(".args"))
            if args_file_flag:
                flag_parser = ArgumentParser(add_help=False)
                flag_parser.add_argument(args_file_flag, type=str, action="append")
                found, args = flag_parser.parse_known_args(args=args)
                files += [Path(p) for p in vars(found).get(args_file_flag.lstrip("-")) or []]
            from_files: list[str] = []
            for path in files:
                if path.exists():
                    from_files += path.read_text().split()
            args = from_files + (list(args) if args is not None else sys.argv[1:])
        namespace, remaining = self.parse_known_args(args=args)
        values = vars(namespace)
        outputs, unused = self._build(values)
        extra = {key: values[key] for key in values if key in unused}
        if extra:
            outputs.append(Namespace(**extra))
        if return_remaining_strings:
            return (*outputs, remaining)
        if remaining:
            raise ValueError(
                f"Some specified arguments are not used by the HfArgumentParser: {remaining}"
            )
        return tuple(outputs)

    def parse_dict(
        self, args: dict[str, Any], allow_extra_keys: bool = False
    ) -> tuple[DataClass, ...]:
        """Build the dataclasses from a mapping; unknown keys are an error unless ``allow_extra_keys``."""
        if not isinstance(args, dict):
            raise ValueError(
                f"expected a mapping of argument names to values, got {type(args).__name__}"
            )
        known = self._known_keys()
        unknown = sorted(key for key in args if key not in known)
        if unknown and not allow_extra_keys:
            hints = [
                f"{key!r}: {did_you_mean(key, known)}"
                for key in unknown
                if did_you_mean(key, known)
            ]
            suffix = f" ({'; '.join(hints)})" if hints else ""
            raise ValueError(f"Some keys are not used by the HfArgumentParser: {unknown}{suffix}")
        outputs, _ = self._build({key: value for key, value in args.items() if key in known})
        return tuple(outputs)

    def parse_json_file(
        self, json_file: str | os.PathLike, allow_extra_keys: bool = False
    ) -> tuple[DataClass, ...]:
        """Build the dataclasses from a JSON file holding one object."""
        data = json.loads(Path(json_file).read_text(encoding="utf-8"))
        return self.parse_dict(data, allow_extra_keys=allow_extra_keys)

    def parse_yaml_file(
        self, yaml_file: str | os.PathLike, allow_extra_keys: bool = False
    ) -> tuple[DataClass, ...]:
        """Build the dataclasses from a YAML file holding one mapping (needs the ``yaml`` extra)."""
        try:
            import yaml
        except ImportError:
            raise ImportError(
                "Reading YAML files needs PyYAML: pip install trainer-args[yaml]"
            ) from None
        data = yaml.safe_load(Path(yaml_file).read_text(encoding="utf-8"))
        return self.parse_dict(data, allow_extra_keys=allow_extra_keys)
