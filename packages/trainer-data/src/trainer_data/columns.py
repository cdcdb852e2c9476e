"""Keep only the columns a model's ``forward`` accepts."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["RemoveColumnsCollator", "remove_unused_columns", "signature_columns"]

_logger = logging.getLogger("trainer_data")


def _model_to_inspect(model: Any) -> Any:
    """Look through wrappers (PEFT models) to the module whose ``forward`` names the inputs."""
    get_base = getattr(model, "get_base_model", None)
    if callable(get_base):
        return get_base()
    return model


def signature_columns(model: Any, label_names: Iterable[str] | None = None) -> list[str]:
    """Return the input names the model accepts: its ``forward`` parameters, then label names.

    ``label`` and ``label_ids`` are always added (the default collator renames both to
    ``labels``), followed by any extra ``label_names``; duplicates are dropped, order is kept.
    """
    params = list(inspect.signature(_model_to_inspect(model).forward).parameters)
    extra = ["label", "label_ids", *(label_names or [])]
    return params + [name for name in dict.fromkeys(extra) if name not in params]


def _no_match_error(columns: Iterable[str], accepted: list[str], model_name: str) -> ValueError:
    return ValueError(
        f"None of the dataset's columns ({', '.join(columns)}) is an argument of "
        f"`{model_name}.forward` ({', '.join(accepted)}). Rename the columns to the model's input "
        "names, or pass remove_unused_columns=False in TrainingArguments to keep them all."
    )


def _log_dropped(
    logger: logging.Logger, dropped: list[str], model_name: str, description: str | None
) -> None:
    where = f" in the {description} set" if description else ""
    logger.info(
        "Columns%s not accepted by `%s.forward` were dropped: %s.",
        where,
        model_name,
        ", ".join(dropped),
    )


def remove_unused_columns(
    dataset: Any,
    columns: list[str],
    description: str | None = None,
    logger: logging.Logger = _logger,
    model_name: str = "model",
) -> Any:
    """Drop the columns of a ``datasets.Dataset``/``IterableDataset`` that are not in ``columns``.

    ``columns`` is usually :func:`signature_columns` of the model. Logs one info line naming the
    dropped columns (nothing when none are dropped). An ``IterableDataset`` whose columns are
    unknown (``column_names is None``) is returned unchanged; wrap the collator in
    :class:`RemoveColumnsCollator` for those.

    Raises:
        ValueError: when none of the dataset's columns is accepted.
    """
    names = getattr(dataset, "column_names", None)
    if names is None:
        return dataset
    accepted = set(columns)
    dropped = [name for name in names if name not in accepted]
    if len(dropped) == len(names):
        raise _no_match_error(names, list(columns), model_name)
    if not dropped:
        return dataset
    _log_dropped(logger, dropped, model_name, description)
    return dataset.remove_columns(dropped)


class RemoveColumnsCollator:
    """Wrap a collator so each example loses the keys the model does not accept.

    Meant for datasets that are not ``datasets.Dataset`` (lists of dicts, torch datasets). The
    dropped keys are logged once, at the first batch that has any. Examples that are not
    mappings are passed through untouched. When an example has only accepted keys the collator
    is called on the original examples, so the common case costs one set comparison per batch.

    Raises:
        ValueError: (on the first batch) when no key of the examples is accepted.
    """

    def __init__(
        self,
        data_collator: Callable[[list[Any]], Any],
        signature_columns: list[str],
        logger: logging.Logger | None = None,
        model_name: str | None = None,
        description: str | None = None,
    ) -> None:
        self.data_collator = data_collator
        self.signature_columns = list(signature_columns)
        self._accepted = frozenset(signature_columns)
        self.logger = logger or _logger
        self.model_name = model_name or "model"
        self.description = description
        self.message_logged = False
        self._checked_keys: frozenset[str] | None = None

    def _keep(self, example: Mapping[str, Any]) -> dict[str, Any]:
        accepted = self._accepted
        return {k: v for k, v in example.items() if k in accepted}

    def __call__(self, features: list[Any]) -> Any:
        first = features[0]
        if not isinstance(first, Mapping):
            return self.data_collator(features)
        keys = first.keys()
        if keys <= self._accepted:
            return self.data_collator(features)
        if self._checked_keys != keys:
            kept = [k for k in keys if k in self._accepted]
            if not kept:
                raise _no_match_error(keys, self.signature_columns, self.model_name)
            if not self.message_logged:
                dropped = [k for k in keys if k not in self._accepted]
                _log_dropped(self.logger, dropped, self.model_name, self.description)
                self.message_logged = True
            self._checked_keys = frozenset(keys)
        return self.data_collator([self._keep(f) for f in features])
