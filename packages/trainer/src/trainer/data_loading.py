"""Reading the ``data`` section's local files with ``datasets`` into train/validation/test splits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trainer.config import FORMATS


def _files(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    files = [value] if isinstance(value, str) else list(value)
    for file in files:
        if not Path(file).is_file():
            raise FileNotFoundError(f"data file {file!r} does not exist")
    return files


def _format(data: Any, files: list[str]) -> str:
    if data.format is not None:
        return data.format
    suffixes = {Path(f).suffix.lower() for f in files}
    unknown = suffixes - set(FORMATS)
    if unknown or len({FORMATS[s] for s in suffixes}) != 1:
        raise ValueError(
            f"cannot tell the format of {files}: use one kind of file among "
            f"{', '.join(sorted(FORMATS))}, or set data.format"
        )
    return FORMATS[suffixes.pop()]


def load_splits(config: Any) -> dict[str, Any]:
    """``{"train", "validation"?, "test"?}`` as ``datasets.Dataset`` objects.

    Text files hold one example per paragraph (blank-line separated) for causal-lm and one per
    line otherwise. Without a validation file, ``data.validation_split`` holds out that share of
    the training rows (shuffled with ``training.seed``).
    """
    try:
        import datasets
    except ImportError as err:
        raise ImportError(
            'trainer train needs datasets: pip install "trainer-data[datasets]"'
        ) from err
    data = config.data
    files = {
        split: _files(getattr(data, split))
        for split in ("train", "validation", "test")
        if getattr(data, split) is not None
    }
    builder = _format(data, [f for group in files.values() for f in group])
    options: dict[str, Any] = {}
    if builder == "text":
        options["sample_by"] = "paragraph" if config.task == "causal-lm" else "line"
    loaded = datasets.load_dataset(builder, data_files=files, keep_in_memory=True, **options)
    splits = dict(loaded)
    if "validation" not in splits and data.validation_split > 0:
        seed = int(config.training.get("seed", 42))
        held = splits["train"].train_test_split(test_size=data.validation_split, seed=seed)
        splits["train"], splits["validation"] = held["train"], held["test"]
    for split, limit in (("train", data.max_train_samples), ("validation", data.max_eval_samples)):
        if limit is not None and split in splits:
            splits[split] = splits[split].select(range(min(limit, len(splits[split]))))
    for split, dataset in splits.items():
        if len(dataset) == 0:
            raise ValueError(f"data split {split!r} is empty: check the file(s) {files.get(split)}")
    return splits


def require_columns(dataset: Any, split: str, columns: dict[str, str | None]) -> None:
    """Fail naming the data key and the columns present when a configured column is missing."""
    for key, column in columns.items():
        if column is not None and column not in dataset.column_names:
            raise ValueError(
                f"data.{key}={column!r} is not a column of the {split} split; columns: "
                f"{', '.join(dataset.column_names)}"
            )
