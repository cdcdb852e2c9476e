"""``trainer env``: the versions that matter in a bug report, one per line."""

from __future__ import annotations

import importlib.metadata
import platform
import sys

PACKAGES = (
    "trainer",
    "trainer-args",
    "trainer-data",
    "trainer-optim",
    "trainer-dist",
    "trainer-hub",
    "trainer-loop",
    "trainer-seq2seq",
    "torch",
    "accelerate",
    "deepspeed",
    "datasets",
    "transformers",
    "safetensors",
    "numpy",
)


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def report() -> dict[str, str]:
    """Platform, Python, every package above and what torch sees (CUDA, devices, MPS)."""
    info = {"platform": platform.platform(), "python": sys.version.split()[0]}
    info.update({name: _version(name) for name in PACKAGES})
    if info["torch"] != "not installed":
        import torch

        info["torch CUDA build"] = str(torch.version.cuda)
        info["CUDA available"] = str(torch.cuda.is_available())
        if torch.cuda.is_available():
            names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
            info["GPUs"] = ", ".join(names)
        mps = getattr(torch.backends, "mps", None)
        info["MPS available"] = str(bool(mps and mps.is_available()))
    return info


def format_report(info: dict[str, str]) -> str:
    """``- name: value`` lines, ready to paste into an issue."""
    return "\n".join(f"- {key}: {value}" for key, value in info.items())
