"""Handlers for optimizers that live in other PyPI packages, imported only when chosen.

Each handler checks that its package is importable and otherwise raises an ``ImportError``
(:class:`~trainer_optim.OptionalDependencyError`) naming the ``trainer-optim`` extra that installs
it. Keyword arguments follow the transformers 5.3.0 Trainer for the same ``optim`` value.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch

from ._compat import HardwareNotAvailableError, package_version, require_package, str_to_bool
from .context import OptimizerContext, OptimizerHandler
from .low_rank import setup_low_rank_optimizer

__all__ = ["EXTRAS", "HANDLERS"]

#: ``optim`` value -> (import name, PyPI distribution, trainer-optim extra).
EXTRAS: dict[str, tuple[str, str, str]] = {}


def _require(ctx: OptimizerContext, module: str) -> Any:
    _, package, extra = EXTRAS[ctx.name]
    return require_package(module, package=package, extra=extra, optimizer=ctx.name)


# --------------------------------------------------------------------------- bitsandbytes

_BNB_NAMES = (
    "adamw_bnb_8bit",
    "adamw_8bit",
    "paged_adamw_32bit",
    "paged_adamw_8bit",
    "ademamix",
    "ademamix_8bit",
    "paged_ademamix_32bit",
    "paged_ademamix_8bit",
    "lion_32bit",
    "lion_8bit",
    "paged_lion_32bit",
    "paged_lion_8bit",
    "rmsprop_bnb",
    "rmsprop_bnb_8bit",
    "rmsprop_bnb_32bit",
)


def _bitsandbytes(ctx: OptimizerContext) -> tuple[Any, dict[str, Any]]:
    bnb_optim = _require(ctx, "bitsandbytes.optim")
    name, args, opts = ctx.name, ctx.args, ctx.optim_args
    paged = "paged" in name
    if paged and not torch.cuda.is_available():
        raise HardwareNotAvailableError(
            f"optim={name!r} pages optimizer state through CUDA unified memory and needs an "
            "NVIDIA CUDA GPU; none is visible. Use the non-paged variant on this machine."
        )
    extra: dict[str, Any]
    if "adam" in name and "ademamix" not in name:
        cls, extra = bnb_optim.AdamW, dict(ctx.adam_kwargs)
    elif "lion" in name:
        cls, extra = bnb_optim.Lion, {"betas": (args.adam_beta1, args.adam_beta2)}
    elif "rmsprop" in name:
        cls = bnb_optim.RMSprop
        extra = {
            k: float(v)
            for k, v in opts.items()
            if k in ("alpha", "eps", "momentum", "weight_decay")
        }
        if "centered" in opts:
            extra["centered"] = str_to_bool(opts["centered"])
    else:  # ademamix
        cls = bnb_optim.AdEMAMix
        extra = {
            "betas": (
                float(opts.get("beta1", args.adam_beta1)),
                float(opts.get("beta2", args.adam_beta2)),
                float(opts.get("beta3", 0.9999)),
            ),
            "alpha": float(opts.get("alpha", 5.0)),
            "eps": float(opts.get("eps", args.adam_epsilon)),
        }
        for key in ("t_alpha", "t_beta3"):
            if key in opts:
                extra[key] = int(opts[key])
    ctx.optimizer_kwargs.update(extra)
    ctx.optimizer_kwargs["optim_bits"] = 8 if "8bit" in name else 32
    if "rmsprop" not in name:
        ctx.optimizer_kwargs["is_paged"] = paged
    return cls, ctx.optimizer_kwargs


# --------------------------------------------------------------------------- GaLore / APOLLO

_GALORE_CLASSES = {
    "galore_adamw": "GaLoreAdamW",
    "galore_adamw_8bit": "GaLoreAdamW8bit",
    "galore_adafactor": "GaLoreAdafactor",
    "galore_adamw_layerwise": "GaLoreAdamW",
    "galore_adamw_8bit_layerwise": "GaLoreAdamW8bit",
    "galore_adafactor_layerwise": "GaLoreAdafactor",
}


def _galore(ctx: OptimizerContext) -> tuple[Any, dict[str, Any]]:
    galore = _require(ctx, "galore_torch")
    opts = ctx.optim_args
    projection = {
        "rank": int(opts.pop("rank", 128)),
        "update_proj_gap": int(opts.pop("update_proj_gap", 200)),
        "scale": float(opts.pop("scale", 0.25)),
        "proj_type": opts.pop("proj_type", "std"),
    }
    if "8bit" in ctx.name and not torch.cuda.is_available():
        raise HardwareNotAvailableError(
            f"optim={ctx.name!r} runs bitsandbytes 8-bit kernels that need an NVIDIA CUDA GPU; "
            "none is visible. Use optim='galore_adamw' on this machine."
        )
    cls = getattr(galore, _GALORE_CLASSES[ctx.name])
    if "adafactor" in ctx.name:
        # Set before the layer-wise variant builds its per-parameter optimizers, which would
        # otherwise reject an explicit lr with Adafactor's default relative_step=True.
        ctx.optimizer_kwargs.update({"scale_parameter": False, "relative_step": False})
    return setup_low_rank_optimizer(
        ctx.args, ctx.model, ctx.name, cls, projection, ctx.optimizer_kwargs
    )


def _apollo(ctx: OptimizerContext) -> tuple[Any, dict[str, Any]]:
    apollo = _require(ctx, "apollo_torch")
    opts = ctx.optim_args
    projection = {
        "rank": int(opts.pop("rank", 128)),
        "proj": opts.pop("proj", "random"),
        "scale_type": opts.pop("scale_type", "channel"),
        "update_proj_gap": int(opts.pop("update_proj_gap", 200)),
        "scale": float(opts.pop("scale", 1.0)),
        "proj_type": opts.pop("proj_type", "std"),
        **ctx.adam_kwargs,
    }
    return setup_low_rank_optimizer(
        ctx.args, ctx.model, ctx.name, apollo.APOLLOAdamW, projection, ctx.optimizer_kwargs
    )


# --------------------------------------------------------------------------- the rest


def _lomo(ctx: OptimizerContext) -> tuple[Any, dict[str, Any]]:
    lomo = _require(ctx, "lomo_optim")
    if ctx.model is None:
        raise ValueError(
            "You need to pass a `model` in order to correctly initialize a LOMO optimizer."
        )
    if ctx.name == "adalomo" and not torch.cuda.is_available():
        raise HardwareNotAvailableError(
            "optim='adalomo' keeps its state on the GPU (lomo-optim calls .cuda()) and needs an "
            "NVIDIA CUDA GPU; none is visible. optim='lomo' runs on CPU."
        )
    cls = lomo.AdaLomo if ctx.name == "adalomo" else lomo.Lomo
    ctx.optimizer_kwargs["model"] = ctx.model
    return cls, ctx.optimizer_kwargs


def _grokadamw(ctx: OptimizerContext) -> tuple[Any, dict[str, Any]]:
    grok = _require(ctx, "grokadamw")
    defaults = {
        "alpha_init": 0.98,
        "lamb": 2.0,
        "gamma": 0.1,
        "grokking_signal_decay_rate": 0.1,
        "gradient_clipping": 1.0,
    }
    ctx.optimizer_kwargs.update(
        {key: float(ctx.optim_args.get(key, value)) for key, value in defaults.items()}
    )
    return grok.GrokAdamW, ctx.optimizer_kwargs


def _torchao(ctx: OptimizerContext) -> tuple[Any, dict[str, Any]]:
    _require(ctx, "torchao")
    if package_version("torchao") < (0, 4):
        raise ImportError(
            f'optim={ctx.name!r} needs torchao>=0.4.0: pip install -U "trainer-optim[torchao]".'
        )
    if package_version("torchao") >= (0, 11):
        from torchao.optim import AdamW4bit, AdamW8bit
    else:  # pragma: no cover - old torchao layout
        from torchao.prototype.low_bit_optim import AdamW4bit, AdamW8bit
    cls = AdamW4bit if ctx.name == "adamw_torch_4bit" else AdamW8bit
    ctx.optimizer_kwargs.update(
        {
            "block_size": int(ctx.optim_args.get("block_size", 256)),
            "bf16_stochastic_round": str_to_bool(
                ctx.optim_args.get("bf16_stochastic_round", "False")
            ),
        }
    )
    ctx.optimizer_kwargs.update(ctx.adam_kwargs)
    return cls, ctx.optimizer_kwargs


def _schedule_free(ctx: OptimizerContext) -> tuple[Any, dict[str, Any]]:
    sf = _require(ctx, "schedulefree")
    extra: dict[str, Any] = {}
    warmup = True
    if ctx.name == "schedule_free_radam":
        if package_version("schedulefree") < (1, 4):
            raise ImportError(
                "optim='schedule_free_radam' needs schedulefree>=1.4.0: "
                'pip install -U "trainer-optim[schedulefree]".'
            )
        cls, extra, warmup = sf.RAdamScheduleFree, dict(ctx.adam_kwargs), False
    elif ctx.name == "schedule_free_adamw":
        cls, extra = sf.AdamWScheduleFree, dict(ctx.adam_kwargs)
    else:
        cls = sf.SGDScheduleFree
    extra["weight_decay"] = getattr(ctx.args, "weight_decay", 0.0)
    if warmup:
        extra["warmup_steps"] = getattr(ctx.args, "warmup_steps", 0)
    extra["weight_lr_power"] = float(ctx.optim_args.get("weight_lr_power", 2.0))
    extra["r"] = float(ctx.optim_args.get("r", 0.0))
    ctx.optimizer_kwargs.update(extra)
    return cls, ctx.optimizer_kwargs


def _stable_adamw(ctx: OptimizerContext) -> tuple[Any, dict[str, Any]]:
    optimi = _require(ctx, "optimi")
    opts = ctx.optim_args
    max_lr = opts.pop("max_lr", None)
    kahan_sum = opts.pop("kahan_sum", None)
    ctx.optimizer_kwargs.update(ctx.adam_kwargs)
    ctx.optimizer_kwargs.update(
        {
            "weight_decay": getattr(ctx.args, "weight_decay", 0.0),
            "decouple_lr": str_to_bool(opts.pop("decouple_lr", "False")),
            "max_lr": float(max_lr) if max_lr is not None else None,
            "kahan_sum": str_to_bool(kahan_sum) if kahan_sum is not None else None,
        }
    )
    if _triton_unusable(ctx.model) and "triton" in inspect.signature(optimi.StableAdamW).parameters:
        # torch-optimi picks its Triton kernel before it has looked at any parameter, so with
        # Triton installed it would try it on CPU tensors too; rule it out where it cannot run.
        ctx.optimizer_kwargs["triton"] = False
    return optimi.StableAdamW, ctx.optimizer_kwargs


def _triton_unusable(model: Any) -> bool:
    """No GPU for Triton kernels: none visible, or the model's parameters are not on one."""
    if not torch.cuda.is_available():
        return True
    if model is None:
        return False
    return not any(p.is_cuda for p in model.parameters())


HANDLERS: dict[str, OptimizerHandler] = {}


def _add(
    names: tuple[str, ...], handler: OptimizerHandler, module: str, package: str, extra: str
) -> None:
    for name in names:
        HANDLERS[name] = handler
        EXTRAS[name] = (module, package, extra)


_add(_BNB_NAMES, _bitsandbytes, "bitsandbytes", "bitsandbytes", "bitsandbytes")
_add(tuple(_GALORE_CLASSES), _galore, "galore_torch", "galore-torch", "galore")
_add(("apollo_adamw", "apollo_adamw_layerwise"), _apollo, "apollo_torch", "apollo-torch", "apollo")
_add(("lomo", "adalomo"), _lomo, "lomo_optim", "lomo-optim", "lomo")
_add(("grokadamw",), _grokadamw, "grokadamw", "grokadamw", "grokadamw")
_add(("adamw_torch_4bit", "adamw_torch_8bit"), _torchao, "torchao", "torchao", "torchao")
_add(
    ("schedule_free_radam", "schedule_free_adamw", "schedule_free_sgd"),
    _schedule_free,
    "schedulefree",
    "schedulefree",
    "schedulefree",
)
_add(("stable_adamw",), _stable_adamw, "optimi", "torch-optimi", "optimi")
