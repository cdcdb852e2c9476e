"""Every OptimizerNames value either builds and steps on CPU or raises its clear error."""

from __future__ import annotations

import pytest
import torch
from trainer_optim import (
    OPTIMIZER_EXTRAS,
    OPTIMIZER_HANDLERS,
    OPTIMIZER_NAMES,
    HardwareNotAvailableError,
    OptimizerContext,
    OptionalDependencyError,
    build_optimizer,
    get_optimizer_cls_and_kwargs,
    parse_optim_args,
    register_optimizer,
)
from trainer_optim._compat import is_importable

CPU_BUILTIN = {"adamw_torch", "adamw_torch_fused", "adafactor", "sgd", "adagrad", "rmsprop"}
HARDWARE = {
    "adamw_torch_xla": ("torch_xla", "TPU"),
    "adamw_torch_npu_fused": ("torch_npu", "Ascend NPU"),
    "adamw_apex_fused": ("apex", "CUDA GPU"),
}


def _all_names() -> list[str]:
    try:
        from trainer_args import OptimizerNames
    except ImportError:
        return list(OPTIMIZER_NAMES)
    return [m.value for m in OptimizerNames]


def test_names_match_the_enum():
    assert _all_names() == list(OPTIMIZER_NAMES)
    assert set(OPTIMIZER_HANDLERS) == set(OPTIMIZER_NAMES)


def _train_steps(model, opt, steps=3):
    before = [p.detach().clone() for p in model.parameters()]
    for i in range(steps):
        opt.zero_grad()
        model.loss(seed=i).backward()
        opt.step()
    return any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


@pytest.mark.parametrize("name", _all_names())
def test_every_optimizer_name(name, make_args, tiny_lm):
    args = make_args(optim=name, optim_target_modules=["q_proj"], learning_rate=1e-2)
    if name in CPU_BUILTIN:
        opt = build_optimizer(tiny_lm, args)
        assert _train_steps(tiny_lm, opt)
        return
    if name in HARDWARE:
        module, hardware = HARDWARE[name]
        if not is_importable(module):
            with pytest.raises(HardwareNotAvailableError, match=hardware) as info:
                get_optimizer_cls_and_kwargs(args, tiny_lm)
            assert isinstance(info.value, ValueError)  # what transformers raises
            return
    if name == "adamw_anyprecision":
        module, extra = "torchdistx", None
    else:
        module, _, extra = OPTIMIZER_EXTRAS[name]
    if not is_importable(module):
        with pytest.raises(
            ImportError, match=f"trainer-optim\\[{extra}\\]" if extra else module
        ) as info:
            get_optimizer_cls_and_kwargs(args, tiny_lm)
        assert isinstance(info.value, OptionalDependencyError)
        assert name in str(info.value)
        return
    # the package is installed: build it where the hardware allows
    needs_cuda = (
        "paged" in name or "galore_adamw_8bit" in name or name in ("adamw_apex_fused", "adalomo")
    )
    if needs_cuda and not torch.cuda.is_available():
        with pytest.raises(HardwareNotAvailableError, match="CUDA"):
            get_optimizer_cls_and_kwargs(args, tiny_lm)
        return
    opt = build_optimizer(tiny_lm, args)
    if name in ("lomo", "adalomo"):  # updates happen inside fused_backward, not step()
        before = tiny_lm.lm_head.weight.detach().clone()
        opt.fused_backward(tiny_lm.loss(), 1e-2)
        assert not torch.equal(before, tiny_lm.lm_head.weight)
        return
    if hasattr(opt, "train"):  # schedule-free optimizers have train/eval modes
        opt.train()
    assert _train_steps(tiny_lm, opt, steps=8)


def test_unknown_optimizer(make_args):
    with pytest.raises(ValueError, match="unsupported optimizer: adamw_tourch"):
        get_optimizer_cls_and_kwargs(make_args(optim="adamw_tourch"))


def test_enum_members_are_accepted(make_args):
    trainer_args = pytest.importorskip("trainer_args")
    cls, kwargs = get_optimizer_cls_and_kwargs(
        make_args(optim=trainer_args.OptimizerNames.ADAMW_TORCH_FUSED)
    )
    assert cls is torch.optim.AdamW and kwargs["fused"] is True


def test_with_trainer_args_training_arguments(tiny_lm):
    trainer_args = pytest.importorskip("trainer_args")
    args = trainer_args.TrainingArguments(
        output_dir="out", optim="sgd", optim_args="momentum=0.9", weight_decay=0.1
    )
    opt = build_optimizer(tiny_lm, args)
    assert isinstance(opt, torch.optim.SGD)
    assert opt.defaults["momentum"] == 0.9
    assert [g["weight_decay"] for g in opt.param_groups] == [0.1, 0.0]


def test_adamw_kwargs(make_args):
    cls, kwargs = get_optimizer_cls_and_kwargs(
        make_args(adam_beta1=0.8, adam_beta2=0.9, adam_epsilon=1e-6)
    )
    assert cls is torch.optim.AdamW
    assert kwargs == {"lr": 1e-3, "betas": (0.8, 0.9), "eps": 1e-6}


def test_parse_optim_args():
    assert parse_optim_args(None) == {}
    assert parse_optim_args("") == {}
    assert parse_optim_args("a=1, b = x,") == {"a": "1", "b": "x"}
    with pytest.raises(ValueError, match="key=value"):
        parse_optim_args("momentum")


def test_register_optimizer(make_args):
    def handler(ctx: OptimizerContext):
        return torch.optim.Adam, {"lr": ctx.optimizer_kwargs["lr"] * 2}

    register_optimizer("my_adam", handler)
    try:
        assert get_optimizer_cls_and_kwargs(make_args(optim="my_adam")) == (
            torch.optim.Adam,
            {"lr": 2e-3},
        )
    finally:
        del OPTIMIZER_HANDLERS["my_adam"]
