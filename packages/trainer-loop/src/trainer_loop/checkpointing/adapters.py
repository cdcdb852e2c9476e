"""PEFT adapter models: recognising them and loading their checkpoints.

A ``peft.PeftModel`` saves only its adapter (``adapter_model.safetensors`` and
``adapter_config.json``) through its own ``save_pretrained``, so checkpoints written by the
trainer hold the adapter and nothing else. Resuming and loading the best model put those weights
back with PEFT's ``load_adapter`` into the adapter being trained. peft is never imported here: a
model is a PEFT model only when the user's process already loaded peft.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from torch import nn

from .checks import ADAPTER_SAFE_WEIGHTS_NAME, ADAPTER_WEIGHTS_NAME

logger = logging.getLogger(__name__)

ADAPTER_CONFIG_NAME = "adapter_config.json"


def is_peft_model(model: Any) -> bool:
    """Whether ``model`` is a ``peft.PeftModel`` or ``PeftMixedModel``."""
    peft = sys.modules.get("peft")
    if peft is None:
        return False
    classes = tuple(
        cls
        for cls in (getattr(peft, "PeftModel", None), getattr(peft, "PeftMixedModel", None))
        if cls is not None
    )
    return bool(classes) and isinstance(model, classes)


def base_model_of_adapters(model: Any) -> Any:
    """The model a PEFT model wraps (the model itself otherwise)."""
    if is_peft_model(model) and callable(getattr(model, "get_base_model", None)):
        return model.get_base_model()
    return model


def carries_adapters(model: Any) -> bool:
    """A PEFT model, or a transformers model with adapters attached by ``add_adapter``."""
    return is_peft_model(model) or bool(getattr(model, "_hf_peft_config_loaded", False))


def has_adapter_weights(folder: str) -> bool:
    """Whether ``folder`` holds adapter weights directly or in per-adapter subfolders."""
    return _has_adapter_files(folder) or bool(adapter_subfolders(folder))


def _has_adapter_files(folder: str) -> bool:
    return any(
        os.path.isfile(os.path.join(folder, name))
        for name in (ADAPTER_SAFE_WEIGHTS_NAME, ADAPTER_WEIGHTS_NAME)
    )


def adapter_subfolders(folder: str) -> list[str]:
    """Names of subfolders holding one adapter each (how PEFT saves several adapters)."""
    if not os.path.isdir(folder):
        return []
    return sorted(
        name
        for name in os.listdir(folder)
        if os.path.isdir(os.path.join(folder, name))
        and _has_adapter_files(os.path.join(folder, name))
    )


def _active_adapter(model: Any) -> str:
    active = getattr(model, "active_adapters", None)
    if callable(active):  # transformers' integrated adapters expose it as a method
        active = active()
    if isinstance(active, str):
        active = [active]
    if not active:
        return getattr(model, "active_adapter", "default")
    if len(active) > 1:
        logger.warning("Several adapters are active; only %r is loaded and trained.", active[0])
    return active[0]


def load_adapter_checkpoint(model: nn.Module, folder: str, *, is_trainable: bool = True) -> bool:
    """Load the adapter weights saved in ``folder`` into ``model``'s active adapter.

    Several adapters saved in subfolders are each loaded under their own name, and the active
    one is set again. Returns False (with a warning) when ``folder`` holds no adapter weights.
    """
    if not hasattr(model, "load_adapter"):
        raise RuntimeError(
            f"{type(model).__name__} carries adapters but has no `load_adapter`: upgrade peft "
            "(`pip install -U peft`) to load adapter checkpoints."
        )
    active = _active_adapter(model)
    subfolders = adapter_subfolders(folder)
    if _has_adapter_files(folder):
        _load(model, folder, active, is_trainable)
    elif subfolders:
        for name in subfolders:
            _load(model, os.path.join(folder, name), name, is_trainable and name == active)
        if hasattr(model, "set_adapter"):
            model.set_adapter(active)
    else:
        logger.warning(
            "No adapter weights (%s) in %s: the adapter keeps its current weights.",
            ADAPTER_SAFE_WEIGHTS_NAME,
            folder,
        )
        return False
    return True


def _load(model: nn.Module, folder: str, adapter: str, is_trainable: bool) -> None:
    if is_peft_model(model):
        model.load_adapter(folder, adapter, is_trainable=is_trainable)
    else:  # transformers' integrated adapters: is_trainable is not an argument there
        model.load_adapter(folder, adapter_name=adapter)
