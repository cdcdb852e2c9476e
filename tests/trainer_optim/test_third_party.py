"""Keyword plumbing of the package-backed optimizers, checked against stand-in packages.

The real packages are optional; here small fake modules stand in for them so the arguments each
handler prepares (the same as transformers 5.3.0 prepares) are checked on any machine.
"""

from __future__ import annotations

import sys
import types

import pytest
import torch
import trainer_optim.third_party as third_party
from trainer_optim import (
    Adafactor,
    HardwareNotAvailableError,
    LayerWiseDummyOptimizer,
    LayerWiseDummyScheduler,
    build_optimizer,
    get_optimizer_cls_and_kwargs,
    get_scheduler,
)


def _fake(monkeypatch, name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    for key, value in attrs.items():
        setattr(module, key, value)
    monkeypatch.setitem(sys.modules, name, module)
    if "." in name:
        parent, child = name.rsplit(".", 1)
        if parent not in sys.modules:
            _fake(monkeypatch, parent)
        monkeypatch.setattr(sys.modules[parent], child, module, raising=False)
    return module


def _cls(name: str, base: type = torch.optim.AdamW, module: str = "fake") -> type:
    return type(name, (base,), {"__module__": module})


# ----------------------------------------------------------------------------- bitsandbytes


class _BnbOpt(torch.optim.AdamW):
    __module__ = "bitsandbytes.optim.adamw"

    def __init__(self, params, optim_bits=32, is_paged=False, **kwargs):
        self.optim_bits, self.is_paged = optim_bits, is_paged
        super().__init__(params, **kwargs)


@pytest.fixture
def fake_bnb(monkeypatch):
    overrides = []

    class Manager:
        def register_module_override(self, module, name, config):
            overrides.append((module, name, config))

    manager = Manager()
    mgr_cls = types.SimpleNamespace(get_instance=lambda: manager)
    optim = _fake(
        monkeypatch,
        "bitsandbytes.optim",
        AdamW=_BnbOpt,
        Lion=_cls("Lion"),
        RMSprop=_cls("RMSprop"),
        AdEMAMix=_cls("AdEMAMix"),
        GlobalOptimManager=mgr_cls,
    )
    sys.modules["bitsandbytes"].optim = optim
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    return overrides


def test_bnb_adamw_8bit_builds_and_keeps_embeddings_32bit(fake_bnb, make_args, tiny_lm):
    cls, kwargs = get_optimizer_cls_and_kwargs(make_args(optim="adamw_8bit"))
    assert cls is _BnbOpt
    assert kwargs == {
        "lr": 1e-3,
        "betas": (0.9, 0.999),
        "eps": 1e-8,
        "optim_bits": 8,
        "is_paged": False,
    }
    opt = build_optimizer(tiny_lm, make_args(optim="adamw_bnb_8bit"))
    assert opt.optim_bits == 8
    assert [(m, n, c) for m, n, c in fake_bnb] == [
        (tiny_lm.embed_tokens, "weight", {"optim_bits": 32})
    ]


@pytest.mark.parametrize(
    ("optim", "optim_args", "expected"),
    [
        ("lion_8bit", None, {"betas": (0.9, 0.999), "optim_bits": 8, "is_paged": False}),
        ("lion_32bit", None, {"betas": (0.9, 0.999), "optim_bits": 32, "is_paged": False}),
        (
            "rmsprop_bnb",
            "alpha=0.9,centered=True",
            {"alpha": 0.9, "centered": True, "optim_bits": 32},
        ),
        ("rmsprop_bnb_8bit", None, {"optim_bits": 8}),
        ("rmsprop_bnb_32bit", None, {"optim_bits": 32}),
        (
            "ademamix",
            None,
            {
                "betas": (0.9, 0.999, 0.9999),
                "alpha": 5.0,
                "eps": 1e-8,
                "optim_bits": 32,
                "is_paged": False,
            },
        ),
        (
            "ademamix_8bit",
            "beta3=0.99,alpha=8,t_alpha=100,t_beta3=50",
            {
                "betas": (0.9, 0.999, 0.99),
                "alpha": 8.0,
                "eps": 1e-8,
                "t_alpha": 100,
                "t_beta3": 50,
                "optim_bits": 8,
                "is_paged": False,
            },
        ),
    ],
)
def test_bnb_kwargs(fake_bnb, make_args, optim, optim_args, expected):
    cls, kwargs = get_optimizer_cls_and_kwargs(make_args(optim=optim, optim_args=optim_args))
    assert kwargs == {"lr": 1e-3, **expected}
    assert cls.__name__ in ("Lion", "RMSprop", "AdEMAMix")


@pytest.mark.parametrize(
    "optim",
    [
        "paged_adamw_32bit",
        "paged_adamw_8bit",
        "paged_lion_8bit",
        "paged_lion_32bit",
        "paged_ademamix_8bit",
        "paged_ademamix_32bit",
    ],
)
def test_bnb_paged_needs_cuda(fake_bnb, make_args, optim):
    with pytest.raises(HardwareNotAvailableError, match="CUDA GPU"):
        get_optimizer_cls_and_kwargs(make_args(optim=optim))


# ----------------------------------------------------------------------------- GaLore / APOLLO


@pytest.fixture
def fake_galore(monkeypatch):
    return _fake(
        monkeypatch,
        "galore_torch",
        GaLoreAdamW=_cls("GaLoreAdamW"),
        GaLoreAdamW8bit=_cls("GaLoreAdamW8bit"),
        GaLoreAdafactor=_cls("GaLoreAdafactor", Adafactor),
    )


def test_galore_groups(fake_galore, make_args, tiny_lm):
    args = make_args(
        optim="galore_adamw", optim_target_modules=["q_proj"], optim_args="rank=4,scale=0.5"
    )
    cls, kwargs = get_optimizer_cls_and_kwargs(args, tiny_lm)
    assert cls is fake_galore.GaLoreAdamW
    plain, projected = kwargs["params"]
    assert projected["rank"] == 4 and projected["scale"] == 0.5
    assert projected["update_proj_gap"] == 200 and projected["proj_type"] == "std"
    assert {id(p) for p in projected["params"]} == {id(b.q_proj.weight) for b in tiny_lm.layers}
    assert len(plain["params"]) + len(projected["params"]) == len(list(tiny_lm.parameters()))
    opt = build_optimizer(tiny_lm, args)
    assert isinstance(opt, fake_galore.GaLoreAdamW) and opt.param_groups[1]["rank"] == 4


def test_galore_adafactor_and_target_forms(monkeypatch, fake_galore, make_args, tiny_lm):
    cls, kwargs = get_optimizer_cls_and_kwargs(
        make_args(optim="galore_adafactor", optim_target_modules="all-linear"), tiny_lm
    )
    assert kwargs["scale_parameter"] is False and kwargs["relative_step"] is False
    opt = build_optimizer(
        tiny_lm, make_args(optim="galore_adafactor_layerwise", optim_target_modules=["q_proj"])
    )
    assert isinstance(next(iter(opt.optimizer_dict.values())), Adafactor)
    assert len(kwargs["params"][1]["params"]) == 7  # every nn.Linear weight
    args = make_args(optim="galore_adamw_8bit", optim_target_modules=r"layers\.\d\.o_proj")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(HardwareNotAvailableError, match="CUDA GPU"):
        get_optimizer_cls_and_kwargs(args, tiny_lm)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    _, kwargs = get_optimizer_cls_and_kwargs(args, tiny_lm)
    assert len(kwargs["params"][1]["params"]) == 2


def test_galore_errors(fake_galore, make_args, tiny_lm):
    with pytest.raises(ValueError, match="optim_target_modules"):
        get_optimizer_cls_and_kwargs(make_args(optim="galore_adamw"), tiny_lm)
    with pytest.raises(TypeError, match="must be a list of strings"):
        get_optimizer_cls_and_kwargs(
            make_args(optim="galore_adamw", optim_target_modules=3), tiny_lm
        )
    with pytest.raises(ValueError, match="pass a model"):
        get_optimizer_cls_and_kwargs(
            make_args(optim="galore_adamw", optim_target_modules=["q_proj"])
        )
    with pytest.raises(ValueError, match="No target modules"):
        get_optimizer_cls_and_kwargs(
            make_args(optim="galore_adamw", optim_target_modules=["nope"]), tiny_lm
        )
    with pytest.raises(ValueError, match="gradient accumulation"):
        get_optimizer_cls_and_kwargs(
            make_args(
                optim="galore_adamw_layerwise",
                optim_target_modules=["q_proj"],
                gradient_accumulation_steps=2,
            ),
            tiny_lm,
        )


def test_galore_layerwise_steps_in_hooks(fake_galore, make_args, tiny_lm):
    args = make_args(
        optim="galore_adamw_layerwise", optim_target_modules=["q_proj"], learning_rate=0.1
    )
    opt = build_optimizer(tiny_lm, args)
    assert isinstance(opt, LayerWiseDummyOptimizer)
    assert len(opt.optimizer_dict) == len(list(tiny_lm.parameters()))
    sched = get_scheduler("linear", opt, num_warmup_steps=0, num_training_steps=10)
    assert isinstance(sched, LayerWiseDummyScheduler)
    before = tiny_lm.lm_head.weight.detach().clone()
    tiny_lm.loss().backward()
    opt.step()  # no-op: the hooks already stepped
    sched.step()
    assert not torch.equal(before, tiny_lm.lm_head.weight)
    assert tiny_lm.lm_head.weight.grad is None  # cleared in the hook
    inner = opt.optimizer_dict[tiny_lm.lm_head.weight]
    assert inner.param_groups[0]["lr"] == pytest.approx(0.09)


def test_apollo_groups(monkeypatch, make_args, tiny_lm):
    apollo = _fake(monkeypatch, "apollo_torch", APOLLOAdamW=_cls("APOLLOAdamW"))
    cls, kwargs = get_optimizer_cls_and_kwargs(
        make_args(
            optim="apollo_adamw", optim_target_modules=["o_proj"], optim_args="rank=2,proj=svd"
        ),
        tiny_lm,
    )
    assert cls is apollo.APOLLOAdamW
    projected = kwargs["params"][1]
    assert {k: v for k, v in projected.items() if k != "params"} == {
        "rank": 2,
        "proj": "svd",
        "scale_type": "channel",
        "update_proj_gap": 200,
        "scale": 1.0,
        "proj_type": "std",
        "betas": (0.9, 0.999),
        "eps": 1e-8,
    }
    cls, kwargs = get_optimizer_cls_and_kwargs(
        make_args(optim="apollo_adamw_layerwise", optim_target_modules=["o_proj"]), tiny_lm
    )
    assert cls is LayerWiseDummyOptimizer


# ----------------------------------------------------------------------------- the rest


def test_lomo_gets_the_model(monkeypatch, make_args, tiny_lm):
    class Lomo(torch.optim.SGD):
        def __init__(self, model, lr):
            self.model = model
            super().__init__(model.parameters(), lr=lr)

    _fake(monkeypatch, "lomo_optim", Lomo=Lomo, AdaLomo=_cls("AdaLomo", Lomo))
    opt = build_optimizer(tiny_lm, make_args(optim="lomo"))
    assert type(opt) is Lomo and opt.model is tiny_lm
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(HardwareNotAvailableError, match="CUDA GPU"):
        get_optimizer_cls_and_kwargs(make_args(optim="adalomo"), tiny_lm)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    cls, _ = get_optimizer_cls_and_kwargs(make_args(optim="adalomo"), tiny_lm)
    assert cls.__name__ == "AdaLomo"
    with pytest.raises(ValueError, match="model"):
        get_optimizer_cls_and_kwargs(make_args(optim="lomo"))


def test_grokadamw_kwargs(monkeypatch, make_args):
    _fake(monkeypatch, "grokadamw", GrokAdamW=_cls("GrokAdamW"))
    _, kwargs = get_optimizer_cls_and_kwargs(make_args(optim="grokadamw", optim_args="lamb=3"))
    assert kwargs == {
        "lr": 1e-3,
        "alpha_init": 0.98,
        "lamb": 3.0,
        "gamma": 0.1,
        "grokking_signal_decay_rate": 0.1,
        "gradient_clipping": 1.0,
    }


@pytest.mark.parametrize(
    ("optim", "cls_name"), [("adamw_torch_4bit", "AdamW4bit"), ("adamw_torch_8bit", "AdamW8bit")]
)
def test_torchao_kwargs(monkeypatch, make_args, optim, cls_name):
    _fake(monkeypatch, "torchao.optim", AdamW4bit=_cls("AdamW4bit"), AdamW8bit=_cls("AdamW8bit"))
    monkeypatch.setattr(third_party, "package_version", lambda dist: (0, 12))
    cls, kwargs = get_optimizer_cls_and_kwargs(make_args(optim=optim, optim_args="block_size=128"))
    assert cls.__name__ == cls_name
    assert kwargs == {
        "lr": 1e-3,
        "block_size": 128,
        "bf16_stochastic_round": False,
        "betas": (0.9, 0.999),
        "eps": 1e-8,
    }
    monkeypatch.setattr(third_party, "package_version", lambda dist: (0, 3))
    with pytest.raises(ImportError, match="torchao>=0.4.0"):
        get_optimizer_cls_and_kwargs(make_args(optim=optim))


def test_schedule_free_kwargs(monkeypatch, make_args):
    sf = _fake(
        monkeypatch,
        "schedulefree",
        AdamWScheduleFree=_cls("AdamWScheduleFree"),
        SGDScheduleFree=_cls("SGDScheduleFree"),
        RAdamScheduleFree=_cls("RAdamScheduleFree"),
    )
    monkeypatch.setattr(third_party, "package_version", lambda dist: (1, 4, 1))
    args = make_args(
        optim="schedule_free_adamw", warmup_steps=10, weight_decay=0.1, optim_args="r=1"
    )
    cls, kwargs = get_optimizer_cls_and_kwargs(args)
    assert cls is sf.AdamWScheduleFree
    common = {"lr": 1e-3, "weight_decay": 0.1, "weight_lr_power": 2.0, "r": 1.0}
    assert kwargs == {**common, "betas": (0.9, 0.999), "eps": 1e-8, "warmup_steps": 10}
    _, kwargs = get_optimizer_cls_and_kwargs(
        make_args(optim="schedule_free_sgd", warmup_steps=10, weight_decay=0.1, optim_args="r=1")
    )
    assert kwargs == {**common, "warmup_steps": 10}
    _, kwargs = get_optimizer_cls_and_kwargs(
        make_args(optim="schedule_free_radam", weight_decay=0.1, optim_args="r=1")
    )
    assert kwargs == {**common, "betas": (0.9, 0.999), "eps": 1e-8}
    monkeypatch.setattr(third_party, "package_version", lambda dist: (1, 3))
    with pytest.raises(ImportError, match="schedulefree>=1.4.0"):
        get_optimizer_cls_and_kwargs(make_args(optim="schedule_free_radam"))


def test_stable_adamw_kwargs(monkeypatch, make_args):
    _fake(monkeypatch, "optimi", StableAdamW=_cls("StableAdamW"))
    _, kwargs = get_optimizer_cls_and_kwargs(make_args(optim="stable_adamw"))
    assert kwargs == {
        "lr": 1e-3,
        "betas": (0.9, 0.999),
        "eps": 1e-8,
        "weight_decay": 0.01,
        "decouple_lr": False,
        "max_lr": None,
        "kahan_sum": None,
    }
    _, kwargs = get_optimizer_cls_and_kwargs(
        make_args(optim="stable_adamw", optim_args="decouple_lr=True,max_lr=0.01,kahan_sum=False")
    )
    assert (kwargs["decouple_lr"], kwargs["max_lr"], kwargs["kahan_sum"]) == (True, 0.01, False)


def test_anyprecision_kwargs(monkeypatch, make_args):
    _fake(monkeypatch, "torchdistx.optimizers", AnyPrecisionAdamW=_cls("AnyPrecisionAdamW"))
    _, kwargs = get_optimizer_cls_and_kwargs(
        make_args(
            optim="adamw_anyprecision",
            optim_args="use_kahan_summation=true,momentum_dtype=bfloat16",
        )
    )
    assert kwargs["use_kahan_summation"] is True
    assert kwargs["momentum_dtype"] is torch.bfloat16 and kwargs["variance_dtype"] is torch.float32
    assert kwargs["compensation_buffer_dtype"] is torch.bfloat16


def test_hardware_packages_present_but_no_device(monkeypatch, make_args):
    _fake(monkeypatch, "apex.optimizers", FusedAdam=_cls("FusedAdam"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(HardwareNotAvailableError, match="no CUDA device"):
        get_optimizer_cls_and_kwargs(make_args(optim="adamw_apex_fused"))
    xla = _fake(monkeypatch, "torch_xla.amp.syncfree", AdamW=_cls("AdamW"))
    cls, kwargs = get_optimizer_cls_and_kwargs(make_args(optim="adamw_torch_xla"))
    assert cls is xla.AdamW and kwargs == {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8}
