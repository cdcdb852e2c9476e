"""Adafactor behaviour that needs no reference implementation."""

from __future__ import annotations

import pytest
import torch
from trainer_optim import Adafactor, AdafactorSchedule, get_adafactor_schedule


def test_option_errors():
    p = [torch.nn.Parameter(torch.ones(2))]
    with pytest.raises(ValueError, match="relative_step=True"):
        Adafactor(p, lr=1e-3)
    with pytest.raises(ValueError, match="warmup_init=True"):
        Adafactor(p, lr=1e-3, relative_step=False, warmup_init=True)


def test_factored_state_is_small():
    p = torch.nn.Parameter(torch.randn(64, 32))
    opt = Adafactor([p], beta1=None)
    p.grad = torch.randn_like(p)
    opt.step()
    state = opt.state[p]
    assert state["exp_avg_sq_row"].shape == (64,)
    assert state["exp_avg_sq_col"].shape == (32,)
    assert "exp_avg" not in state and "exp_avg_sq" not in state


def test_sparse_gradients_rejected():
    emb = torch.nn.Embedding(10, 4, sparse=True)
    opt = Adafactor(emb.parameters())
    emb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(RuntimeError, match="sparse"):
        opt.step()


def test_learns_a_regression():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    x = torch.randn(64, 4)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.3
    opt = Adafactor(model.parameters(), lr=0.1, relative_step=False, scale_parameter=False)
    first = None
    for _ in range(200):
        loss = torch.nn.functional.mse_loss(model(x), y)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < first * 0.05


def test_closure_is_evaluated_with_grad():
    model = torch.nn.Linear(2, 1)
    opt = Adafactor(model.parameters())

    def closure():
        opt.zero_grad()
        loss = model(torch.ones(1, 2)).sum()
        loss.backward()
        return loss

    assert opt.step(closure) is not None


def test_schedule_before_and_after_first_step():
    p = torch.nn.Parameter(torch.ones(3, 3))
    opt = Adafactor([p])
    sched = get_adafactor_schedule(opt, initial_lr=0.25)
    assert isinstance(sched, AdafactorSchedule)
    assert sched.get_last_lr() == [0.25]
    assert "initial_lr" not in opt.param_groups[0]
    p.grad = torch.ones_like(p)
    opt.step()
    sched.step()
    assert sched.get_last_lr() == [pytest.approx(1e-2)]  # min(1e-2, 1/sqrt(1)) * RMS(ones)=1
