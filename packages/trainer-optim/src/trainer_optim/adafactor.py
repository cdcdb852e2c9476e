"""Adafactor (Shazeer & Stern, 2018): Adam-like updates with factored second moments.

For a matrix-shaped parameter the running average of squared gradients is kept as one row vector
and one column vector instead of a full matrix, so optimizer memory grows with ``rows + cols``
instead of ``rows * cols``. Vectors and scalars keep the full average.

The step size is either the external ``lr`` (``relative_step=False``) or an internal
``min(1e-2, 1/sqrt(step))`` schedule (``relative_step=True``; with ``warmup_init=True`` the
schedule starts at ``1e-6 * step`` instead of ``1e-2``). With ``scale_parameter=True`` the step
size is further multiplied by the parameter's root-mean-square (at least ``eps[1]``).

The update rule, defaults and state names (``step``, ``exp_avg``, ``exp_avg_sq``,
``exp_avg_sq_row``, ``exp_avg_sq_col``, ``RMS``) follow ``transformers.optimization.Adafactor``
so optimizer checkpoints move between the two.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

from ._lambdas import fixed_factor

__all__ = ["Adafactor", "AdafactorSchedule", "get_adafactor_schedule"]

_HALF_TYPES = (torch.float16, torch.bfloat16)


def _rms(tensor: torch.Tensor) -> torch.Tensor:
    """Root mean square of all entries."""
    return tensor.norm(2) / (tensor.numel() ** 0.5)


class Adafactor(Optimizer):
    """Memory-light adaptive optimizer; a drop-in for Adam in most fine-tuning recipes.

    Args:
        params: parameters or parameter-group dicts.
        lr: external learning rate; must be ``None`` when ``relative_step=True``.
        eps: ``(eps_sq, eps_scale)``: added to squared gradients, and the lower bound of the
            parameter scale.
        clip_threshold: the update is scaled down when its RMS exceeds this.
        decay_rate: exponent ``c`` of the second-moment decay ``beta2_t = 1 - step**c``.
        beta1: momentum on the update; ``None`` keeps no first moment (saves memory).
        weight_decay: decoupled decay, multiplied by the effective step size.
        scale_parameter: multiply the step size by the parameter RMS.
        relative_step: use the internal time-dependent step size instead of ``lr``.
        warmup_init: with ``relative_step``, warm the step size up linearly from ``1e-6``.

    For an external schedule use ``scale_parameter=False, relative_step=False`` and set ``lr``
    (this is what ``optim="adafactor"`` does). With ``relative_step=True`` pair it with
    :class:`AdafactorSchedule` so the loop can log the step size.
    """

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter] | Iterable[dict[str, Any]],
        lr: float | None = None,
        eps: tuple[float, float] = (1e-30, 1e-3),
        clip_threshold: float = 1.0,
        decay_rate: float = -0.8,
        beta1: float | None = None,
        weight_decay: float = 0.0,
        scale_parameter: bool = True,
        relative_step: bool = True,
        warmup_init: bool = False,
    ) -> None:
        if lr is not None and relative_step:
            raise ValueError("Cannot combine manual `lr` and `relative_step=True` options")
        if warmup_init and not relative_step:
            raise ValueError("`warmup_init=True` requires `relative_step=True`")
        defaults = {
            "lr": lr,
            "eps": eps,
            "clip_threshold": clip_threshold,
            "decay_rate": decay_rate,
            "beta1": beta1,
            "weight_decay": weight_decay,
            "scale_parameter": scale_parameter,
            "relative_step": relative_step,
            "warmup_init": warmup_init,
        }
        super().__init__(params, defaults)

    @staticmethod
    def _get_lr(param_group: dict[str, Any], param_state: dict[str, Any]) -> float:
        """Effective step size for one parameter, from its group settings and state."""
        step_size = param_group["lr"]
        if param_group["relative_step"]:
            ceiling = 1e-6 * param_state["step"] if param_group["warmup_init"] else 1e-2
            step_size = min(ceiling, 1.0 / math.sqrt(param_state["step"]))
        scale = 1.0
        if param_group["scale_parameter"]:
            scale = max(param_group["eps"][1], param_state["RMS"])
        return scale * step_size

    @staticmethod
    def _factored_second_moment(row: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
        """``1/sqrt`` of the rank-one estimate of the squared-gradient average."""
        row_term = (row / row.mean(dim=-1, keepdim=True)).rsqrt_().unsqueeze(-1)
        col_term = col.unsqueeze(-2).rsqrt()
        return torch.mul(row_term, col_term)

    def _init_state(
        self, state: dict[str, Any], grad: torch.Tensor, factored: bool, momentum: bool
    ) -> None:
        shape = grad.shape
        state["step"] = 0
        if momentum:
            state["exp_avg"] = torch.zeros_like(grad)
        if factored:
            state["exp_avg_sq_row"] = torch.zeros(shape[:-1]).to(grad)
            state["exp_avg_sq_col"] = torch.zeros(shape[:-2] + shape[-1:]).to(grad)
        else:
            state["exp_avg_sq"] = torch.zeros_like(grad)
        state["RMS"] = 0

    @staticmethod
    def _align_state(
        state: dict[str, Any], grad: torch.Tensor, factored: bool, momentum: bool
    ) -> None:
        """Move loaded state to the gradient's device and dtype."""
        names = ["exp_avg"] if momentum else []
        names += ["exp_avg_sq_row", "exp_avg_sq_col"] if factored else ["exp_avg_sq"]
        for name in names:
            state[name] = state[name].to(grad)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Update every parameter that has a gradient; returns the closure's loss if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    self._update(param, group)
        return loss

    def _update(self, param: torch.Tensor, group: dict[str, Any]) -> None:
        grad = param.grad
        if grad.dtype in _HALF_TYPES:
            grad = grad.float()
        if grad.is_sparse:
            raise RuntimeError("Adafactor does not support sparse gradients.")

        state = self.state[param]
        factored = grad.dim() >= 2
        momentum = group["beta1"] is not None
        if len(state) == 0:
            self._init_state(state, grad, factored, momentum)
        else:
            self._align_state(state, grad, factored, momentum)

        work = param.float() if param.dtype in _HALF_TYPES else param
        state["step"] += 1
        state["RMS"] = _rms(work)
        lr = self._get_lr(group, state)

        beta2t = 1.0 - math.pow(state["step"], group["decay_rate"])
        squared = (grad**2) + group["eps"][0]
        if factored:
            row, col = state["exp_avg_sq_row"], state["exp_avg_sq_col"]
            row.mul_(beta2t).add_(squared.mean(dim=-1), alpha=(1.0 - beta2t))
            col.mul_(beta2t).add_(squared.mean(dim=-2), alpha=(1.0 - beta2t))
            update = self._factored_second_moment(row, col)
            update.mul_(grad)
        else:
            second = state["exp_avg_sq"]
            second.mul_(beta2t).add_(squared, alpha=(1.0 - beta2t))
            update = second.rsqrt().mul_(grad)

        update.div_((_rms(update) / group["clip_threshold"]).clamp_(min=1.0))
        update.mul_(lr)

        if momentum:
            exp_avg = state["exp_avg"]
            exp_avg.mul_(group["beta1"]).add_(update, alpha=(1 - group["beta1"]))
            update = exp_avg

        if group["weight_decay"] != 0:
            work.add_(work, alpha=(-group["weight_decay"] * lr))
        work.add_(-update)
        if param.dtype in _HALF_TYPES:
            param.copy_(work)


class AdafactorSchedule(LambdaLR):
    """Read-only schedule that reports the step size Adafactor computes for itself.

    Adafactor with ``relative_step=True`` schedules its own step size; a training loop that logs
    ``scheduler.get_last_lr()`` gets that value from here. Before the first step it reports
    ``initial_lr``. Its multiplier is picklable.
    """

    def __init__(self, optimizer: Optimizer, initial_lr: float = 0.0) -> None:
        for group in optimizer.param_groups:
            group["initial_lr"] = initial_lr
        super().__init__(optimizer, partial(fixed_factor, value=initial_lr))
        for group in optimizer.param_groups:
            del group["initial_lr"]

    def get_lr(self) -> list[float]:
        """Step size of each group whose first parameter has a gradient (``base_lrs`` before)."""
        opt = self.optimizer
        lrs = [
            opt._get_lr(group, opt.state[group["params"][0]])
            for group in opt.param_groups
            if group["params"][0].grad is not None
        ]
        return lrs if lrs else list(self.base_lrs)


def get_adafactor_schedule(optimizer: Optimizer, initial_lr: float = 0.0) -> AdafactorSchedule:
    """Shorthand for :class:`AdafactorSchedule`."""
    return AdafactorSchedule(optimizer, initial_lr)
