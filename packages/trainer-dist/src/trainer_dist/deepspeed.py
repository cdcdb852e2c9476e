"""DeepSpeed configuration: fill ``"auto"`` values from training arguments.

A DeepSpeed JSON config may say ``"auto"`` for any value the trainer already knows (batch sizes,
accumulation, clipping, optimizer and scheduler hyper-parameters, precision, ZeRO bucket sizes).
:func:`fill_deepspeed_config` replaces them the way the transformers Trainer does, and reports every
explicit value that contradicts the arguments in one error, so a config cannot silently train with
a different learning rate or batch size than the command line says.

Filling happens in two stages, as in transformers: values known from the arguments alone (when the
accelerator is built) and values that need the model and the number of training steps (just before
``accelerator.prepare``). Calling :func:`fill_deepspeed_config` with ``model`` and
``num_training_steps`` runs both. ``deepspeed`` itself is only imported by accelerate when the
plugin is used; this module needs neither.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import math
import os
from collections.abc import Callable, Mapping
from typing import Any

from ._args import get_arg

__all__ = [
    "DeepSpeedConfigMismatchError",
    "build_deepspeed_plugin",
    "deepspeed_dtype",
    "deepspeed_optimizer_and_scheduler",
    "fill_deepspeed_config",
    "finalize_deepspeed_config",
    "load_deepspeed_config",
    "model_hidden_size",
    "warmup_steps_for",
]

AUTO = "auto"


class DeepSpeedConfigMismatchError(ValueError):
    """An explicit (non-``"auto"``) DeepSpeed value disagrees with the training arguments."""

    def __init__(self, mismatches: list[str]):
        self.mismatches = list(mismatches)
        lines = "\n".join(self.mismatches)
        super().__init__(
            "Please correct the following DeepSpeed config values that mismatch TrainingArguments"
            f" values:\n{lines}\nThe easiest fix is to set these DeepSpeed config values to 'auto'."
        )


def load_deepspeed_config(value: Any) -> dict:
    """Return a deep copy of a DeepSpeed config given as a dict, a JSON file path or a JSON string."""
    if isinstance(value, Mapping):
        return copy.deepcopy(dict(value))
    if isinstance(value, (str, os.PathLike)):
        text = os.fspath(value)
        if os.path.isfile(text):
            with open(text, encoding="utf-8") as fh:
                loaded = json.load(fh)
        else:
            try:
                loaded = json.loads(text)
            except json.JSONDecodeError:
                raise ValueError(
                    f"`deepspeed` is {text!r}: not an existing file and not a JSON object."
                ) from None
        if not isinstance(loaded, dict):
            raise ValueError("The DeepSpeed config must be a JSON object.")
        return loaded
    raise TypeError(f"`deepspeed` must be a dict or a JSON path, got {type(value).__name__}.")


class _Filler:
    """Walks dotted keys of one config dict, replacing ``"auto"`` and collecting mismatches."""

    def __init__(self, config: dict):
        self.config = config
        self.mismatches: list[str] = []

    def _node(self, dotted: str) -> tuple[dict | None, str]:
        *parents, leaf = dotted.split(".")
        node: Any = self.config
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                return None, leaf
        return (node if isinstance(node, dict) else None), leaf

    def get(self, dotted: str) -> Any:
        node, leaf = self._node(dotted)
        return None if node is None else node.get(leaf)

    def is_auto(self, dotted: str) -> bool:
        return self.get(dotted) == AUTO

    def fill(
        self, dotted: str, value: Any, arg_name: str | None = None, must_match: bool = True
    ) -> None:
        node, leaf = self._node(dotted)
        if node is None:
            return
        current = node.get(leaf)
        if current == AUTO:
            node[leaf] = value
        elif must_match and current is not None and current != value:
            self.mismatches.append(f"- ds {dotted}={current} vs hf {arg_name}={value}")


def model_hidden_size(model: Any) -> int | None:
    """The model's hidden size from ``config.hidden_size``/``hidden_sizes`` (or its text config)."""
    config = getattr(model, "config", None)
    if config is None:
        return None
    for cfg in (config, getattr(config, "text_config", None)):
        if cfg is None:
            continue
        if getattr(cfg, "hidden_size", None) is not None:
            return int(cfg.hidden_size)
        sizes = getattr(cfg, "hidden_sizes", None)
        if sizes:
            return int(max(sizes))
    return None


def warmup_steps_for(args: Any, num_training_steps: int) -> int:
    """Warmup steps as ``TrainingArguments.get_warmup_steps`` computes them (works on namespaces)."""
    method = getattr(args, "get_warmup_steps", None)
    if callable(method):
        return int(method(num_training_steps))
    warmup = get_arg(args, "warmup_steps") or 0
    ratio = get_arg(args, "warmup_ratio")
    if not warmup and ratio:
        warmup = ratio
    if warmup >= 1:
        return int(warmup)
    return math.ceil(num_training_steps * warmup)


def _world_size(args: Any) -> int:
    size = get_arg(args, "world_size", None)
    if size is None:
        size = int(os.environ.get("WORLD_SIZE", "1"))
    return int(size)


def _fill_from_args(f: _Filler, args: Any, auto_find_batch_size: bool) -> None:
    micro = int(get_arg(args, "per_device_train_batch_size"))
    accumulation = int(get_arg(args, "gradient_accumulation_steps"))
    lr = get_arg(args, "learning_rate")
    f.fill(
        "train_micro_batch_size_per_gpu",
        micro,
        "per_device_train_batch_size",
        not auto_find_batch_size,
    )
    f.fill("gradient_accumulation_steps", accumulation, "gradient_accumulation_steps")
    f.fill(
        "train_batch_size",
        _world_size(args) * micro * accumulation,
        "train_batch_size (calculated)",
        not auto_find_batch_size,
    )
    f.fill("gradient_clipping", get_arg(args, "max_grad_norm"), "max_grad_norm")
    f.fill("optimizer.params.lr", lr, "learning_rate")
    f.fill(
        "optimizer.params.betas",
        [get_arg(args, "adam_beta1"), get_arg(args, "adam_beta2")],
        "adam_beta1+adam_beta2",
    )
    f.fill("optimizer.params.eps", get_arg(args, "adam_epsilon"), "adam_epsilon")
    f.fill("optimizer.params.weight_decay", get_arg(args, "weight_decay"), "weight_decay")
    f.fill("scheduler.params.warmup_min_lr", 0, must_match=False)
    f.fill("scheduler.params.warmup_max_lr", lr, "learning_rate")
    if get_arg(args, "save_on_each_node"):
        checkpoint = f.config.setdefault("checkpoint", {})
        checkpoint["use_node_local_storage"] = True
    fp16 = bool(get_arg(args, "fp16") or get_arg(args, "fp16_full_eval"))
    bf16 = bool(get_arg(args, "bf16") or get_arg(args, "bf16_full_eval"))
    f.fill("fp16.enabled", fp16, "fp16|fp16_full_eval")
    f.fill("bf16.enabled", bf16, "bf16|bf16_full_eval")


_HIDDEN_SIZE_KEYS = (
    "zero_optimization.reduce_bucket_size",
    "zero_optimization.stage3_prefetch_bucket_size",
    "zero_optimization.stage3_param_persistence_threshold",
)


def _fill_from_model(f: _Filler, args: Any, model: Any, num_training_steps: int | None) -> None:
    if model is not None:
        autos = [k for k in _HIDDEN_SIZE_KEYS if f.is_auto(k)]
        if autos:
            hidden = model_hidden_size(model)
            if hidden is None:
                raise ValueError(
                    "The model config has neither `hidden_size` nor `hidden_sizes`, so the DeepSpeed "
                    f"`auto` entries {autos} cannot be filled; replace them with integers."
                )
            f.fill("zero_optimization.reduce_bucket_size", hidden * hidden, must_match=False)
            if f.get("zero_optimization.stage") == 3:
                f.fill(
                    "zero_optimization.stage3_prefetch_bucket_size",
                    int(0.9 * hidden * hidden),
                    must_match=False,
                )
                f.fill(
                    "zero_optimization.stage3_param_persistence_threshold",
                    10 * hidden,
                    must_match=False,
                )
    if num_training_steps is not None:
        f.fill(
            "scheduler.params.total_num_steps",
            num_training_steps,
            "num_training_steps (calculated)",
        )
        warmup = warmup_steps_for(args, num_training_steps)
        if f.is_auto("scheduler.params.warmup_num_steps"):
            # DeepSpeed >= 0.19.6 rejects 0 warmup steps (older versions raised it to 2 silently,
            # as its warmup schedules still do for 1); so "no warmup" is filled as 1.
            f.fill("scheduler.params.warmup_num_steps", max(1, warmup))
        else:
            f.fill("scheduler.params.warmup_num_steps", warmup, "warmup_steps")


def fill_deepspeed_config(
    config: dict,
    args: Any,
    *,
    model: Any = None,
    num_training_steps: int | None = None,
    auto_find_batch_size: bool = False,
) -> dict:
    """Replace ``"auto"`` values of ``config`` in place from ``args`` and return it.

    Without ``model``/``num_training_steps`` only argument-derived keys are filled; model-size and
    step-count keys stay ``"auto"`` for :func:`finalize_deepspeed_config`. With
    ``auto_find_batch_size`` the batch-size keys may disagree (the finder changes them).
    Raises :class:`DeepSpeedConfigMismatchError` listing every explicit value that contradicts
    ``args``.
    """
    f = _Filler(config)
    _fill_from_args(f, args, auto_find_batch_size)
    if model is not None or num_training_steps is not None:
        _fill_from_model(f, args, model, num_training_steps)
    if f.mismatches:
        raise DeepSpeedConfigMismatchError(f.mismatches)
    return config


def finalize_deepspeed_config(
    accelerator: Any, args: Any, model: Any, num_training_steps: int
) -> dict:
    """Fill the model- and step-dependent ``"auto"`` values of the accelerator's DeepSpeed config.

    Call right before ``accelerator.prepare`` in training. Returns the (mutated) config dict.
    """
    plugin = accelerator.state.deepspeed_plugin
    config = plugin.deepspeed_config
    f = _Filler(config)
    _fill_from_model(f, args, model, num_training_steps)
    if f.mismatches:
        raise DeepSpeedConfigMismatchError(f.mismatches)
    return config


def deepspeed_dtype(config: dict) -> Any:
    """The torch dtype DeepSpeed trains in: bf16, fp16, else fp32."""
    import torch

    def enabled(section: str) -> bool:
        value = (config.get(section) or {}).get("enabled")
        return value not in (None, AUTO) and bool(value)

    if enabled("bf16"):
        return torch.bfloat16
    if enabled("fp16"):
        return torch.float16
    return torch.float32


def deepspeed_optimizer_and_scheduler(
    config: dict,
    parameters: Any,
    create_optimizer: Callable[[], Any],
    create_scheduler: Callable[[Any], Any],
) -> tuple[Any, Any]:
    """The optimizer and schedule to hand to ``accelerator.prepare`` under DeepSpeed.

    A config ``optimizer`` section means DeepSpeed builds the optimizer (an accelerate
    ``DummyOptim`` over ``parameters`` stands in for it); otherwise ``create_optimizer()`` builds
    the trainer's own and the config gets ``zero_allow_untested_optimizer``. A ``scheduler``
    section means DeepSpeed builds the schedule (``DummyScheduler``); without one, a DeepSpeed
    optimizer gets the trainer's schedule through ``DummyScheduler(lr_scheduler_callable=
    create_scheduler)`` (it only exists once DeepSpeed made the optimizer), and a trainer optimizer
    gets ``None``: the trainer creates its schedule after ``prepare``. Mutates ``config``.
    """
    from accelerate.utils import DummyOptim, DummyScheduler

    if "optimizer" in config:
        optimizer = DummyOptim(params=parameters)
    else:
        optimizer = create_optimizer()
        config["zero_allow_untested_optimizer"] = True
    if "scheduler" in config:
        scheduler = DummyScheduler(optimizer)
    elif isinstance(optimizer, DummyOptim):
        scheduler = DummyScheduler(optimizer, lr_scheduler_callable=create_scheduler)
    else:
        scheduler = None
    return optimizer, scheduler


def build_deepspeed_plugin(args: Any, *, auto_find_batch_size: bool = False) -> Any:
    """An ``accelerate`` ``DeepSpeedPlugin`` whose config has the argument-derived values filled."""
    config = fill_deepspeed_config(
        load_deepspeed_config(get_arg(args, "deepspeed")),
        args,
        auto_find_batch_size=auto_find_batch_size,
    )
    from accelerate.utils import DeepSpeedPlugin

    plugin = DeepSpeedPlugin(hf_ds_config=config)
    if importlib.util.find_spec("transformers") is None:
        # accelerate registers the config with transformers (for `from_pretrained` under ZeRO-3
        # `zero.Init`) and fails when transformers is absent. Without transformers there is no
        # `from_pretrained` to inform, so skip that registration.
        plugin.zero3_init_flag = False
        plugin.set_deepspeed_weakref = _no_weakref
    return plugin


def _no_weakref() -> None:
    return None
