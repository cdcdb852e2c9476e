"""Our Adafactor updates parameters exactly as transformers.optimization.Adafactor does."""

from __future__ import annotations

import copy

import pytest

pytest.importorskip("transformers")

import torch
from trainer_optim import Adafactor, AdafactorSchedule
from transformers.optimization import Adafactor as HFAdafactor
from transformers.optimization import AdafactorSchedule as HFAdafactorSchedule

MODES = [
    {},
    {"warmup_init": True},
    {"lr": 1e-2, "relative_step": False, "scale_parameter": False},
    {"lr": 1e-3, "relative_step": False, "beta1": 0.9, "weight_decay": 0.01},
    {"clip_threshold": 0.5, "decay_rate": -0.5, "beta1": 0.5, "eps": (1e-20, 1e-2)},
]


def _params(dtype=torch.float32) -> list[torch.nn.Parameter]:
    g = torch.Generator().manual_seed(0)
    shapes = [(6, 5), (5,), (3, 4, 2), ()]
    return [torch.nn.Parameter(torch.randn(s, generator=g).to(dtype)) for s in shapes]


def _run(cls, kwargs, dtype=torch.float32, steps=20):
    params = _params(dtype)
    opt = cls([{"params": params[:2]}, {"params": params[2:], "weight_decay": 0.0}], **kwargs)
    g = torch.Generator().manual_seed(1)
    for step in range(steps):
        for i, p in enumerate(params):
            # the scalar gets no gradient on odd steps: such parameters must be skipped
            p.grad = None if (i == 3 and step % 2) else torch.randn(p.shape, generator=g).to(dtype)
        opt.step()
    return params, opt


@pytest.mark.parametrize("kwargs", MODES)
def test_updates_match_over_20_steps(kwargs):
    ours, ours_opt = _run(Adafactor, kwargs)
    theirs, theirs_opt = _run(HFAdafactor, kwargs)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    for pa, pb in zip(ours, theirs):
        sa, sb = ours_opt.state[pa], theirs_opt.state[pb]
        assert sorted(sa) == sorted(sb)
        assert sa["step"] == sb["step"]


@pytest.mark.parametrize("kwargs", [MODES[0], MODES[3]])
def test_bfloat16_parameters_match(kwargs):
    ours, _ = _run(Adafactor, kwargs, dtype=torch.bfloat16, steps=5)
    theirs, _ = _run(HFAdafactor, kwargs, dtype=torch.bfloat16, steps=5)
    for a, b in zip(ours, theirs):
        assert a.dtype == torch.bfloat16
        torch.testing.assert_close(a, b)


def test_state_dict_moves_between_implementations():
    kwargs = MODES[3]
    theirs, theirs_opt = _run(HFAdafactor, kwargs, steps=10)
    params = [torch.nn.Parameter(p.detach().clone()) for p in theirs]
    ours_opt = Adafactor(
        [{"params": params[:2]}, {"params": params[2:], "weight_decay": 0.0}], **kwargs
    )
    ours_opt.load_state_dict(copy.deepcopy(theirs_opt.state_dict()))
    g = torch.Generator().manual_seed(5)
    for _ in range(5):
        for a, b in zip(params, theirs):
            grad = torch.randn(a.shape, generator=g)
            a.grad, b.grad = grad.clone(), grad.clone()
        ours_opt.step()
        theirs_opt.step()
    for a, b in zip(params, theirs):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_schedule_reports_the_same_lr():
    reported = []
    for opt_cls, sched_cls in ((Adafactor, AdafactorSchedule), (HFAdafactor, HFAdafactorSchedule)):
        params = _params()
        opt = opt_cls(params, warmup_init=True)
        sched = sched_cls(opt, initial_lr=1e-3)
        lrs = [sched.get_last_lr()]
        for _ in range(5):
            for p in params:
                p.grad = torch.ones_like(p)
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr())
        reported.append(lrs)
    assert reported[0] == reported[1]
