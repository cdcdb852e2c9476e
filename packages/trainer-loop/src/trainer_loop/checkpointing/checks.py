"""Checking folders before using them: a checkpoint before resuming, the output folder.

:func:`checkpoint_problems` lists what makes a folder unusable (a missing or unreadable
``trainer_state.json``, no model weights, a truncated weights, optimizer or RNG file).
:func:`inexact_resume_files` lists the optional files whose absence makes the resume inexact.
Both only read file headers and zip directories, so checking a multi-gigabyte checkpoint is cheap.
"""

from __future__ import annotations

import json
import os
import struct
import zipfile

from ..results import (
    OPTIMIZER_NAME,
    SAFE_WEIGHTS_INDEX_NAME,
    SAFE_WEIGHTS_NAME,
    SCHEDULER_NAME,
    TRAINER_STATE_NAME,
    WEIGHTS_NAME,
)

WEIGHTS_INDEX_NAME = "pytorch_model.bin.index.json"
ADAPTER_SAFE_WEIGHTS_NAME = "adapter_model.safetensors"
ADAPTER_WEIGHTS_NAME = "adapter_model.bin"
#: Any one of these files means the folder holds model weights (full or adapter-only).
MODEL_WEIGHT_FILES = (
    SAFE_WEIGHTS_NAME,
    WEIGHTS_NAME,
    SAFE_WEIGHTS_INDEX_NAME,
    WEIGHTS_INDEX_NAME,
    ADAPTER_SAFE_WEIGHTS_NAME,
    ADAPTER_WEIGHTS_NAME,
)
_ZIP_MAGIC = b"PK\x03\x04"


def weight_files(folder: str) -> list[str]:
    """The model-weight files (or shard indexes) present in ``folder``."""
    return [n for n in MODEL_WEIGHT_FILES if os.path.isfile(os.path.join(folder, n))]


def safetensors_problem(path: str) -> str | None:
    """Why the safetensors file at ``path`` cannot be read, or None when its layout is whole."""
    size = os.path.getsize(path)
    if size < 8:
        return f"it is {size} bytes long, too short for a safetensors header"
    with open(path, "rb") as handle:
        (header_len,) = struct.unpack("<Q", handle.read(8))
        if 8 + header_len > size:
            return f"the header says {header_len} bytes but the file holds {size}"
        try:
            header = json.loads(handle.read(header_len))
        except ValueError:
            return "its header is not valid JSON"
    ends = [
        entry["data_offsets"][1]
        for key, entry in header.items()
        if key != "__metadata__" and isinstance(entry, dict) and "data_offsets" in entry
    ]
    needed = 8 + header_len + max(ends, default=0)
    if needed > size:
        return f"the tensors need {needed} bytes but the file holds {size}"
    return None


def torch_file_problem(path: str) -> str | None:
    """Why the ``torch.save`` file at ``path`` is damaged, or None when it looks whole.

    Files in the zip layout (every ``torch.save`` since torch 1.6) must have their zip directory;
    files in the older pickle layout are not inspected.
    """
    size = os.path.getsize(path)
    if size == 0:
        return "it is empty"
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic != _ZIP_MAGIC:
        return None
    if not zipfile.is_zipfile(path):
        return "its zip directory is missing (the file is truncated)"
    try:
        with zipfile.ZipFile(path) as archive:
            archive.namelist()
    except (zipfile.BadZipFile, OSError) as err:
        return f"its zip directory cannot be read ({err})"
    return None


def _file_problem(folder: str, name: str) -> str | None:
    path = os.path.join(folder, name)
    if name.endswith(".safetensors"):
        why = safetensors_problem(path)
    elif name.endswith(".json"):
        why = _json_problem(path)
    else:
        why = torch_file_problem(path)
    return None if why is None else f"{name} is damaged or truncated: {why}"


def _json_problem(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (ValueError, UnicodeDecodeError) as err:
        return f"it is not valid JSON ({err})"
    if not isinstance(data, dict):
        return "it does not hold a JSON object"
    return None


def _weights_problems(folder: str) -> list[str]:
    present = weight_files(folder)
    if not present and _engine_state(set(os.listdir(folder))):
        return []  # DeepSpeed / FSDP keep the weights in their own files, loaded by the engine
    if not present:
        listed = ", ".join(MODEL_WEIGHT_FILES)
        return [f"it holds no model weights (none of {listed})"]
    problems = []
    for name in present:
        why = _file_problem(folder, name)
        if why is not None:
            problems.append(why)
            continue
        if name.endswith(".index.json"):
            problems += _shard_problems(folder, name)
    return problems


def _shard_problems(folder: str, index_name: str) -> list[str]:
    with open(os.path.join(folder, index_name), encoding="utf-8") as handle:
        weight_map = json.load(handle).get("weight_map", {})
    problems = []
    for shard in sorted(set(weight_map.values())):
        if not os.path.isfile(os.path.join(folder, shard)):
            problems.append(f"{shard} (listed in {index_name}) is missing")
            continue
        why = _file_problem(folder, shard)
        if why is not None:
            problems.append(why)
    return problems


def checkpoint_problems(folder: str) -> list[str]:
    """Everything that makes ``folder`` unusable for resuming; an empty list when it is usable."""
    problems = []
    state = os.path.join(folder, TRAINER_STATE_NAME)
    if not os.path.isfile(state):
        problems.append(
            f"{TRAINER_STATE_NAME} is missing, so the step, epoch and logs to resume from are "
            "unknown"
        )
    else:
        why = _json_problem(state)
        if why is not None:
            problems.append(f"{TRAINER_STATE_NAME} is damaged: {why}")
    problems += _weights_problems(folder)
    for name in sorted(os.listdir(folder)):
        is_state_file = name in (OPTIMIZER_NAME, SCHEDULER_NAME, "scaler.pt") or (
            name.startswith("rng_state") and name.endswith(".pth")
        )
        if is_state_file and os.path.isfile(os.path.join(folder, name)):
            why = _file_problem(folder, name)
            if why is not None:
                problems.append(why)
    return problems


def _engine_state(names: set[str]) -> bool:
    """Whether a DeepSpeed (``global_step*``) or FSDP (``*_fsdp*``, ``optimizer_*``) state is there."""
    return any(n.startswith(("global_step", "optimizer_", "pytorch_model_fsdp")) for n in names)


def inexact_resume_files(folder: str) -> list[str]:
    """Optional files missing from ``folder``: without them the resume does not continue exactly."""
    names = set(os.listdir(folder))
    engine_state = _engine_state(names)
    missing = []
    if OPTIMIZER_NAME not in names and not engine_state:
        missing.append(OPTIMIZER_NAME)
    if SCHEDULER_NAME not in names and not engine_state:
        missing.append(SCHEDULER_NAME)
    if not any(n.startswith("rng_state") and n.endswith(".pth") for n in names):
        missing.append("rng_state.pth")
    return missing


def ensure_output_dir(output_dir: str) -> None:
    """Create ``output_dir`` if needed and make sure files can be written into it.

    Raises ``ValueError`` naming the folder when it is a file, sits under a file, or refuses
    writes, so the problem shows before training starts rather than at the first checkpoint.
    """
    if os.path.isfile(output_dir):
        raise ValueError(
            f"output_dir={output_dir!r} is a file; checkpoints and the model are saved into a "
            "folder. Pass the path of a folder (it is created if missing)."
        )
    try:
        os.makedirs(output_dir, exist_ok=True)
        probe = os.path.join(output_dir, f".write_test_{os.getpid()}")
        with open(probe, "wb"):
            pass
        os.remove(probe)
    except OSError as err:
        raise ValueError(
            f"output_dir={output_dir!r} is not writable ({err.strerror or err}); pass a folder "
            "this process can create and write files in."
        ) from None
