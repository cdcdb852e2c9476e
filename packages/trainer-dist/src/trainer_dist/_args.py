"""Duck-typed access to training arguments.

``trainer_dist`` accepts ``trainer_args.TrainingArguments``, ``transformers.TrainingArguments`` or
any object (a ``SimpleNamespace`` in tests) exposing the documented field names. Missing fields
fall back to the documented defaults, so callers may pass only what they care about.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from typing import Any

__all__ = [
    "ACCELERATOR_CONFIG_DEFAULTS",
    "DEFAULTS",
    "accelerator_config_dict",
    "get_arg",
    "load_json_config",
]

#: Documented defaults of the fields this package reads (transformers 5.3.0 values).
DEFAULTS: dict[str, Any] = {
    "per_device_train_batch_size": 8,
    "per_device_eval_batch_size": 8,
    "gradient_accumulation_steps": 1,
    "learning_rate": 5e-5,
    "weight_decay": 0.0,
    "adam_beta1": 0.9,
    "adam_beta2": 0.999,
    "adam_epsilon": 1e-8,
    "max_grad_norm": 1.0,
    "warmup_steps": 0,
    "warmup_ratio": None,
    "bf16": False,
    "fp16": False,
    "bf16_full_eval": False,
    "fp16_full_eval": False,
    "tf32": None,
    "gradient_checkpointing": False,
    "gradient_checkpointing_kwargs": None,
    "torch_compile": False,
    "torch_compile_backend": None,
    "torch_compile_mode": None,
    "use_cpu": False,
    "accelerator_config": None,
    "parallelism_config": None,
    "data_seed": None,
    "seed": 42,
    "full_determinism": False,
    "dataloader_pin_memory": True,
    "ddp_find_unused_parameters": None,
    "ddp_bucket_cap_mb": None,
    "ddp_broadcast_buffers": None,
    "ddp_backend": None,
    "ddp_timeout": 1800,
    "fsdp": None,
    "fsdp_config": None,
    "deepspeed": None,
    "save_on_each_node": False,
    "eval_accumulation_steps": None,
    "eval_do_concat_batches": True,
    "eval_use_gather_object": False,
    "auto_find_batch_size": False,
}

#: Defaults of ``accelerator_config`` (transformers' ``AcceleratorConfig``).
ACCELERATOR_CONFIG_DEFAULTS: dict[str, Any] = {
    "split_batches": False,
    "dispatch_batches": None,
    "even_batches": True,
    "use_seedable_sampler": True,
    "non_blocking": False,
    "gradient_accumulation_kwargs": None,
    "use_configured_state": False,
}

_MISSING = object()


def truthy(value: Any) -> bool:
    """Whether a flag given as text (an environment value, a config entry) means true."""
    return str(value).strip().lower() in ("1", "true", "yes", "y", "on")


def get_arg(args: Any, name: str, default: Any = _MISSING) -> Any:
    """Read ``name`` from ``args`` (attribute or mapping key), else its documented default."""
    if isinstance(args, Mapping):
        value = args.get(name, _MISSING)
    else:
        value = getattr(args, name, _MISSING)
    if value is _MISSING:
        if default is not _MISSING:
            return default
        return DEFAULTS.get(name)
    return value


def load_json_config(value: Any, what: str) -> dict | None:
    """Return ``value`` as a dict: a mapping is copied, a string is read as a JSON file path."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        if not os.path.isfile(path):
            raise ValueError(
                f"`{what}` is {path!r}, which is neither a dict nor an existing JSON file."
            )
        with open(path, encoding="utf-8") as fh:
            loaded = json.load(fh)
        if not isinstance(loaded, dict):
            raise ValueError(f"`{what}` file {path!r} must contain a JSON object.")
        return loaded
    raise TypeError(
        f"`{what}` must be a dict or a path to a JSON file, got {type(value).__name__}."
    )


def accelerator_config_dict(args: Any) -> dict[str, Any]:
    """Normalise ``args.accelerator_config`` (None, dict, JSON path or dataclass) to a full dict."""
    raw = get_arg(args, "accelerator_config")
    if raw is None:
        given: dict[str, Any] = {}
    elif dataclasses.is_dataclass(raw) and not isinstance(raw, type):
        given = {f.name: getattr(raw, f.name) for f in dataclasses.fields(raw)}
    elif hasattr(raw, "to_dict") and not isinstance(raw, Mapping):
        given = dict(raw.to_dict())
    else:
        given = load_json_config(raw, "accelerator_config") or {}
    unknown = set(given) - set(ACCELERATOR_CONFIG_DEFAULTS)
    if unknown:
        raise ValueError(
            f"Unknown `accelerator_config` keys {sorted(unknown)}; "
            f"allowed keys are {sorted(ACCELERATOR_CONFIG_DEFAULTS)}."
        )
    config = dict(ACCELERATOR_CONFIG_DEFAULTS)
    config.update(given)
    if config["gradient_accumulation_kwargs"] is not None:
        config["gradient_accumulation_kwargs"] = dict(config["gradient_accumulation_kwargs"])
    return config
