"""Interleaved timing: blocks of trainer steps and blocks of raw steps, alternating in one process.

Separate runs of the two loops see different moments of a shared machine: on a busy host one
contender's steps per second drift by tens of percent from one run to the next (other tenants
take cache, memory bandwidth and the core's sibling thread, which CPU time does not exclude), more
than the difference to be measured. Here one process runs both loops, alternating every
``BLOCK`` steps (a few tens of milliseconds): a callback at the trainer's ``on_step_end`` runs
the next ``BLOCK`` steps of the raw loop (:func:`~tools.bench.contenders.raw_steps`, with its own
model, optimizer and data loader) after every ``BLOCK``-th step. Each trainer block is timed from
the end of the previous raw block to its last ``on_step_end``; each raw block around its own
steps. The whole runs are compared too: the trainer's construction and ``train()`` less the time
spent in raw blocks, against the raw loop's set-up and all its steps. A slow spell then hits both alike, and the ratio of the two is steady to about 0.01.
Blocks rather than single steps: alternating every step makes the two models evict each other
from the CPU caches, which slows both by half and no longer measures a training run.
"""

from __future__ import annotations

import gc
import statistics
import tempfile
import time
from typing import Any

import torch

from tools.bench.contenders import _quiet, build_trainer, raw_steps, trainer_api
from tools.bench.workloads import Sizes, case

BLOCK = 20


def block_clock(device: str):
    """The clock blocks are timed with: CPU time on the CPU, wall time after a sync on CUDA."""
    if device == "cpu":
        return time.process_time_ns  # the process's own CPU time

    def synced() -> int:
        torch.cuda.synchronize()
        return time.perf_counter_ns()

    return synced


def _block_steps(s: Sizes) -> int:
    return min(BLOCK, max(1, s.mlp_steps // 4))  # --quick runs have few steps


def interleaved_run(which: str, s: Sizes, device: str) -> dict[str, Any]:
    """One trainer run with the raw loop interleaved: the (trainer, raw) time in ns of each block
    after the warm-up, and of the whole runs (set-up included, model construction excluded)."""
    c = case(s, "mlp")
    steps, block = s.mlp_steps, _block_steps(s)
    clock = block_clock(device)
    raw_model, trainer_model = c["model"](), c["model"]()
    raw = raw_steps(raw_model, c["data"], c["batch"], steps, device)
    blocks: list[tuple[int, int]] = []
    raw_total = [0]
    block_start: list[int | None] = [None]

    def run_raw(count: int) -> int:
        start = clock()
        for _ in range(count):
            next(raw, None)
        spent = clock() - start
        raw_total[0] += spent
        return spent

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step % block:
            return
        trainer_end = clock()
        raw_ns = run_raw(block)
        if block_start[0] is not None and state.global_step > s.mlp_warmup:
            blocks.append((trainer_end - block_start[0], raw_ns))
        block_start[0] = clock()

    with tempfile.TemporaryDirectory() as out, _quiet():
        begin = clock()
        trainer, _ = build_trainer(which, trainer_model, c["data"], c["batch"], steps, device, out)
        base = trainer_api(which)[1]
        trainer.add_callback(type("Interleave", (base,), {"on_step_end": on_step_end})())
        trainer.train()
        trainer_total = clock() - begin - raw_total[0]
    run_raw(steps % block)  # the steps left when ``block`` does not divide ``steps``
    return {"blocks": blocks, "whole": (trainer_total, raw_total[0])}


def bench_interleaved(s: Sizes, device: str, rounds: int) -> dict[str, Any]:
    """Per-step ratio to the raw loop for ours and transformers: the median over blocks of each
    run, then the median over ``rounds`` runs of each."""
    ratios: dict[str, list[float]] = {"ours": [], "transformers": []}
    whole: dict[str, list[float]] = {"ours": [], "transformers": []}
    step_us: dict[str, list[float]] = {
        k: [] for k in ("ours", "raw_with_ours", "transformers", "raw_with_transformers")
    }
    block = _block_steps(s)
    for which in ratios:  # untimed: the first run of each pays for lazy imports and set-up
        interleaved_run(which, s, device)
    for round_index in range(rounds):
        order = ("ours", "transformers") if round_index % 2 == 0 else ("transformers", "ours")
        for which in order:
            gc.collect()
            run = interleaved_run(which, s, device)
            blocks, (trainer_whole, raw_whole) = run["blocks"], run["whole"]
            ratios[which].append(statistics.median(t / r for t, r in blocks))
            whole[which].append(trainer_whole / raw_whole)
            step_us[which].append(sum(t for t, _ in blocks) / len(blocks) / block / 1e3)
            step_us[f"raw_with_{which}"].append(
                sum(r for _, r in blocks) / len(blocks) / block / 1e3
            )
    return {
        "rounds": rounds,
        "block_steps": block,
        "samples_ratio": ratios,
        "ratio_ours_raw": statistics.median(ratios["ours"]),
        "ratio_transformers_raw": statistics.median(ratios["transformers"]),
        "samples_ratio_whole": whole,
        "ratio_ours_raw_whole": statistics.median(whole["ours"]),
        "ratio_transformers_raw_whole": statistics.median(whole["transformers"]),
        "step_us": {k: statistics.median(v) for k, v in step_us.items()},
    }
