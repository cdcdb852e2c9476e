"""NEFTune (``neftune_noise_alpha``): uniform noise on the input embeddings while training.

The noise is drawn in ``[-alpha / sqrt(L * d), alpha / sqrt(L * d)]`` for an embedding output of
sequence length ``L`` and width ``d`` (https://huggingface.co/papers/2310.05914), from the global
torch RNG, and only while the embedding module is in training mode: evaluation sees clean
embeddings.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn


def _input_embeddings(model: nn.Module) -> nn.Module:
    inner = getattr(model, "module", model)
    base = getattr(inner, "base_model", None)
    if base is not None and hasattr(base, "model") and hasattr(base.model, "get_input_embeddings"):
        inner = base.model  # a PEFT model wraps the transformers model twice
    if not hasattr(inner, "get_input_embeddings"):
        raise ValueError(
            "neftune_noise_alpha needs a model with `get_input_embeddings()` (an embedding layer "
            f"to add noise to); {type(inner).__name__} has none. Set neftune_noise_alpha=None."
        )
    return inner.get_input_embeddings()


def _add_noise(module: nn.Module, inputs: Any, output: torch.Tensor) -> torch.Tensor:
    if not module.training:
        return output
    bound = module.neftune_noise_alpha / math.sqrt(output.size(1) * output.size(2))
    return output + torch.zeros_like(output).uniform_(-bound, bound)


def activate_neftune(model: nn.Module, alpha: float) -> Any:
    """Attach the noise to ``model``'s input embeddings; returns the hook handle."""
    embeddings = _input_embeddings(model)
    embeddings.neftune_noise_alpha = alpha
    return embeddings.register_forward_hook(_add_noise)


def deactivate_neftune(model: nn.Module, handle: Any) -> None:
    """Remove the hook attached by :func:`activate_neftune`."""
    handle.remove()
    embeddings = _input_embeddings(model)
    if hasattr(embeddings, "neftune_noise_alpha"):
        del embeddings.neftune_noise_alpha
