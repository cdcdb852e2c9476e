"""Checkpoint files in the transformers layout: written atomically, read without unpickling code.

A checkpoint is a folder ``checkpoint-<global_step>`` holding the model weights
(``model.safetensors`` or the model's own ``save_pretrained`` output), ``optimizer.pt``,
``scheduler.pt``, ``scaler.pt`` when a grad scaler is used, ``rng_state.pth`` (one
``rng_state_<rank>.pth`` per process when distributed), ``trainer_state.json`` and
``training_args.bin``; ours also hold ``data_state.json`` (``data_state_<rank>.json``), which
transformers ignores (``data_state.py``). Folders move between this library and transformers in
both directions.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import shutil
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from ..results import (
    SAFE_WEIGHTS_INDEX_NAME,
    SAFE_WEIGHTS_NAME,
    WEIGHTS_NAME,
)
from .checks import weight_files

WEIGHTS_INDEX_NAME = "pytorch_model.bin.index.json"

logger = logging.getLogger(__name__)

STAGING_PREFIX = ".staging-"


def has_model_weights(folder: str) -> bool:
    """Whether ``folder`` holds model weights: full, sharded, or adapter-only."""
    return bool(weight_files(folder))


@contextlib.contextmanager
def staged_folder(final_dir: str, *, is_writer: bool, barrier=None) -> Iterator[str]:
    """Yield a staging folder that becomes ``final_dir`` by one rename once everything is written.

    A crash while writing leaves only a ``.staging-*`` folder, never a half-written checkpoint.
    With several processes, ``barrier`` is called so every rank writes its files into the same
    staging folder before the writer renames it.
    """
    parent, name = os.path.split(os.path.abspath(final_dir))
    staging = os.path.join(parent, f"{STAGING_PREFIX}{name}")
    if is_writer:
        os.makedirs(parent, exist_ok=True)
        if os.path.isdir(staging):
            shutil.rmtree(staging)
        os.makedirs(staging)
    if barrier is not None:
        barrier()
    yield staging
    if barrier is not None:
        barrier()
    if is_writer:
        if os.path.isdir(final_dir):
            # Saving the same step twice (e.g. on_save then train end) replaces the old folder.
            shutil.rmtree(final_dir)
        os.replace(staging, final_dir)
    if barrier is not None:
        barrier()


def atomic_torch_save(obj: Any, path: str) -> None:
    """``torch.save`` to a temporary name in the same folder, then rename over ``path``.

    Inside a staging folder (see ``staged_folder``) the file is written in place: the folder is
    renamed into view as a whole, so a per-file rename would only add work.
    """
    if os.path.basename(os.path.dirname(os.path.abspath(path))).startswith(STAGING_PREFIX):
        torch.save(obj, path)
        return
    tmp = f"{path}.tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def write_text(text: str, path: str) -> None:
    """Write ``text`` to ``path`` (UTF-8) through a temporary file renamed into place."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def safe_torch_load(path: str, map_location: str | torch.device = "cpu") -> Any:
    """Load a ``.pt``/``.pth``/``.bin`` file with ``weights_only=True`` (numpy RNG state allowed)."""
    with torch.serialization.safe_globals(_numpy_safe_globals()):
        return torch.load(path, map_location=map_location, weights_only=True)


def _numpy_safe_globals() -> list:
    allowed: list = [np.ndarray, np.dtype]
    core = getattr(np, "_core", None) or np.core
    allowed.append(core.multiarray._reconstruct)
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:
        allowed += [
            getattr(dtypes, n)
            for n in ("UInt32DType", "Float64DType", "Int64DType")
            if hasattr(dtypes, n)
        ]
    return allowed


def rng_file_name(world_size: int, process_index: int) -> str:
    return "rng_state.pth" if world_size <= 1 else f"rng_state_{process_index}.pth"


def rng_file_to_restore(checkpoint: str, own: str) -> str | None:
    """The RNG file a process restores: its own, else (another process count wrote the
    checkpoint) the first process's, said once; None when the checkpoint has none."""
    for name in (own, "rng_state.pth", "rng_state_0.pth"):
        path = os.path.join(checkpoint, name)
        if os.path.isfile(path):
            if name != own and (checkpoint, own) not in _RNG_FALLBACKS_SAID:
                _RNG_FALLBACKS_SAID.add((checkpoint, own))
                logger.info(
                    "%s has no %s (it was written by another number of processes): restoring %s "
                    "instead, so random draws (dropout, random collators) differ from an "
                    "uninterrupted run.",
                    checkpoint,
                    own,
                    name,
                )
            return path
    return None


_RNG_FALLBACKS_SAID: set[tuple[str, str]] = set()


def capture_rng_state(distributed: bool) -> dict[str, Any]:
    """Every random generator the training run draws from, in transformers' key layout."""
    states: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "cpu": torch.random.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = (
            torch.cuda.random.get_rng_state_all()
            if distributed
            else torch.cuda.random.get_rng_state()
        )
    return states


def restore_rng_state(states: dict[str, Any], distributed: bool) -> None:
    random.setstate(_as_python_state(states["python"]))
    np.random.set_state(states["numpy"])
    torch.random.set_rng_state(states["cpu"])
    if "cuda" in states and torch.cuda.is_available():
        if distributed and isinstance(states["cuda"], (list, tuple)):
            torch.cuda.random.set_rng_state_all(states["cuda"])
        else:
            cuda_state = states["cuda"]
            torch.cuda.random.set_rng_state(
                cuda_state[0] if isinstance(cuda_state, (list, tuple)) else cuda_state
            )


def _as_python_state(state: Any) -> tuple:
    # torch.load returns the inner state as a list; random.setstate needs tuples.
    version, internal, gauss = state
    return (version, tuple(internal), gauss)


def load_model_weights(model: torch.nn.Module, folder: str, strict: bool = False) -> Any:
    """Load weights saved by either library (safetensors, bin, or a sharded index) into ``model``.

    Returns ``load_state_dict``'s result (missing and unexpected keys); see :func:`warn_after_load`.
    """
    from safetensors.torch import load_file

    safe = os.path.join(folder, SAFE_WEIGHTS_NAME)
    binary = os.path.join(folder, WEIGHTS_NAME)
    if os.path.isfile(safe):
        state_dict = load_file(safe, device="cpu")
    elif os.path.isfile(binary):
        state_dict = safe_torch_load(binary)
    else:
        state_dict = _load_sharded(folder)
    return model.load_state_dict(state_dict, strict=strict)


def warn_after_load(model: torch.nn.Module, result: Any) -> None:
    """Warn about keys a checkpoint lacked or had in excess (tied weights are re-tied, not named)."""
    missing = [k for k in result.missing_keys if k not in _tied_keys(model)]
    if missing:
        logger.warning("There were missing keys in the checkpoint model loaded: %s.", missing)
    if result.unexpected_keys:
        logger.warning(
            "There were unexpected keys in the checkpoint model loaded: %s.", result.unexpected_keys
        )


def _tied_keys(model: torch.nn.Module) -> set[str]:
    ignored = getattr(model, "_keys_to_ignore_on_save", None) or []
    tied = getattr(model, "_tied_weights_keys", None) or []
    if isinstance(tied, dict):
        tied = list(tied)
    keys = set(ignored) | set(tied)
    if keys and hasattr(model, "tie_weights"):
        model.tie_weights()
    return keys


def _load_sharded(folder: str) -> dict[str, torch.Tensor]:
    import json

    from safetensors.torch import load_file

    for index_name, loader in (
        (SAFE_WEIGHTS_INDEX_NAME, load_file),
        (WEIGHTS_INDEX_NAME, safe_torch_load),
    ):
        index_path = os.path.join(folder, index_name)
        if os.path.isfile(index_path):
            with open(index_path) as f:
                shards = sorted(set(json.load(f)["weight_map"].values()))
            state_dict: dict[str, torch.Tensor] = {}
            for shard in shards:
                state_dict.update(loader(os.path.join(folder, shard)))
            return state_dict
    raise FileNotFoundError(f"No model weights found in {folder}.")


def save_model_files(
    model: torch.nn.Module, output_dir: str, state_dict: dict | None = None
) -> None:
    """Write the model: its own ``save_pretrained`` when it has one, else ``model.safetensors``."""
    from safetensors.torch import save_file

    os.makedirs(output_dir, exist_ok=True)
    if hasattr(model, "save_pretrained") and callable(model.save_pretrained):
        model.save_pretrained(output_dir, state_dict=state_dict)
        return
    if state_dict is None:
        state_dict = model.state_dict()
    tensors = _dedupe_shared(state_dict)
    save_file(tensors, os.path.join(output_dir, SAFE_WEIGHTS_NAME), metadata={"format": "pt"})


def _dedupe_shared(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # safetensors refuses tensors sharing storage; keep the first name, clone the rest.
    seen: set[tuple[int, int]] = set()
    out = {}
    for name, tensor in state_dict.items():
        tensor = tensor.detach()
        key = (
            (tensor.untyped_storage().data_ptr(), tensor.storage_offset())
            if tensor.numel()
            else (id(tensor), 0)
        )
        out[name] = tensor.clone().contiguous() if key in seen else tensor.contiguous()
        seen.add(key)
    return out
