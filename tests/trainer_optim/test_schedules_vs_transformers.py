"""Every schedule gives the same learning rate as transformers' get_scheduler at every step."""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("transformers")

import torch
import trainer_optim
from trainer_optim import create_scheduler, get_scheduler
from transformers import TrainingArguments as HFTrainingArguments
from transformers import get_scheduler as hf_get_scheduler

TOTAL = 100
STEPS = 110  # run past the end to cover the tail of each schedule
LR = 0.1

KWARGS: dict[str, list[dict]] = {
    "linear": [{}],
    "cosine": [{}, {"num_cycles": 1.5}],
    "cosine_with_restarts": [{}, {"num_cycles": 3}],
    "polynomial": [{}, {"lr_end": 1e-3, "power": 2.0}],
    "constant": [{}],
    "constant_with_warmup": [{}],
    "inverse_sqrt": [{}],
    "cosine_with_min_lr": [{"min_lr_rate": 0.1}, {"min_lr": 1e-3, "num_cycles": 0.75}],
    "cosine_warmup_with_min_lr": [{"min_lr_rate": 0.05}, {"min_lr": 0.01, "warmup_lr_rate": 0.1}],
    "warmup_stable_decay": [
        {"num_decay_steps": 20},
        {
            "num_decay_steps": 30,
            "warmup_type": "cosine",
            "decay_type": "1-sqrt",
            "min_lr_ratio": 0.1,
        },
        {
            "num_decay_steps": 10,
            "num_stable_steps": 50,
            "warmup_type": "1-sqrt",
            "decay_type": "linear",
        },
    ],
}
CASES = [
    (name, warmup, kwargs)
    for name, variants in KWARGS.items()
    for kwargs in variants
    for warmup in (0, 1, 7, 25)
]


def _optimizer() -> torch.optim.Optimizer:
    params = [torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(3))]
    return torch.optim.SGD([{"params": params[:1]}, {"params": params[1:], "lr": LR / 2}], lr=LR)


def _trace(factory, name, warmup, kwargs) -> list[list[float]]:
    opt = _optimizer()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = factory(name, opt, warmup, TOTAL, dict(kwargs))
    lrs = [list(sched.get_last_lr())]
    for _ in range(STEPS):
        opt.step()
        sched.step()
        lrs.append(list(sched.get_last_lr()))
    return lrs


@pytest.mark.parametrize(("name", "warmup", "kwargs"), CASES)
def test_lr_at_every_step_matches(name, warmup, kwargs):
    ours = _trace(get_scheduler, name, warmup, kwargs)
    theirs = _trace(hf_get_scheduler, name, warmup, kwargs)
    assert len(ours) == len(theirs) == STEPS + 1
    for step, (a, b) in enumerate(zip(ours, theirs)):
        assert a == pytest.approx(b, abs=1e-12, rel=0), f"step {step}: {a} != {b}"


@pytest.mark.parametrize("kwargs", [{}, {"factor": 0.5, "patience": 2, "mode": "max"}])
def test_reduce_on_plateau_matches(kwargs):
    metrics = [1.0, 0.9, 0.9, 0.9, 0.9, 0.95, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7] * 9
    traces = []
    for factory in (get_scheduler, hf_get_scheduler):
        opt = _optimizer()
        sched = factory("reduce_lr_on_plateau", opt, None, None, dict(kwargs))
        lrs = []
        for m in metrics:
            opt.step()
            sched.step(m)
            lrs.append([g["lr"] for g in opt.param_groups])
        traces.append(lrs)
    assert traces[0] == traces[1]


def _hf_args(**kw) -> HFTrainingArguments:
    return HFTrainingArguments(output_dir="out", report_to="none", **kw)


@pytest.mark.parametrize(
    "kw",
    [
        {"lr_scheduler_type": "cosine", "warmup_steps": 0.1},
        {"lr_scheduler_type": "linear", "warmup_steps": 12},
        {"lr_scheduler_type": "cosine_with_min_lr", "lr_scheduler_kwargs": {"min_lr_rate": 0.2}},
        {
            "lr_scheduler_type": "warmup_stable_decay",
            "warmup_steps": 5,
            "lr_scheduler_kwargs": {"num_decay_steps": 15},
        },
    ],
)
def test_create_scheduler_matches_trainer(kw):
    args = _hf_args(**kw)
    ours_opt, theirs_opt = _optimizer(), _optimizer()
    ours = create_scheduler(args, ours_opt, TOTAL)
    theirs = hf_get_scheduler(
        args.lr_scheduler_type,
        theirs_opt,
        num_warmup_steps=args.get_warmup_steps(TOTAL),
        num_training_steps=TOTAL,
        scheduler_specific_kwargs=args.lr_scheduler_kwargs,
    )
    for _ in range(TOTAL):
        ours_opt.step()
        theirs_opt.step()
        ours.step()
        theirs.step()
        assert ours.get_last_lr() == theirs.get_last_lr()


def test_every_scheduler_type_is_covered():
    from transformers.trainer_utils import SchedulerType

    assert [s.value for s in SchedulerType] == list(trainer_optim.SCHEDULER_NAMES)
    assert set(KWARGS) | {"reduce_lr_on_plateau"} == set(trainer_optim.SCHEDULER_NAMES)


def test_named_helpers_match_transformers_helpers():
    import transformers.optimization as hf

    for helper in [
        n
        for n in trainer_optim.__all__
        if n.startswith("get_") and n.endswith(("schedule", "warmup", "lr_rate"))
    ]:
        assert hasattr(hf, helper), helper
