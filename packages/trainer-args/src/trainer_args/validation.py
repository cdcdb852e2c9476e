"""Normalisation and validation run by ``TrainingArguments.__post_init__``.

Each step is a small function taking the arguments object, so the order of the pipeline reads
top to bottom in :func:`normalise_and_validate`. Every failure is a ``ValueError`` that names the
field, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping
from typing import Any

# load_json_file is no longer used here; it stays importable from here, where it used to live.
from ._coerce import load_json_file as load_json_file
from ._coerce import parse_json_object, to_enum
from ._errors import invalid_choice, invalid_value
from .enums import (
    DebugOption,
    HubStrategy,
    IntervalStrategy,
    OptimizerNames,
    SaveStrategy,
    SchedulerType,
)
from .fields import DDP_BACKENDS, LOG_LEVELS, SAMPLING_STRATEGIES
from .fsdp import normalise_fsdp
from .numeric import check_ranges, coerce_numbers
from .report_to import INTEGRATION_MODULES, available_integrations

logger = logging.getLogger("trainer_args")

#: Fields that accept a JSON object given as a string (handy on the command line).
JSON_DICT_FIELDS = (
    "accelerator_config",
    "fsdp_config",
    "deepspeed",
    "gradient_checkpointing_kwargs",
    "lr_scheduler_kwargs",
)
TOKENS_SEEN_CHOICES = ["no", "all", "non_padding"]


def normalise_and_validate(args: Any) -> None:
    """Bring every field of ``args`` to its canonical form, raising ``ValueError`` on bad input."""
    coerce_numbers(args)
    _defaults_and_json(args)
    _convert_enums(args)
    _derived_values(args)
    _check_steps(args)
    _check_best_model(args)
    _check_misc(args)
    check_ranges(args)
    _precision_and_compile(args)
    _accelerator_config(args)
    if args.use_cpu:
        args.dataloader_pin_memory = False
    args.fsdp_plugin_args = normalise_fsdp(args)
    _check_deepspeed(args)


def _defaults_and_json(args: Any) -> None:
    if args.output_dir is None:
        args.output_dir = "trainer_output"
        logger.info("output_dir not given; using 'trainer_output'.")
    args.output_dir = os.path.expanduser(os.fspath(args.output_dir))
    for name in JSON_DICT_FIELDS:
        value = getattr(args, name)
        if isinstance(value, str) and value.lstrip().startswith("{"):
            setattr(args, name, parse_json_object(name, value))
    for name in ("lr_scheduler_kwargs", "gradient_checkpointing_kwargs"):
        value = getattr(args, name)
        if value is not None and not isinstance(value, dict):
            raise invalid_value(name, value, "expected a dict or a JSON object string")
    if args.disable_tqdm is None:
        args.disable_tqdm = logger.getEffectiveLevel() > logging.WARNING
    if args.warmup_ratio is not None:
        if not 0 <= args.warmup_ratio <= 1:
            raise invalid_value("warmup_ratio", args.warmup_ratio, "expected a fraction in [0, 1]")
        logger.warning("warmup_ratio is deprecated; pass the fraction as warmup_steps instead.")
        args.warmup_steps = args.warmup_ratio
    if args.logging_dir is not None:
        logger.warning("logging_dir is deprecated; set TENSORBOARD_LOGGING_DIR instead.")
    tokens_seen = args.include_num_input_tokens_seen
    if isinstance(tokens_seen, bool):
        args.include_num_input_tokens_seen = "all" if tokens_seen else "no"
    elif tokens_seen not in TOKENS_SEEN_CHOICES:
        raise invalid_choice("include_num_input_tokens_seen", tokens_seen, TOKENS_SEEN_CHOICES)


def _convert_enums(args: Any) -> None:
    args.eval_strategy = to_enum("eval_strategy", args.eval_strategy, IntervalStrategy)
    args.logging_strategy = to_enum("logging_strategy", args.logging_strategy, IntervalStrategy)
    args.save_strategy = to_enum("save_strategy", args.save_strategy, SaveStrategy)
    args.hub_strategy = to_enum("hub_strategy", args.hub_strategy, HubStrategy)
    args.lr_scheduler_type = to_enum("lr_scheduler_type", args.lr_scheduler_type, SchedulerType)
    args.optim = to_enum("optim", args.optim, OptimizerNames)
    debug = args.debug
    if debug is None:
        debug = []
    elif isinstance(debug, str):
        debug = debug.split()
    else:
        debug = [
            word for item in debug for word in (item.split() if isinstance(item, str) else [item])
        ]
    args.debug = [to_enum("debug", item, DebugOption) for item in debug]


def _derived_values(args: Any) -> None:
    if not args.do_eval and args.eval_strategy != IntervalStrategy.NO:
        args.do_eval = True
    if args.eval_strategy == IntervalStrategy.STEPS and not args.eval_steps:
        if args.logging_steps > 0:
            args.eval_steps = args.logging_steps
        else:
            raise invalid_value(
                "eval_steps",
                args.eval_steps,
                "eval_strategy='steps' needs a non-zero eval_steps or logging_steps",
            )
    uses_metric = (
        args.load_best_model_at_end or args.lr_scheduler_type == SchedulerType.REDUCE_ON_PLATEAU
    )
    if uses_metric and args.metric_for_best_model is None:
        args.metric_for_best_model = "loss"
    if args.greater_is_better is None and args.metric_for_best_model is not None:
        args.greater_is_better = not args.metric_for_best_model.endswith("loss")
    args.report_to = _normalise_report_to(args.report_to)


def _normalise_report_to(value: Any) -> list[str]:
    if value is None or value in ("none", ["none"]):
        return []
    if value in ("all", ["all"]):
        return available_integrations()
    names = [value] if isinstance(value, str) else list(value)
    allowed = [*INTEGRATION_MODULES, "all", "none"]
    for name in names:
        if name not in INTEGRATION_MODULES:
            raise invalid_choice("report_to", name, allowed)
    return names


def _whole_steps(args: Any, name: str, strategy: Any) -> None:
    """A steps value above 1 must be a whole number; it is then stored as ``int``."""
    value = getattr(args, name)
    if strategy != IntervalStrategy.STEPS or value is None:
        return
    if value < 0:
        raise invalid_value(
            name, value, "expected a positive number of steps or a fraction in (0, 1)"
        )
    if value > 1:
        if value != int(value):
            raise invalid_value(name, value, "a value above 1 must be a whole number of steps")
        setattr(args, name, int(value))


def _check_steps(args: Any) -> None:
    if args.torch_empty_cache_steps is not None and not (
        isinstance(args.torch_empty_cache_steps, int) and args.torch_empty_cache_steps > 0
    ):
        raise invalid_value(
            "torch_empty_cache_steps", args.torch_empty_cache_steps, "expected an integer > 0"
        )
    if args.logging_strategy == IntervalStrategy.STEPS and args.logging_steps == 0:
        raise invalid_value(
            "logging_steps", 0, "logging_strategy='steps' needs a non-zero logging_steps"
        )
    _whole_steps(args, "logging_steps", args.logging_strategy)
    _whole_steps(args, "eval_steps", args.eval_strategy)
    _whole_steps(args, "save_steps", args.save_strategy)


def _check_best_model(args: Any) -> None:
    if not args.load_best_model_at_end or args.save_strategy == SaveStrategy.BEST:
        return
    if args.eval_strategy != args.save_strategy:
        raise ValueError(
            "load_best_model_at_end=True needs save_strategy to match eval_strategy (or be 'best'), "
            f"got eval_strategy={args.eval_strategy.value!r} and save_strategy={args.save_strategy.value!r}."
        )
    if args.eval_strategy != IntervalStrategy.STEPS:
        return
    save, every = args.save_steps, args.eval_steps
    if save % every == 0:
        ok = True
    elif save < 1 and every < 1:
        scale = 1_000_000  # compare fractions as integers to dodge float rounding
        ok = round(save * scale) % round(every * scale) == 0
    else:
        ok = False
    if not ok:
        raise ValueError(
            "load_best_model_at_end=True needs save_steps to be a multiple of eval_steps (both whole "
            f"numbers or both fractions), got save_steps={save!r} and eval_steps={every!r}."
        )


def _check_misc(args: Any) -> None:
    if args.fp16 and args.bf16:
        raise ValueError("fp16=True and bf16=True cannot be combined; choose one precision.")
    if args.fp16_full_eval and args.bf16_full_eval:
        raise ValueError(
            "fp16_full_eval=True and bf16_full_eval=True cannot be combined; choose one."
        )
    if (
        args.lr_scheduler_type == SchedulerType.REDUCE_ON_PLATEAU
        and args.eval_strategy == IntervalStrategy.NO
    ):
        raise ValueError(
            "lr_scheduler_type='reduce_lr_on_plateau' needs evaluation: set eval_strategy to 'steps' or 'epoch'."
        )
    if args.warmup_steps < 0:
        raise invalid_value(
            "warmup_steps", args.warmup_steps, "expected a step count >= 0 or a fraction in [0, 1)"
        )
    if args.dataloader_prefetch_factor is not None and args.dataloader_num_workers == 0:
        raise invalid_value(
            "dataloader_prefetch_factor",
            args.dataloader_prefetch_factor,
            "it only applies with worker processes; set dataloader_num_workers > 0",
        )
    for name in (
        "per_device_train_batch_size",
        "per_device_eval_batch_size",
        "gradient_accumulation_steps",
    ):
        if getattr(args, name) < 1:
            raise invalid_value(name, getattr(args, name), "expected an integer >= 1")
    if args.dataloader_num_workers < 0:
        raise invalid_value(
            "dataloader_num_workers", args.dataloader_num_workers, "expected an integer >= 0"
        )
    for name in ("log_level", "log_level_replica"):
        if getattr(args, name) not in LOG_LEVELS:
            raise invalid_choice(name, getattr(args, name), LOG_LEVELS)
    if args.train_sampling_strategy not in SAMPLING_STRATEGIES:
        raise invalid_choice(
            "train_sampling_strategy", args.train_sampling_strategy, SAMPLING_STRATEGIES
        )
    if args.ddp_backend is not None and args.ddp_backend not in DDP_BACKENDS:
        raise invalid_choice("ddp_backend", args.ddp_backend, DDP_BACKENDS)


def _precision_and_compile(args: Any) -> None:
    args.mixed_precision = os.environ.get("ACCELERATE_MIXED_PRECISION", "no")
    if args.fp16:
        args.mixed_precision = "fp16"
    elif args.bf16:
        args.mixed_precision = "bf16"
    if args.torch_compile_mode is not None or args.torch_compile_backend is not None:
        args.torch_compile = True
    if args.torch_compile and args.torch_compile_backend is None:
        args.torch_compile_backend = "inductor"


def _accelerator_config(args: Any) -> None:
    from .accelerator_config import AcceleratorConfig

    value = args.accelerator_config
    if not isinstance(value, AcceleratorConfig):
        args.accelerator_config = _as_accelerator_config(value)


def set_up_process_state(args: Any) -> None:
    """Set up accelerate's process state now, as transformers' ``TrainingArguments`` do.

    Used while the project is installed as transformers (``_process_state_on_init``): the state
    is reset and created from the arguments, unless ``use_configured_state=True``, which needs one
    created before (an error otherwise). Otherwise the state is created when first needed.
    """
    from accelerate.state import AcceleratorState, PartialState

    if args.accelerator_config.use_configured_state:
        if not PartialState._shared_state:
            raise ValueError(
                "accelerator_config: use_configured_state=True reuses the accelerate state of "
                "this process, and there is none yet: create an `Accelerator` or `PartialState` "
                "before the TrainingArguments, or leave use_configured_state=False. (Passing "
                "`'use_configured_state':True` to the AcceleratorConfig requires a pre-configured "
                "`AcceleratorState` or `PartialState` to be defined before calling "
                "`TrainingArguments`.)"
            )
        return
    AcceleratorState._reset_state(reset_partial_state=True)
    args.distributed_state  # noqa: B018 - creates the PartialState


def _as_accelerator_config(value: Any) -> Any:
    from .accelerator_config import AcceleratorConfig

    if isinstance(value, type):
        raise NotImplementedError(
            f"accelerator_config={value!r} is a class: Tried passing in a callable to "
            "`accelerator_config`, but this is not supported. Pass an instance such as "
            "AcceleratorConfig(), a dict, a JSON string or the path of a JSON/YAML file."
        )
    if value is None:
        return AcceleratorConfig()
    if isinstance(value, (str, os.PathLike)):
        return AcceleratorConfig.from_json_file(value)
    if isinstance(value, Mapping):
        return AcceleratorConfig.from_dict(value)
    if dataclasses.is_dataclass(value) or hasattr(value, "to_dict"):
        fields = (
            {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
            if dataclasses.is_dataclass(value)
            else value.to_dict()
        )
        return AcceleratorConfig.from_dict(fields)
    raise invalid_value(
        "accelerator_config",
        value,
        "expected a dict, an AcceleratorConfig, a JSON string or the path of a JSON/YAML file",
    )


def _check_deepspeed(args: Any) -> None:
    value = args.deepspeed
    if not value or isinstance(value, dict):
        return
    if not isinstance(value, str) or not os.path.isfile(value):
        raise invalid_value(
            "deepspeed", value, "expected a dict, a JSON string or the path of a JSON file"
        )
