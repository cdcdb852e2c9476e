"""Throughput in the final train metrics: ``train_mfu``.

(``train_tokens_per_second`` is logged at each logging step when
``include_num_input_tokens_seen`` is on, as transformers logs it; like transformers, the final
metrics do not repeat it.)

``train_mfu`` (model FLOPs utilisation) is ``FLOPs counted in this run / train_runtime / peak``,
where the FLOPs are the ones ``state.total_flos`` sums (``Trainer.floating_point_ops``: 6 x
non-embedding parameters per token for forward and backward, when the model can estimate it; no
attention term) and ``peak`` is the dense bf16/fp16 tensor rate of every process's device
together. The peak comes from ``TRAINER_PEAK_FLOPS`` (FLOP/s of one device, e.g. ``989.4e12``)
when set, else from :data:`PEAK_FLOPS` by the CUDA device's name. Where neither gives a peak
(on the CPU, an unlisted GPU), or the model counts no FLOPs, ``train_mfu`` is left out and an
INFO message says so once per process.
"""

from __future__ import annotations

import logging
import os
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["PEAK_FLOPS", "PEAK_FLOPS_ENV", "add_throughput_metrics", "device_peak_flops"]

PEAK_FLOPS_ENV = "TRAINER_PEAK_FLOPS"

# Dense (no sparsity) bf16/fp16 tensor-core FLOP/s of one device, from the vendors' datasheets.
# Matched in this order against ``torch.cuda.get_device_name()``, case-insensitively: more
# specific names come before the names they contain ("A100" before "A10", "L40S" before "L4").
PEAK_FLOPS: tuple[tuple[str, float], ...] = (
    ("GH200", 989.4e12),
    ("H200 NVL", 835.5e12),
    ("H200", 989.4e12),
    ("H100 NVL", 835.5e12),
    ("H100 PCIe", 756.5e12),
    ("H100", 989.4e12),  # SXM: "NVIDIA H100 80GB HBM3"
    ("H800", 989.4e12),
    ("B200", 2250e12),
    ("A100", 312e12),
    ("A800", 312e12),
    ("L40S", 362.05e12),
    ("L40", 181.05e12),
    ("L4", 121e12),
    ("A10G", 70e12),
    ("A10", 125e12),
    ("A6000", 154.8e12),
    ("RTX 4090", 165.2e12),
    ("RTX 3090", 71e12),
    ("V100", 125e12),
    ("T4", 65e12),
)

_said_no_mfu = False


def _peak_from_env() -> float | None:
    raw = os.environ.get(PEAK_FLOPS_ENV, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        logger.warning("%s=%r is not a number of FLOP/s; ignored.", PEAK_FLOPS_ENV, raw)
        return None
    if value <= 0:
        logger.warning("%s=%r is not positive; ignored.", PEAK_FLOPS_ENV, raw)
        return None
    return value


def peak_for_name(name: str) -> float | None:
    """The dense bf16 peak FLOP/s of a device called ``name`` in :data:`PEAK_FLOPS`, or ``None``."""
    lowered = name.lower()
    for key, value in PEAK_FLOPS:
        if key.lower() in lowered:
            return value
    return None


def device_peak_flops(device: Any = None) -> float | None:
    """Peak FLOP/s of one ``device`` (a ``torch.device`` or string; default the current CUDA one).

    ``TRAINER_PEAK_FLOPS`` wins when set; otherwise a CUDA device is looked up by name in
    :data:`PEAK_FLOPS`. Any other device, or an unlisted GPU, gives ``None``.
    """
    from_env = _peak_from_env()
    if from_env is not None:
        return from_env
    import torch

    if device is None:
        device = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    device = torch.device(device)
    if device.type != "cuda" or not torch.cuda.is_available():
        return None
    return peak_for_name(torch.cuda.get_device_name(device))


def _say_once(message: str, *args: Any) -> None:
    global _said_no_mfu
    if not _said_no_mfu:
        _said_no_mfu = True
        logger.info(message, *args)


def add_throughput_metrics(
    metrics: dict[str, Any],
    *,
    flos: float,
    device: Any,
    processes: int = 1,
) -> None:
    """Add ``train_mfu`` to the final train ``metrics`` in place.

    Reads ``metrics["train_runtime"]``; ``flos`` is this run's count, ``processes`` how many
    devices shared the work.
    """
    runtime = metrics.get("train_runtime") or 0.0
    if runtime <= 0:
        return
    if flos <= 0:
        _say_once(
            "train_mfu is left out: the model counts no FLOPs (it has no num_parameters() and "
            "the trainer no floating_point_ops override)."
        )
        return
    peak = device_peak_flops(device)
    if peak is None:
        _say_once(
            "train_mfu is left out: the peak FLOP/s of device %s is not known; set %s to the "
            "peak of one device (e.g. 989.4e12) to report it.",
            device,
            PEAK_FLOPS_ENV,
        )
        return
    metrics["train_mfu"] = round(flos / runtime / (peak * max(1, int(processes or 1))), 4)
