"""``model.train()`` once per micro-batch, at the cost of reading flags when nothing changed.

transformers calls ``model.train()`` at the start of every training step, which puts back into
training mode any submodule that was switched to evaluation mode since (by an evaluation, or by a
callback). Doing the same through ``nn.Module.train`` walks and re-assigns every module each step.
:class:`TrainMode` keeps the run's module list and calls ``model.train()`` only when some module
is not in training mode; when every module already is, that call would have changed nothing.
A model with any module that overrides ``train`` (adapters that merge weights, for example) gets
the plain call every step, as its override may do more than set the flag.
"""

from __future__ import annotations

from torch import nn


class TrainMode:
    """Puts one training run's model in training mode before each micro-batch."""

    __slots__ = ("_model", "_modules")

    def __init__(self) -> None:
        self.forget()

    def forget(self) -> None:
        """Drop the module list (a new run takes it afresh: the model may have changed)."""
        self._model: nn.Module | None = None
        self._modules: list[nn.Module] | None = None

    def apply(self, model: nn.Module) -> None:
        """Equivalent to ``model.train()``."""
        if model is not self._model:
            self._model, self._modules = model, _plain_modules(model)
        modules = self._modules
        if modules is None:
            model.train()
            return
        for module in modules:
            if not module.training:
                model.train()
                return


def _plain_modules(model: nn.Module) -> list[nn.Module] | None:
    """Every module of ``model``, or None when one of them overrides ``train``."""
    if not isinstance(model, nn.Module):
        return None
    modules = list(model.modules())
    for module in modules:
        if type(module).train is not nn.Module.train or "train" in module.__dict__:
            return None
    return modules
