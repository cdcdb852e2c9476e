"""Local file work done before an upload: copying model files, snapshots, secret scanning."""

from __future__ import annotations

import glob
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from huggingface_hub.utils import filter_repo_objects

logger = logging.getLogger(__name__)

TRAINING_ARGS_NAME = "training_args.bin"

# What a push of ``output_dir`` leaves out: private entries ("_*": also our own snapshot
# folders), checkpoint folders (pushed separately, per ``hub_strategy``), and files still being
# written by the trainer (a checkpoint's staging folder, a ``*.tmp`` awaiting its rename).
IGNORE_PATTERNS = ("_*", "checkpoint-*", ".staging-*", "*.tmp")

# Files that make up the saved model, copied from a checkpoint to ``output_dir`` before pushing.
MODEL_FILES = (
    "config.json",
    "generation_config.json",
    "pytorch_model.bin",
    "model.safetensors",
    "adapter_config.json",
    "adapter_model.bin",
    "adapter_model.safetensors",
)
INDEX_FILES = ("pytorch_model.bin.index.json", "model.safetensors.index.json")

# Files larger than this are model weights or data, never a place a token is written to.
_SCAN_LIMIT = 4 * 1024 * 1024


def model_files_in(folder: str) -> list[str]:
    """Names of the model files present in ``folder``, shards of a sharded checkpoint included."""
    names = [name for name in MODEL_FILES if os.path.isfile(os.path.join(folder, name))]
    for index_name in INDEX_FILES:
        index_path = os.path.join(folder, index_name)
        if not os.path.isfile(index_path):
            continue
        names.append(index_name)
        with open(index_path, encoding="utf-8") as f:
            weight_map = json.load(f).get("weight_map", {})
        names.extend(sorted(set(weight_map.values())))
    return names


def replace_file(src: str, dst: str) -> None:
    """Copy ``src`` over ``dst`` through a temporary name, so a reader never sees half a file."""
    folder, name = os.path.split(dst)
    fd, tmp = tempfile.mkstemp(prefix=f"_{name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def copy_model_files(checkpoint_folder: str, output_dir: str) -> list[str]:
    """Copy the model files and ``training_args.bin`` of a checkpoint to ``output_dir``."""
    names = model_files_in(checkpoint_folder)
    if os.path.isfile(os.path.join(checkpoint_folder, TRAINING_ARGS_NAME)):
        names.append(TRAINING_ARGS_NAME)
    os.makedirs(output_dir, exist_ok=True)
    for name in names:
        replace_file(os.path.join(checkpoint_folder, name), os.path.join(output_dir, name))
    return names


def snapshot(folder: str) -> str:
    """A private copy of ``folder`` next to it, made of hard links where the file system allows.

    A background upload reads the snapshot, so the trainer may delete or replace the original
    checkpoint (``save_total_limit``) while the upload is still running. The snapshot's name
    starts with ``_`` so pushes of the parent folder skip it; delete it once the upload is done.
    """
    parent, name = os.path.split(os.path.abspath(folder))
    target = tempfile.mkdtemp(prefix=f"_hub-{name}-", dir=parent)
    for root, _dirs, files in os.walk(folder):
        rel = os.path.relpath(root, folder)
        out = target if rel == "." else os.path.join(target, rel)
        os.makedirs(out, exist_ok=True)
        for file in files:
            src, dst = os.path.join(root, file), os.path.join(out, file)
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)
    return target


def snapshot_top_level(folder: str) -> str:
    """A private copy (hard links where possible) of the files directly in ``folder``.

    For a background push of ``output_dir``: the next save replaces the model files there while
    an upload may still be reading them. The copy lives inside ``folder`` under a ``_`` name, so
    other pushes of the folder skip it; delete it once the upload is done.
    """
    target = tempfile.mkdtemp(prefix="_hub-model-", dir=folder)
    for entry in os.scandir(folder):
        if not entry.is_file() or entry.name.startswith(("_", ".")):
            continue
        dst = os.path.join(target, entry.name)
        try:
            os.link(entry.path, dst)
        except OSError:
            shutil.copy2(entry.path, dst)
    return target


def files_to_upload(folder: str, ignore_patterns: list[str]) -> list[str]:
    """Relative POSIX paths of the files under ``folder`` that an upload with these patterns sends."""
    root = Path(folder)
    paths = [p.relative_to(root).as_posix() for p in root.glob("**/*") if p.is_file()]
    return list(filter_repo_objects(paths, ignore_patterns=ignore_patterns))


def files_holding(folder: str, secrets: list[str], ignore_patterns: list[str]) -> list[str]:
    """The small files an upload of ``folder`` would send that contain one of ``secrets``.

    ``training_args.bin`` is a pickle of the whole ``TrainingArguments``; when a token was
    passed as ``hub_token`` it is in there, and must not be published with the model.
    """
    if not secrets:
        return []
    needles = [s.encode() for s in secrets]
    leaking = []
    for rel in files_to_upload(folder, ignore_patterns):
        path = os.path.join(folder, rel)
        try:
            if os.path.getsize(path) > _SCAN_LIMIT:
                continue
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            continue
        if any(needle in data for needle in needles):
            leaking.append(rel)
    return leaking


def safe_ignore_patterns(folder: str, secrets: list[str], base: list[str]) -> list[str]:
    """``base`` plus one exact pattern per file that holds a secret (each named in a warning)."""
    patterns = list(base)
    for rel in files_holding(folder, secrets, patterns):
        logger.warning(
            "Not uploading %s: it contains the Hub token given as hub_token. Log in with "
            "`hf auth login` or set HF_TOKEN instead so the token stays out of saved files.",
            rel,
        )
        patterns.append(glob.escape(rel))
    return patterns
