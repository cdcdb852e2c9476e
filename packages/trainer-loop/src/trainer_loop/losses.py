"""Reading the loss out of a model's outputs, and label smoothing."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn


def model_returns_loss_kwargs(model: nn.Module) -> bool:
    """Whether the model's ``forward`` takes extra loss keywords such as ``num_items_in_batch``."""
    declared = getattr(model, "accepts_loss_kwargs", None)
    if declared is not None:
        return bool(declared)
    params = inspect.signature(model.forward).parameters.values()
    return any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params)


def output_loss(outputs: Any, inputs: Mapping[str, Any]) -> torch.Tensor:
    """The loss a model returned: ``outputs["loss"]``, ``outputs.loss`` or ``outputs[0]``."""
    if isinstance(outputs, (dict, Mapping)):  # dict first: no ABC lookup
        loss = outputs.get("loss")
        if loss is None:
            raise ValueError(
                "The model did not return a loss: its outputs have only the keys "
                f"{sorted(outputs.keys())} for inputs {sorted(inputs.keys())}. Pass labels the model "
                "understands (see Trainer's label_names), make forward return the loss, or give "
                "Trainer a compute_loss_func."
            )
        return loss
    if isinstance(outputs, torch.Tensor):
        if outputs.dim() == 0:
            return outputs
        raise ValueError(
            f"The model returned a tensor of shape {tuple(outputs.shape)} instead of a loss. Return the "
            "loss first in a tuple, or as `loss` in a dict, or give Trainer a compute_loss_func."
        )
    if isinstance(outputs, (tuple, list)):
        if not outputs or not isinstance(outputs[0], torch.Tensor) or outputs[0].dim() != 0:
            raise ValueError(
                "The model returned a tuple whose first element is not a scalar loss. With labels in "
                f"the inputs ({sorted(inputs.keys())}), forward must return the loss first."
            )
        return outputs[0]
    loss = getattr(outputs, "loss", None)
    if loss is None:
        raise ValueError(
            f"The model returned {type(outputs).__name__} without a loss. Make forward return the loss "
            "(first in a tuple, or as `loss`), or give Trainer a compute_loss_func."
        )
    return loss


def output_logits(outputs: Any, skipped: frozenset[str], has_loss: bool) -> tuple:
    """Everything a model returned except the loss: mapping outputs drop the keys in ``skipped``
    (which holds ``"loss"`` when the model returned one), tuple outputs drop their first element
    when it is the loss."""
    if isinstance(outputs, (dict, Mapping)):
        return tuple(v for k, v in outputs.items() if k not in skipped)
    if isinstance(outputs, torch.Tensor):
        return (outputs,)
    return tuple(outputs[1:]) if has_loss else tuple(outputs)


class LabelSmoother:
    """Cross-entropy with label smoothing over the model's logits, ignoring ``ignore_index``."""

    def __init__(self, epsilon: float = 0.1, ignore_index: int = -100):
        self.epsilon = epsilon
        self.ignore_index = ignore_index

    def __call__(
        self, model_output: Any, labels: torch.Tensor, shift_labels: bool = False
    ) -> torch.Tensor:
        if isinstance(model_output, Mapping):
            logits = model_output["logits"]
        elif isinstance(model_output, (tuple, list)):
            logits = model_output[0]
        else:
            logits = model_output.logits
        if shift_labels:
            logits = logits[..., :-1, :].contiguous()
            labels = labels[..., 1:].contiguous()
        log_probs = -nn.functional.log_softmax(logits, dim=-1)
        if labels.dim() == log_probs.dim() - 1:
            labels = labels.unsqueeze(-1)
        padding = labels.eq(self.ignore_index)
        safe_labels = torch.clamp(labels, min=0)
        nll = log_probs.gather(dim=-1, index=safe_labels)
        smoothed = log_probs.sum(dim=-1, keepdim=True, dtype=torch.float32)
        nll.masked_fill_(padding, 0.0)
        smoothed.masked_fill_(padding, 0.0)
        active = padding.numel() - padding.long().sum()
        nll = nll.sum() / active
        smoothed = smoothed.sum() / (active * log_probs.shape[-1])
        return (1 - self.epsilon) * nll + self.epsilon * smoothed


def build_label_smoother(epsilon: float, model: Any) -> LabelSmoother | None:
    """The :class:`LabelSmoother` for ``label_smoothing_factor=epsilon``, or ``None``.

    ``None`` when ``epsilon`` is 0, and, with a ``UserWarning``, for a multi-label classification
    model (``model.config.problem_type == "multi_label_classification"``): its loss is a binary
    cross-entropy per label, which smoothing over a softmax would replace by a wrong objective.
    """
    if not epsilon:
        return None
    config = getattr(model, "config", None)
    if getattr(config, "problem_type", None) == "multi_label_classification":
        warnings.warn(
            f"label_smoothing_factor={epsilon} is ignored: Label smoothing is not compatible with "
            "multi-label classification (the model's problem_type); training without it.",
            UserWarning,
            stacklevel=3,
        )
        return None
    return LabelSmoother(epsilon)
