"""Normalisation of the ``fsdp`` / ``fsdp_config`` fields (no accelerate import needed)."""

from __future__ import annotations

import logging
import warnings
from typing import Any

from ._coerce import load_json_file, to_enum
from ._errors import invalid_value
from .enums import FSDPOption

logger = logging.getLogger("trainer_args")

_SHARDING = {"full_shard", "shard_grad_op", "no_shard", "hybrid_shard", "hybrid_shard_zero2"}
_TRUTHY = {"y", "yes", "t", "true", "on", "1"}
_FALSY = {"n", "no", "f", "false", "off", "0"}


def str_to_bool(name: str, value: Any) -> bool:
    """Read a yes/no style value (``"true"``, ``"0"``, ``True`` ...) of the setting ``name``."""
    text = str(value).lower()
    if text in _TRUTHY:
        return True
    if text in _FALSY:
        return False
    raise invalid_value(name, value, "expected a boolean such as 'true' or 'false'")


def _options(value: Any) -> list[FSDPOption]:
    if not value:
        return []
    if value is True:
        return [FSDPOption.FULL_SHARD]
    items = [value] if isinstance(value, str) else list(value)
    words = [word for item in items for word in (item.split() if isinstance(item, str) else [item])]
    return [to_enum("fsdp", word, FSDPOption) for word in words]


def _config(args: Any, enabled: bool) -> dict[str, Any]:
    config = args.fsdp_config
    if config is None:
        config = {}
    elif isinstance(config, str):
        if not enabled:
            warnings.warn("fsdp_config has no effect unless fsdp is set.", stacklevel=6)
        config = load_json_file("fsdp_config", config)
    elif not isinstance(config, dict):
        raise invalid_value(
            "fsdp_config", config, "expected a dict, a JSON string or a JSON file path"
        )
    for key in list(config):
        if key.startswith("fsdp_"):
            config[key[len("fsdp_") :]] = config.pop(key)
    config.setdefault("min_num_params", 0)
    if isinstance(config.get("transformer_layer_cls_to_wrap"), str):
        config["transformer_layer_cls_to_wrap"] = [config["transformer_layer_cls_to_wrap"]]
    for key in ("xla", "xla_fsdp_v2", "xla_fsdp_grad_ckpt"):
        config.setdefault(key, False)
    return config


def normalise_fsdp(args: Any) -> dict[str, Any] | None:
    """Normalise ``args.fsdp`` and ``args.fsdp_config``; return the keyword arguments for an FSDP plugin.

    Returns ``None`` when FSDP is off (or runs on XLA). Nothing here imports torch or accelerate and
    the process environment is left untouched: the runtime package applies the result.
    """
    args.fsdp = options = _options(args.fsdp)
    if options == [FSDPOption.OFFLOAD]:
        raise invalid_value(
            "fsdp", "offload", "'offload' must be combined with 'full_shard' or 'shard_grad_op'"
        )
    if FSDPOption.FULL_SHARD in options and FSDPOption.SHARD_GRAD_OP in options:
        raise invalid_value(
            "fsdp",
            "full_shard shard_grad_op",
            "'full_shard' and 'shard_grad_op' exclude each other",
        )
    if args.gradient_checkpointing and (
        FSDPOption.FULL_SHARD in options or FSDPOption.HYBRID_SHARD in options
    ):
        logger.warning(
            "With FSDP full sharding prefer fsdp_config['activation_checkpointing'] over gradient_checkpointing."
        )
    args.fsdp_config = config = _config(args, bool(options))
    wrap_classes = config.get("transformer_layer_cls_to_wrap")
    if options and config["min_num_params"] > 0 and wrap_classes is not None:
        raise ValueError(
            "fsdp_config: 'min_num_params' and 'transformer_layer_cls_to_wrap' exclude each other; set only one."
        )
    if not options:
        if config["min_num_params"] > 0 or wrap_classes is not None:
            warnings.warn(
                "fsdp_config wrapping settings have no effect unless fsdp is set.", stacklevel=5
            )
        return None
    if config["xla"]:
        return None
    plugin: dict[str, Any] = {}
    for option in options:
        if option.value in _SHARDING:
            plugin["sharding_strategy"] = option
        elif option == FSDPOption.OFFLOAD:
            plugin["cpu_offload"] = True
        elif option == FSDPOption.AUTO_WRAP:
            plugin["auto_wrap_policy"] = "TRANSFORMER_BASED_WRAP"
            if config["min_num_params"] > 0:
                plugin["min_num_params"] = config["min_num_params"]
                plugin["auto_wrap_policy"] = "SIZE_BASED_WRAP"
            elif wrap_classes is not None:
                plugin["transformer_cls_names_to_wrap"] = ",".join(wrap_classes)
    version = int(config.get("version", 1))
    plugin["fsdp_version"] = version
    if version == 2:
        plugin["reshard_after_forward"] = str_to_bool(
            "fsdp_config['reshard_after_forward']", config.get("reshard_after_forward", "false")
        )
    else:
        plugin["forward_prefetch"] = str_to_bool(
            "fsdp_config['forward_prefetch']", config.get("forward_prefetch", "false")
        )
        plugin["backward_prefetch"] = str(config.get("backward_prefetch", "NO_PREFETCH")).upper()
        plugin["reshard_after_forward"] = str(
            config.get("reshard_after_forward", "FULL_SHARD")
        ).lower()
        plugin["use_orig_params"] = str_to_bool(
            "fsdp_config['use_orig_params']", config.get("use_orig_params", "true")
        )
    sync = str_to_bool(
        "fsdp_config['sync_module_states']", config.get("sync_module_states", "true")
    )
    low_ram = str_to_bool(
        "fsdp_config['cpu_ram_efficient_loading']", config.get("cpu_ram_efficient_loading", "false")
    )
    if low_ram and not sync:
        raise ValueError(
            "fsdp_config: 'cpu_ram_efficient_loading' needs 'sync_module_states' to be true."
        )
    plugin["cpu_ram_efficient_loading"] = low_ram
    plugin["sync_module_states"] = sync
    return plugin
