"""Stand-ins for layer-wise optimizers (GaLore / APOLLO ``*_layerwise``).

A layer-wise optimizer gives each parameter its own optimizer, stepped from a gradient hook as soon
as that parameter's gradient is ready, so the full set of gradients never sits in memory at once.
The training loop still expects one optimizer and one scheduler; these classes fill that role and
do nothing when stepped, while exposing the per-parameter optimizers in ``optimizer_dict``.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain
from typing import Any

import torch
from torch.optim.lr_scheduler import LRScheduler

__all__ = ["LayerWiseDummyOptimizer", "LayerWiseDummyScheduler", "attach_layerwise_hooks"]


class LayerWiseDummyOptimizer(torch.optim.Optimizer):
    """No-op optimizer that carries the per-parameter optimizers of a layer-wise setup.

    ``optimizer_dict`` maps each parameter to the optimizer that updates it. Any other positional or
    keyword argument is accepted and ignored, except ``lr`` which becomes this optimizer's default.
    """

    def __init__(
        self,
        params: Any = None,
        optimizer_dict: dict[torch.nn.Parameter, torch.optim.Optimizer] | None = None,
        **kwargs: Any,
    ) -> None:
        if optimizer_dict is None and isinstance(params, dict):
            optimizer_dict = params
        self.optimizer_dict = optimizer_dict if optimizer_dict is not None else {}
        placeholder = torch.zeros(1, 1)
        super().__init__([placeholder], {"lr": kwargs.get("lr", 1e-03)})

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Nothing to do: each per-parameter optimizer clears its own gradient in the hook."""

    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Nothing to do: each parameter was already updated in its gradient hook."""
        return None


class LayerWiseDummyScheduler(LRScheduler):
    """No-op scheduler that reports the learning rates of the per-parameter optimizers."""

    def __init__(
        self, *args: Any, optimizer: LayerWiseDummyOptimizer | None = None, **kwargs: Any
    ) -> None:
        # Reusing the loop's own dummy optimizer (when given) keeps torch's "optimizer.step()
        # before scheduler.step()" bookkeeping right; otherwise a fresh one is made.
        self.default_lr = kwargs["lr"]
        if optimizer is None:
            optimizer = LayerWiseDummyOptimizer(**kwargs)
        super().__init__(optimizer, -1)

    def _inner_lrs(self) -> list[float]:
        """Every group lr of every per-parameter optimizer, in ``optimizer_dict`` order."""
        optimizer_dict = getattr(self.optimizer, "optimizer_dict", None)
        if not optimizer_dict:
            return [self.default_lr]
        return list(
            chain.from_iterable(
                [group["lr"] for group in opt.param_groups] for opt in optimizer_dict.values()
            )
        )

    def get_lr(self) -> list[float]:
        """The first per-parameter lr, for the placeholder group of the dummy optimizer."""
        return [self._inner_lrs()[0]] * len(self.optimizer.param_groups)

    def get_last_lr(self) -> list[float]:
        """The current lr of every per-parameter optimizer (what a training loop logs)."""
        return self._inner_lrs()

    def _get_closed_form_lr(self) -> list[float]:
        return self.base_lrs


def _step_and_clear(optimizer_dict: dict, param: torch.nn.Parameter) -> None:
    if param.grad is not None:
        optimizer_dict[param].step()
        optimizer_dict[param].zero_grad()


def attach_layerwise_hooks(
    model: torch.nn.Module, optimizer_dict: dict[torch.nn.Parameter, torch.optim.Optimizer]
) -> None:
    """Step each parameter's own optimizer right after its gradient has been accumulated."""

    def hook(param: torch.nn.Parameter) -> None:
        _step_and_clear(optimizer_dict, param)

    for param in model.parameters():
        if param.requires_grad:
            param.register_post_accumulate_grad_hook(hook)
