"""The model's module and parameter lists, kept for the hot loop instead of walked every step.

Every optimizer step of transformers' loop walks the module tree three times: ``model.train()``
before the micro-batch, ``model.parameters()`` for clipping (or measuring) the gradient norm and
``model.zero_grad()`` after the update. Each walk goes through nested generators over every
module; on a small model the walks take several percent of a step. :class:`ModelLists` takes the
lists once and does the same work through them:

- ``train(model)`` calls ``model.train()`` only when some module is not in training mode (when all
  are, that call changes nothing). A model with a module that overrides ``train`` (adapters that
  merge weights, for example) gets the plain call every step, as its override may do more.
- ``parameters(model)`` is ``model.parameters()`` as a list.
- ``zero_grad(model)`` sets each parameter's ``.grad`` to ``None``, as ``model.zero_grad()`` does.

The lists are taken again whenever a module anywhere in the process registers a parameter or a
submodule (PyTorch's global registration hooks count them, installed when lists are first
taken), so a callback that adds a module or
replaces a parameter mid-run is seen at the next step. Writes that bypass registration (FSDP's and
DeepSpeed's parameter views, accelerate's offloading hooks) would go unseen: for those models, and
for a model whose class overrides ``zero_grad``, the parameter work goes through the model's own
methods every step.
"""

from __future__ import annotations

from collections.abc import Iterable

from torch import nn
from torch.nn.modules.module import (
    register_module_module_registration_hook,
    register_module_parameter_registration_hook,
)

_structure_version = 0
_counting = False


def _count_registration(module: nn.Module, name: str, value: object) -> None:
    global _structure_version
    _structure_version += 1  # returns None: the registration itself is unchanged


def _start_counting() -> None:
    # Process-wide hooks, so installed by the first training run rather than at import.
    global _counting
    if not _counting:
        register_module_parameter_registration_hook(_count_registration)
        register_module_module_registration_hook(_count_registration)
        _counting = True


class ModelLists:
    """One training run's view of the model's modules and parameters (see the module docstring)."""

    __slots__ = ("_model", "_version", "_modules", "_parameters", "_lists_allowed")

    def __init__(self) -> None:
        self.forget()

    def forget(self, lists_allowed: bool = False) -> None:
        """Drop the lists; ``lists_allowed`` says whether parameter lists may stand in for the
        model's own ``parameters()``/``zero_grad()`` (False for sharded or offloaded models)."""
        self._model: object = None
        self._version = -1
        self._modules: list[nn.Module] | None = None
        self._parameters: list[nn.Parameter] | None = None
        self._lists_allowed = lists_allowed

    def _take(self, model: nn.Module) -> None:
        _start_counting()
        self._model, self._version = model, _structure_version
        self._modules = self._parameters = None
        if not isinstance(model, nn.Module):
            return
        modules = list(model.modules())
        if not any(_overrides(module, "train") for module in modules):
            self._modules = modules
        own_parameter_walk = _overrides(model, "zero_grad") or _overrides(model, "parameters")
        offloaded = any("_hf_hook" in module.__dict__ for module in modules)
        if self._lists_allowed and not own_parameter_walk and not offloaded:
            self._parameters = list(model.parameters())

    def train(self, model: nn.Module) -> None:
        """Equivalent to ``model.train()``."""
        if model is not self._model or self._version != _structure_version:
            self._take(model)
        modules = self._modules
        if modules is None:
            model.train()
            return
        for module in modules:
            if not module.training:
                model.train()
                return

    def parameters(self, model: nn.Module) -> Iterable[nn.Parameter]:
        """Equivalent to ``model.parameters()``."""
        if model is not self._model or self._version != _structure_version:
            self._take(model)
        return model.parameters() if self._parameters is None else self._parameters

    def zero_grad(self, model: nn.Module) -> None:
        """Equivalent to ``model.zero_grad()``."""
        if model is not self._model or self._version != _structure_version:
            self._take(model)
        parameters = self._parameters
        if parameters is None:
            model.zero_grad()
            return
        for parameter in parameters:
            if parameter.grad is not None:
                parameter.grad = None


def _overrides(module: nn.Module, name: str) -> bool:
    return getattr(type(module), name) is not getattr(nn.Module, name) or name in module.__dict__
