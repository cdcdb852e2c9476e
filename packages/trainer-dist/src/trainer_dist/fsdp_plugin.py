"""FSDP: normalising ``fsdp``/``fsdp_config`` and building accelerate's FSDP plugin from them."""

from __future__ import annotations

from typing import Any

from ._args import get_arg, load_json_config, truthy

__all__ = [
    "build_fsdp_plugin",
    "fsdp_plugin_kwargs",
    "normalize_fsdp_config",
    "normalize_fsdp_options",
]

_SHARDING_OPTIONS = (
    "full_shard",
    "shard_grad_op",
    "no_shard",
    "hybrid_shard",
    "hybrid_shard_zero2",
)
_FSDP_OPTIONS = (*_SHARDING_OPTIONS, "offload", "auto_wrap")


def normalize_fsdp_options(fsdp: Any) -> list[str]:
    """Turn ``args.fsdp`` (bool, space-separated string, list of strings or enums) into a list."""
    if not fsdp:
        return []
    if fsdp is True:
        return ["full_shard"]
    items = fsdp.split() if isinstance(fsdp, str) else list(fsdp)
    options = [str(getattr(item, "value", item)).lower() for item in items]
    for option in options:
        if option not in _FSDP_OPTIONS:
            raise ValueError(f"`fsdp` option {option!r} is not one of {list(_FSDP_OPTIONS)}.")
    if options == ["offload"]:
        raise ValueError(
            '`fsdp="offload"` needs a sharding strategy too, for example `fsdp="full_shard offload"`.'
        )
    if "full_shard" in options and "shard_grad_op" in options:
        raise ValueError("`fsdp` cannot combine `full_shard` and `shard_grad_op`.")
    return options


def normalize_fsdp_config(fsdp_config: Any) -> dict[str, Any]:
    """Load ``args.fsdp_config`` (dict or JSON path) and strip ``fsdp_`` key prefixes; never mutates."""
    config = load_json_config(fsdp_config, "fsdp_config") or {}
    normalized: dict[str, Any] = {}
    for key, value in config.items():
        normalized[key[5:] if key.startswith("fsdp_") else key] = value
    normalized.setdefault("min_num_params", 0)
    layers = normalized.get("transformer_layer_cls_to_wrap")
    if isinstance(layers, str):
        normalized["transformer_layer_cls_to_wrap"] = [layers]
    return normalized


def fsdp_plugin_kwargs(args: Any) -> dict[str, Any] | None:
    """Keyword arguments for ``FullyShardedDataParallelPlugin``, or ``None`` when FSDP is off."""
    options = normalize_fsdp_options(get_arg(args, "fsdp"))
    config = normalize_fsdp_config(get_arg(args, "fsdp_config"))
    if not options or truthy(config.get("xla", False)):
        return None
    layers = config.get("transformer_layer_cls_to_wrap")
    if config["min_num_params"] > 0 and layers is not None:
        raise ValueError(
            "`fsdp_config` cannot set both `min_num_params` and `transformer_layer_cls_to_wrap`."
        )
    kwargs: dict[str, Any] = {}
    for option in options:
        if option in _SHARDING_OPTIONS:
            kwargs["sharding_strategy"] = option.upper()
        elif option == "offload":
            kwargs["cpu_offload"] = True
        elif option == "auto_wrap":
            if config["min_num_params"] > 0:
                kwargs["auto_wrap_policy"] = "SIZE_BASED_WRAP"
                kwargs["min_num_params"] = config["min_num_params"]
            else:
                kwargs["auto_wrap_policy"] = "TRANSFORMER_BASED_WRAP"
                if layers is not None:
                    kwargs["transformer_cls_names_to_wrap"] = ",".join(layers)
    version = int(config.get("version", 1))
    kwargs["fsdp_version"] = version
    if version == 2:
        kwargs["reshard_after_forward"] = truthy(config.get("reshard_after_forward", False))
    else:
        kwargs["forward_prefetch"] = truthy(config.get("forward_prefetch", False))
        kwargs["backward_prefetch"] = str(config.get("backward_prefetch", "NO_PREFETCH")).upper()
        kwargs["reshard_after_forward"] = str(
            config.get("reshard_after_forward", "FULL_SHARD")
        ).lower()
        kwargs["use_orig_params"] = truthy(config.get("use_orig_params", True))
    sync_states = truthy(config.get("sync_module_states", True))
    ram_efficient = truthy(config.get("cpu_ram_efficient_loading", False))
    if ram_efficient and not sync_states:
        raise ValueError(
            "`fsdp_config.cpu_ram_efficient_loading=true` requires `sync_module_states=true` "
            "(otherwise non-main processes keep random weights)."
        )
    kwargs["cpu_ram_efficient_loading"] = ram_efficient
    kwargs["sync_module_states"] = sync_states
    for key in ("activation_checkpointing", "limit_all_gathers"):
        if key in config:
            kwargs[key] = truthy(config[key])
    if kwargs.get("activation_checkpointing") and get_arg(args, "gradient_checkpointing"):
        raise ValueError(
            "`fsdp_config.activation_checkpointing` and `gradient_checkpointing` cannot both be "
            "true; with FSDP use `activation_checkpointing` only."
        )
    return kwargs


def build_fsdp_plugin(args: Any) -> Any:
    """A ``FullyShardedDataParallelPlugin`` from ``args.fsdp``/``fsdp_config``, or ``None``."""
    kwargs = fsdp_plugin_kwargs(args)
    if kwargs is None:
        return None
    from accelerate.utils import FullyShardedDataParallelPlugin

    try:
        return FullyShardedDataParallelPlugin(**kwargs)
    except RuntimeError as error:
        if "no available devices" not in str(error):
            raise
        raise RuntimeError(
            "FSDP needs a GPU (or XPU/NPU/HPU...): `fsdp_config.sync_module_states` (on by default) "
            "broadcasts weights from such a device and none was found. On CPU, accelerate trains "
            "with DistributedDataParallel instead of FSDP: drop `fsdp`, or set "
            "`fsdp_config={'sync_module_states': False}` to run the same script there."
        ) from error
