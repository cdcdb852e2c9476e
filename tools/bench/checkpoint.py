"""Section 3: checkpoint save and resume against raw safetensors + torch.save."""

from __future__ import annotations

import gc
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tools.bench.contenders import _quiet, build_trainer, raw_train
from tools.bench.timing import CONTENDERS
from tools.bench.workloads import Sizes, case, gpt_data, make_gpt

# ---------------------------------------------------------------------------------- 3. checkpoint


def raw_save(model, optimizer, scheduler, folder: str) -> None:
    """``safetensors.torch.save_file`` of the weights + ``torch.save`` of optimizer/scheduler/rng."""
    from safetensors.torch import save_file

    os.makedirs(folder, exist_ok=True)
    seen: set[int] = set()
    tensors = {}
    for k, v in model.state_dict().items():  # drop tied duplicates (safetensors refuses them)
        if v.data_ptr() in seen:
            continue
        seen.add(v.data_ptr())
        tensors[k] = v.contiguous()
    save_file(tensors, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
    torch.save(optimizer.state_dict(), os.path.join(folder, "optimizer.pt"))
    torch.save(scheduler.state_dict(), os.path.join(folder, "scheduler.pt"))
    import random

    import numpy as np

    torch.save(
        {
            "python": random.getstate(),
            "numpy": np.random.get_state(),
            "cpu": torch.random.get_rng_state(),
        },
        os.path.join(folder, "rng_state.pth"),
    )


def raw_load(model, optimizer, scheduler, folder: str) -> None:
    from safetensors.torch import load_file

    model.load_state_dict(load_file(os.path.join(folder, "model.safetensors")), strict=False)
    optimizer.load_state_dict(torch.load(os.path.join(folder, "optimizer.pt"), weights_only=True))
    scheduler.load_state_dict(torch.load(os.path.join(folder, "scheduler.pt"), weights_only=True))
    rng = torch.load(os.path.join(folder, "rng_state.pth"), weights_only=False)
    torch.random.set_rng_state(rng["cpu"])


def _ckpt_case(label: str, make_model: Callable[[], nn.Module], data, batch, rounds: int, device):
    tmp = tempfile.mkdtemp(prefix=f"bench-ckpt-{label}-")
    try:
        model = make_model()
        raw_model = raw_train(make_model(), data, batch, 1, device)
        with _quiet():
            trainers = {}
            for who in ("ours", "transformers"):
                t, _ = build_trainer(
                    who, model if who == "ours" else make_model(), data, batch, 1, device,
                    os.path.join(tmp, who),
                )  # fmt: skip
                t.train()
                trainers[who] = t
        samples: dict[str, list[float]] = {
            k: []
            for k in (
                "raw_save",
                "ours_save",
                "transformers_save",
                "raw_resume",
                "ours_resume",
                "transformers_resume",
                "ours_background_stall",
                "ours_background_write",
            )
        }
        raw_dir = os.path.join(tmp, "raw", "checkpoint-1")
        # The first background save allocates the host buffers that later saves reuse: timed
        # on its own, outside the medians.
        first_stall, _ = _background_save(trainers["ours"])
        for _ in range(rounds):
            for who in CONTENDERS:
                # Every contender writes a fresh folder, starting from a clean page cache.
                for d in (
                    raw_dir,
                    *(os.path.join(t.args.output_dir, "checkpoint-1") for t in trainers.values()),
                ):
                    shutil.rmtree(d, ignore_errors=True)
                gc.collect()
                os.sync()
                with _quiet():
                    t0 = time.perf_counter()
                    if who == "raw":
                        raw_save(
                            raw_model, raw_model._bench_optimizer, raw_model._bench_scheduler,
                            raw_dir,
                        )  # fmt: skip
                    else:
                        t = trainers[who]
                        t._save_checkpoint(t.model, None)
                    samples[f"{who}_save"].append(time.perf_counter() - t0)
                    if who == "raw":  # bytes the raw path writes
                        size = sum(f.stat().st_size for f in Path(raw_dir).iterdir())
                    t0 = time.perf_counter()
                    if who == "raw":
                        raw_load(
                            raw_model, raw_model._bench_optimizer, raw_model._bench_scheduler,
                            raw_dir,
                        )  # fmt: skip
                    else:
                        t = trainers[who]
                        folder = os.path.join(t.args.output_dir, "checkpoint-1")
                        load = (
                            getattr(t, "_load_model_from_checkpoint", None)
                            or t._load_from_checkpoint
                        )  # ours / transformers
                        load(folder)
                        t._load_optimizer_and_scheduler(folder)
                        t._load_rng_state(folder)
                    samples[f"{who}_resume"].append(time.perf_counter() - t0)
                if who == "ours":
                    stall, write = _background_save(trainers["ours"])
                    samples["ours_background_stall"].append(stall)
                    samples["ours_background_write"].append(write)
        med = {k: statistics.median(v) for k, v in samples.items()}
        return {
            "parameters": sum(p.numel() for p in model.parameters()),
            "raw_bytes": size,
            "seconds": med,
            "samples_seconds": samples,
            "ratio_ours_raw_save": med["ours_save"] / med["raw_save"],
            "ratio_transformers_raw_save": med["transformers_save"] / med["raw_save"],
            "ratio_ours_raw_resume": med["ours_resume"] / med["raw_resume"],
            "ratio_transformers_raw_resume": med["transformers_resume"] / med["raw_resume"],
            # the training thread's stall with BackgroundCheckpointing over a blocking save
            "ratio_background_blocking_stall": med["ours_background_stall"] / med["ours_save"],
            "background_first_stall_seconds": first_stall,
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _background_save(trainer) -> tuple[float, float]:
    """(stall, whole write) of one ``_save_checkpoint`` with ``BackgroundCheckpointing``.

    The stall is what the training thread waits for (the copy to host memory); the write is the
    time until the folder is renamed into place, measured by waiting for the writer.
    """
    from trainer_loop import BackgroundCheckpointing
    from trainer_loop.async_checkpoint import wait_for_writer

    shutil.rmtree(os.path.join(trainer.args.output_dir, "checkpoint-1"), ignore_errors=True)
    marker = BackgroundCheckpointing()
    trainer.add_callback(marker)
    gc.collect()
    os.sync()
    try:
        with _quiet():
            t0 = time.perf_counter()
            trainer._save_checkpoint(trainer.model, None)
            stall = time.perf_counter() - t0
            wait_for_writer(trainer)
            write = time.perf_counter() - t0
    finally:
        trainer.remove_callback(marker)
    return stall, write


def bench_checkpoint(s: Sizes, device: str, rounds: int) -> dict[str, Any]:
    results = {}
    # A plain torch module (our own safetensors writer) next to a transformers model (written by
    # its save_pretrained, as transformers.Trainer does) separates our overhead from theirs.
    c = case(s, "mlp")
    results["mlp"] = _ckpt_case("mlp", c["model"], c["data"], c["batch"], rounds, device)
    c = case(s, "gpt")
    results["gpt_small"] = _ckpt_case("small", c["model"], c["data"], c["batch"], rounds, device)
    if s.big_ckpt:
        # ~100M parameters: GPT-2 width 768, 10 layers, 32k vocabulary (tied head), 1 token batch
        def big():
            return make_gpt(10, 768, 12, 64, 32000)

        data = gpt_data(32000, 16, 2)
        results["gpt_100m"] = _ckpt_case("100m", big, data, 1, rounds, device)
    return results
