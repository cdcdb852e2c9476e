"""Schedules without transformers: errors, pickling, state_dict resume, args objects."""

from __future__ import annotations

import io
import pickle
import types

import pytest
import torch
from trainer_optim import (
    SCHEDULER_NAMES,
    AdafactorSchedule,
    create_scheduler,
    get_polynomial_decay_schedule_with_warmup,
    get_scheduler,
    get_wsd_schedule,
)
from trainer_optim._compat import enum_value

KWARGS = {
    "cosine_with_min_lr": {"min_lr_rate": 0.1},
    "cosine_warmup_with_min_lr": {"min_lr": 0.01, "warmup_lr_rate": 0.2},
    "warmup_stable_decay": {"num_decay_steps": 20},
    "cosine_with_restarts": {"num_cycles": 3},
    "polynomial": {"power": 2.0, "lr_end": 1e-4},
}


def _optimizer(lr: float = 0.1) -> torch.optim.Optimizer:
    torch.manual_seed(0)
    return torch.optim.SGD(torch.nn.Linear(3, 2).parameters(), lr=lr)


def _make(name, opt):
    return get_scheduler(
        name,
        opt,
        num_warmup_steps=10,
        num_training_steps=100,
        scheduler_specific_kwargs=KWARGS.get(name),
    )


def _step(opt, sched, n, name):
    lrs = []
    for i in range(n):
        opt.step()
        if name == "reduce_lr_on_plateau":
            sched.step(1.0 if i < 5 else 2.0)
        else:
            sched.step()
        lrs.append([g["lr"] for g in opt.param_groups])
    return lrs


@pytest.mark.parametrize("name", SCHEDULER_NAMES)
def test_state_dict_resume_is_exact(name):
    opt = _optimizer()
    full = _step(opt, _make(name, opt), 100, name)

    opt = _optimizer()
    sched = _make(name, opt)
    first = _step(opt, sched, 37, name)
    buffer = io.BytesIO()
    torch.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)

    opt2 = _optimizer()
    sched2 = _make(name, opt2)
    opt2.load_state_dict(saved["optimizer"])
    sched2.load_state_dict(saved["scheduler"])
    rest = _step(opt2, sched2, 63, name)
    assert first + rest == full


@pytest.mark.parametrize("name", SCHEDULER_NAMES)
def test_scheduler_pickles(name):
    opt = _optimizer()
    sched = _make(name, opt)
    _step(opt, sched, 13, name)
    clone = pickle.loads(pickle.dumps(sched))
    assert clone.last_epoch == sched.last_epoch
    assert _step(clone.optimizer, clone, 20, name) == _step(opt, sched, 20, name)


def test_adafactor_schedule_pickles_and_saves_weights_only():
    from trainer_optim import Adafactor

    model = torch.nn.Linear(3, 2)
    opt = Adafactor(model.parameters())
    sched = AdafactorSchedule(opt, initial_lr=0.5)
    assert sched.get_last_lr() == [0.5]
    pickle.loads(pickle.dumps(sched))
    buffer = io.BytesIO()
    torch.save(sched.state_dict(), buffer)
    buffer.seek(0)
    torch.load(buffer, weights_only=True)


@pytest.mark.parametrize(
    "name", [n for n in SCHEDULER_NAMES if n not in ("constant", "reduce_lr_on_plateau")]
)
def test_missing_warmup_steps(name):
    with pytest.raises(ValueError, match="requires `num_warmup_steps`"):
        get_scheduler(
            name, _optimizer(), num_training_steps=10, scheduler_specific_kwargs=KWARGS.get(name)
        )


@pytest.mark.parametrize(
    "name",
    [
        n
        for n in SCHEDULER_NAMES
        if n
        not in (
            "constant",
            "reduce_lr_on_plateau",
            "constant_with_warmup",
            "inverse_sqrt",
            "warmup_stable_decay",
        )
    ],
)
def test_missing_training_steps(name):
    with pytest.raises(ValueError, match="requires `num_training_steps`"):
        get_scheduler(
            name, _optimizer(), num_warmup_steps=2, scheduler_specific_kwargs=KWARGS.get(name)
        )


def test_constant_and_plateau_need_no_steps():
    assert get_scheduler("constant", _optimizer()).get_last_lr() == [0.1]
    plateau = get_scheduler(
        "reduce_lr_on_plateau", _optimizer(), scheduler_specific_kwargs={"patience": 1}
    )
    assert isinstance(plateau, torch.optim.lr_scheduler.ReduceLROnPlateau)
    assert plateau.patience == 1


def test_unknown_name_lists_choices():
    with pytest.raises(ValueError, match="not a valid SchedulerType.*cosine_with_min_lr"):
        get_scheduler("cosinus", _optimizer(), 1, 10)


def test_schedule_argument_errors():
    with pytest.raises(ValueError, match="lr_end"):
        get_polynomial_decay_schedule_with_warmup(_optimizer(lr=1e-8), 1, 10)
    with pytest.raises(ValueError, match="Only one of min_lr or min_lr_rate"):
        get_scheduler(
            "cosine_with_min_lr", _optimizer(), 1, 10, {"min_lr": 0.1, "min_lr_rate": 0.1}
        )
    with pytest.raises(ValueError, match="One of min_lr or min_lr_rate"):
        get_scheduler("cosine_with_min_lr", _optimizer(), 1, 10)
    with pytest.raises(ValueError, match="num_training_steps or num_stable_steps"):
        get_wsd_schedule(_optimizer(), 1, 5)
    with pytest.raises(ValueError, match="Unknown warmup type"):
        get_wsd_schedule(_optimizer(), 1, 5, 10, warmup_type="exp")
    with pytest.raises(ValueError, match="Unknown decay type"):
        get_wsd_schedule(_optimizer(), 1, 5, 10, decay_type="exp")
    with pytest.raises(ValueError, match="num_decay_steps"):
        get_scheduler("warmup_stable_decay", _optimizer(), 1, 10)
    with pytest.warns(UserWarning, match="num_stable_steps will be used"):
        get_wsd_schedule(_optimizer(), 1, 5, 100, num_stable_steps=3)


def test_inverse_sqrt_timescale_and_default():
    opt = _optimizer(lr=1.0)
    sched = get_scheduler("inverse_sqrt", opt, num_warmup_steps=0)
    for _ in range(30000):
        sched.last_epoch += 1
    assert sched.lr_lambdas[0](30000) == pytest.approx((10000 / 40000) ** 0.5)
    sched = get_scheduler("inverse_sqrt", _optimizer(), 4, None, {"timescale": 16})
    assert sched.lr_lambdas[0](4) == 1.0
    assert sched.lr_lambdas[0](16) == pytest.approx((16 / 28) ** 0.5)


def test_enum_members_are_accepted():
    trainer_args = pytest.importorskip("trainer_args")
    for member in trainer_args.SchedulerType:
        assert enum_value(member) in SCHEDULER_NAMES
    sched = get_scheduler(trainer_args.SchedulerType.COSINE, _optimizer(), 0, 10)
    assert sched.get_last_lr() == [0.1]


class _Args(types.SimpleNamespace):
    pass


@pytest.mark.parametrize(
    ("fields", "warmup"),
    [
        ({"warmup_steps": 0.1}, 10),
        ({"warmup_steps": 5}, 5),
        ({"warmup_steps": 0, "warmup_ratio": 0.25}, 25),
        ({}, 0),
    ],
)
def test_create_scheduler_with_plain_object(fields, warmup):
    args = _Args(lr_scheduler_type="constant_with_warmup", lr_scheduler_kwargs=None, **fields)
    sched = create_scheduler(args, _optimizer(), 100)
    assert sched.lr_lambdas[0].keywords["num_warmup_steps"] == warmup


def test_create_scheduler_reads_json_kwargs_and_get_warmup_steps():
    args = _Args(
        lr_scheduler_type="cosine_with_min_lr",
        lr_scheduler_kwargs='{"min_lr_rate": 0.3}',
        get_warmup_steps=lambda n: 7,
    )
    sched = create_scheduler(args, _optimizer(), 50)
    assert sched.lr_lambdas[0].keywords["min_lr_rate"] == 0.3
    assert sched.lr_lambdas[0].keywords["num_warmup_steps"] == 7


def test_create_scheduler_with_trainer_args():
    trainer_args = pytest.importorskip("trainer_args")
    args = trainer_args.TrainingArguments(
        output_dir="out", lr_scheduler_type="cosine", warmup_steps=0.2
    )
    sched = create_scheduler(args, _optimizer(), 50)
    assert sched.lr_lambdas[0].keywords == {
        "num_warmup_steps": 10,
        "num_training_steps": 50,
        "num_cycles": 0.5,
    }
