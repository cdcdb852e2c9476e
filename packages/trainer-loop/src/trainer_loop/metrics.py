"""Helpers for the metrics dicts returned by train/evaluate/predict.

The keys, rounding, printed layout and JSON files match transformers, so scripts and tools that
parse them keep working.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import tempfile
import time
from typing import Any

__all__ = [
    "denumpify_detensorize",
    "format_log_metrics",
    "metrics_format",
    "save_metrics",
    "speed_metrics",
]


def speed_metrics(
    split: str,
    start_time: float,
    num_samples: int | None = None,
    num_steps: int | None = None,
    num_tokens: int | None = None,
) -> dict[str, float]:
    """Throughput of an operation that started at ``start_time`` (a ``time.time()`` value).

    Call it right after the operation. Returns ``{split}_runtime`` in seconds (4 decimals) and,
    for each count given, ``{split}_samples_per_second``, ``{split}_steps_per_second`` and
    ``{split}_tokens_per_second`` (3 decimals). A zero runtime gives only the runtime.
    """
    runtime = time.time() - start_time
    result = {f"{split}_runtime": round(runtime, 4)}
    if runtime == 0:
        return result
    for name, count in (("samples", num_samples), ("steps", num_steps), ("tokens", num_tokens)):
        if count is not None:
            result[f"{split}_{name}_per_second"] = round(count / runtime, 3)
    return result


def _seconds_to_clock(seconds: float) -> str:
    """``h:mm:ss.cc``: whole seconds as a timedelta, then hundredths truncated."""
    hundredths = int(abs(seconds - int(seconds)) * 100)
    return f"{datetime.timedelta(seconds=int(seconds))}.{hundredths:02d}"


def metrics_format(metrics: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``metrics`` made readable: memory in MB, runtimes as clocks, flos in GF.

    Keys containing ``_mem_`` (byte counts) become ``"<n>MB"``, keys containing ``_runtime``
    become ``h:mm:ss.cc``, ``total_flos`` becomes ``"<n>GF"`` and other floats are rounded to 4
    decimals.
    """
    formatted = dict(metrics)
    for key, value in formatted.items():
        if "_mem_" in key:
            formatted[key] = f"{int(value) >> 20}MB"
        elif "_runtime" in key:
            formatted[key] = _seconds_to_clock(value)
        elif key == "total_flos":
            formatted[key] = f"{int(value) >> 30}GF"
        elif isinstance(value, float):
            formatted[key] = round(value, 4)
    return formatted


def format_log_metrics(split: str, metrics: dict[str, Any]) -> str:
    """The text ``Trainer.log_metrics`` prints (without the final newline).

    A ``***** {split} metrics *****`` header, then one ``  key = value`` line per metric in key
    order, keys padded on the right and values on the left to line up.
    """
    lines = [f"***** {split} metrics *****"]
    formatted = metrics_format(metrics)
    if formatted:
        key_width = max(len(str(key)) for key in formatted)
        value_width = max(len(str(value)) for value in formatted.values())
        for key in sorted(formatted):
            lines.append(f"  {key: <{key_width}} = {formatted[key]:>{value_width}}")
    return "\n".join(lines)


def _write_json_atomic(path: str, data: Any) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".metrics.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=4, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_metrics(
    output_dir: str | os.PathLike[str], split: str, metrics: dict[str, Any], combined: bool = True
) -> None:
    """Write ``{split}_results.json`` in ``output_dir`` and, with ``combined``, merge into ``all_results.json``.

    Files are written to a temporary name and renamed, so a reader never sees half a file. Call it
    on the main process only.
    """
    output_dir = os.fspath(output_dir)
    os.makedirs(output_dir, exist_ok=True)
    _write_json_atomic(os.path.join(output_dir, f"{split}_results.json"), metrics)
    if combined:
        path = os.path.join(output_dir, "all_results.json")
        merged: dict[str, Any] = {}
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                merged = json.load(handle)
        merged.update(metrics)
        _write_json_atomic(path, merged)


def denumpify_detensorize(metrics: Any) -> Any:
    """Turn numpy scalars and one-element tensors into Python numbers, inside lists/tuples/dicts too."""
    if isinstance(metrics, (list, tuple)):
        items = [denumpify_detensorize(m) for m in metrics]
        return type(metrics)(*items) if hasattr(metrics, "_fields") else type(metrics)(items)
    if isinstance(metrics, dict):
        return type(metrics)({k: denumpify_detensorize(v) for k, v in metrics.items()})
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(metrics, numpy.generic):
        return metrics.item()
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(metrics, torch.Tensor) and metrics.numel() == 1:
        return metrics.item()
    return metrics
