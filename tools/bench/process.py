"""Sections 4-6: import cost and peak memory (in fresh interpreters) and CUDA bf16 throughput."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

from tools.bench.contenders import _quiet, build_trainer, raw_train, run_trainer, steps_per_s
from tools.bench.timing import CONTENDERS
from tools.bench.workloads import FULL, QUICK, Sizes, case, gpt_data, make_gpt

# ---------------------------------------------------------------------------------- 4. import


REPO_ROOT = Path(__file__).resolve().parents[2]

IMPORTS = {
    "trainer_args": "import trainer_args",
    "trainer": "import trainer",
    "trainer_Trainer": "from trainer import Trainer",
    "torch": "import torch",
    "transformers_trainer": "from transformers import Trainer",
}


def _child_python() -> list[str]:
    return [sys.executable, "-X", "utf8"]


def bench_import(s: Sizes) -> dict[str, Any]:
    code = (
        "import time, sys; t = time.perf_counter(); {stmt}; "
        "print(time.perf_counter() - t, 'torch' in sys.modules)"
    )
    # --quick leaves out transformers (10-20 s on a loaded 2-core machine) to stay a smoke test.
    names = [k for k in IMPORTS if not (s.import_runs == 1 and k == "transformers_trainer")]
    samples: dict[str, list[float]] = {k: [] for k in names}
    loads_torch: dict[str, bool] = {}
    for _ in range(s.import_runs):
        for name in names:
            stmt = IMPORTS[name]
            out = subprocess.run(
                [*_child_python(), "-c", code.format(stmt=stmt)],
                capture_output=True,
                text=True,
                check=True,
                cwd=REPO_ROOT,
            ).stdout.split()
            samples[name].append(float(out[0]))
            loads_torch[name] = out[1] == "True"
    med = {k: statistics.median(v) for k, v in samples.items()}
    return {
        "runs": s.import_runs,
        "seconds": med,
        "samples_seconds": samples,
        "loads_torch": loads_torch,
        "trainer_minus_torch_s": med["trainer"] - med["torch"],
        "trainer_Trainer_minus_torch_s": med["trainer_Trainer"] - med["torch"],
    }


# ---------------------------------------------------------------------------------- 5. memory


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _vm_hwm_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def memory_child(who: str, quick: bool, device: str) -> None:
    """Entry of the memory subprocess: train, print peak ``ru_maxrss`` and the RSS before training.

    The baseline is taken after torch (and transformers, for the GPT model) are imported and the
    model and data are built, before the trainer library is imported: its import is part of its
    cost.
    """
    import resource

    torch.set_num_threads(1)
    # The model constructors of transformers are imported by every contender (GPT model).
    s = QUICK if quick else FULL
    c = case(s, "mlp" if quick else "gpt")
    steps = s.memory_steps
    model = c["model"]()
    data = c["data"][: steps * c["batch"]]
    before = _rss_mib()
    if who == "raw":
        raw_train(model, data, c["batch"], steps, device)
    else:
        run_trainer(who, model, data, c["batch"], steps, device)
    # ru_maxrss survives execve on Linux (the child would report its parent's peak when the parent
    # is bigger); VmHWM is the peak of this address space only. Both are reported.
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"peak_mib": _vm_hwm_mib(), "ru_maxrss_mib": maxrss, "before_mib": before}))


def bench_memory(s: Sizes, device: str, quick: bool) -> dict[str, Any]:
    """One subprocess per contender, run side by side (memory, not time, is measured here)."""
    procs = {}
    for who in CONTENDERS:
        code = (
            "from tools.bench.process import memory_child; "
            f"memory_child({who!r}, {quick!r}, {device!r})"
        )
        procs[who] = subprocess.Popen(
            [*_child_python(), "-c", code],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO_ROOT,
        )
    peak, delta = {}, {}
    for who, proc in procs.items():
        stdout, stderr = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"memory child {who} failed:\n{stderr[-2000:]}")
        last = json.loads([ln for ln in stdout.splitlines() if ln.startswith("{")][-1])
        peak[who] = last["peak_mib"]
        delta[who] = last["peak_mib"] - last["before_mib"]
    return {
        "model": "mlp" if quick else "gpt",
        "steps": s.memory_steps,
        "peak_rss_mib": peak,
        "training_rss_growth_mib": delta,
        "ratio_ours_raw": peak["ours"] / peak["raw"],
        "ratio_transformers_raw": peak["transformers"] / peak["raw"],
        "ours_minus_raw_mib": peak["ours"] - peak["raw"],
    }


# ---------------------------------------------------------------------------------- 6. cuda


PEAK_BF16_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L4": 121e12}


def bench_cuda(s: Sizes, device: str, rounds: int, quick: bool) -> dict[str, Any]:
    if device != "cuda":
        return {"skipped": "run with --device cuda to measure bf16 throughput and MFU"}
    if not torch.cuda.is_available():
        return {"skipped": "--device cuda asked but torch.cuda.is_available() is False"}
    name = torch.cuda.get_device_name(0)
    peak = next((v for k, v in PEAK_BF16_FLOPS.items() if k in name), None)
    if quick:
        dims, seq, batch = (2, 128, 4, 128, 1024), 128, 4
    else:
        dims, seq, batch = (12, 768, 12, 1024, 32000), 1024, 8
    data = gpt_data(dims[4], seq, batch * (s.cuda_steps + 1))
    samples: dict[str, list[float]] = {k: [] for k in ("ours", "transformers")}
    n_params = None
    for _ in range(rounds):
        for who in samples:
            model = make_gpt(*dims)
            n_params = model.num_parameters(exclude_embeddings=True)
            with tempfile.TemporaryDirectory() as out, _quiet():
                trainer, stamps = build_trainer(
                    who, model, data, batch, s.cuda_steps, "cuda", out, bf16=True
                )
                trainer.train()
            samples[who].append(steps_per_s(stamps, s.cuda_warmup))
            del trainer, model
            torch.cuda.empty_cache()
    med = {k: statistics.median(v) for k, v in samples.items()}
    # 6 N T per token for forward+backward plus attention 12 L d T^2 (PaLM appendix B)
    layers, width = dims[0], dims[1]
    flops_per_step = batch * seq * (6 * n_params + 12 * layers * width * seq)
    res: dict[str, Any] = {
        "gpu": name,
        "non_embedding_parameters": n_params,
        "seq": seq,
        "batch_size": batch,
        "steps_per_s": med,
        "ratio_ours_transformers": med["transformers"] / med["ours"],
        "flops_per_step": flops_per_step,
    }
    if peak is not None:
        res["mfu"] = {k: v * flops_per_step / peak for k, v in med.items()}
    return res
