"""Helpers shared by the tracker callbacks: package checks, key grouping, run configuration."""

from __future__ import annotations

import importlib
import importlib.util
import os
import socket
from datetime import datetime
from typing import Any

#: Values of a boolean environment variable that mean "on".
TRUE_VALUES = {"1", "ON", "YES", "TRUE"}

#: Logged keys that describe the run as a whole: trackers keep them as summary values.
SUMMARY_KEYS = (
    "train_runtime",
    "train_samples_per_second",
    "train_steps_per_second",
    "train_loss",
    "total_flos",
)


def has_module(name: str) -> bool:
    """Whether ``name`` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def env_flag(name: str, default: str = "FALSE") -> bool:
    """Read a boolean environment variable (``1``, ``true``, ``yes``, ``on`` count as true)."""
    return os.getenv(name, default).upper() in TRUE_VALUES


def install_hint(extra: str, package: str | None = None) -> str:
    """The command that installs an integration's client, through our extra when there is one."""
    if package is not None:
        return f"pip install {package}"
    return f'pip install "trainer-loop[{extra}]"'


def import_client(module: str, callback: str, extra: str, package: str | None = None) -> Any:
    """Import a tracker client, or raise ``ImportError`` naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"{callback} needs the {module} package, which is not installed: "
            f"{install_hint(extra, package)}"
        ) from error


def rewrite_logs(logs: dict[str, Any]) -> dict[str, Any]:
    """Group log keys for dashboards: ``eval_x`` -> ``eval/x``, ``test_x`` -> ``test/x``, else ``train/x``."""
    grouped: dict[str, Any] = {}
    for key, value in logs.items():
        if key.startswith("eval_"):
            grouped["eval/" + key[5:]] = value
        elif key.startswith("test_"):
            grouped["test/" + key[5:]] = value
        else:
            grouped["train/" + key] = value
    return grouped


def default_logdir() -> str:
    """``runs/<Mon DD_HH-MM-SS>_<hostname>``, the folder name PyTorch's SummaryWriter picks."""
    stamp = datetime.now().strftime("%b%d_%H-%M-%S")
    return os.path.join("runs", f"{stamp}_{socket.gethostname()}")


def model_config_dict(model: Any) -> dict[str, Any] | None:
    """The model's configuration as a dict (``config.to_dict()``), or ``None`` when it has none."""
    config = getattr(model, "config", None)
    if config is None:
        return None
    if isinstance(config, dict):
        return dict(config)
    to_dict = getattr(config, "to_dict", None)
    return to_dict() if callable(to_dict) else None


def run_config(args: Any, model: Any, with_peft: bool = True) -> dict[str, Any]:
    """What a tracker records as the run's configuration.

    The model configuration first, then the training arguments over it (``args.to_dict()``, which
    masks every ``*_token`` field), then ``peft_config`` when the model has adapters.
    """
    combined: dict[str, Any] = {}
    config = model_config_dict(model)
    if config:
        combined.update(config)
    combined.update(args.to_dict())
    peft_config = getattr(model, "peft_config", None) if with_peft else None
    if peft_config is not None:
        combined = {"peft_config": peft_config, **combined}
    return combined


def num_parameters(model: Any) -> int | None:
    """``model.num_parameters()`` when the model has it, else the count of its parameters."""
    counter = getattr(model, "num_parameters", None)
    if callable(counter):
        return int(counter())
    parameters = getattr(model, "parameters", None)
    if callable(parameters):
        return sum(p.numel() for p in parameters())
    return None


def save_model_files(model: Any, processing_class: Any, folder: str) -> None:
    """Write the model (``save_pretrained`` or a safetensors state dict) and its tokenizer."""
    os.makedirs(folder, exist_ok=True)
    saver = getattr(model, "save_pretrained", None)
    if callable(saver):
        saver(folder)
    else:
        from safetensors.torch import save_file

        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(state, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
    if processing_class is not None and hasattr(processing_class, "save_pretrained"):
        processing_class.save_pretrained(folder)
    with open(os.path.join(folder, "model_architecture.txt"), "w", encoding="utf-8") as handle:
        print(model, file=handle)


def checkpoint_path(args: Any, state: Any) -> str:
    """The folder of the checkpoint saved at the current step."""
    return os.path.join(args.output_dir, f"checkpoint-{state.global_step}")


def numeric_items(logs: dict[str, Any]) -> tuple[dict[str, float], list[str]]:
    """Split ``logs`` into numbers (one-element tensors become floats) and the keys dropped."""
    kept: dict[str, float] = {}
    dropped: list[str] = []
    for key, value in logs.items():
        if isinstance(value, bool):
            kept[key] = int(value)
        elif isinstance(value, (int, float)):
            kept[key] = value
        elif hasattr(value, "numel") and hasattr(value, "item") and value.numel() == 1:
            kept[key] = value.item()
        else:
            dropped.append(key)
    return kept, dropped
