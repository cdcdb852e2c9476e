"""Sections 1 and 2: training throughput and evaluate()/predict() time."""

from __future__ import annotations

import gc
import os
import shutil
import statistics
import tempfile
import time
from typing import Any

import torch

from tools.bench.contenders import (
    _quiet,
    build_trainer,
    raw_eval,
    raw_train,
    run_trainer,
    steps_per_s,
)
from tools.bench.interleaved import bench_interleaved
from tools.bench.interleaved_eval import bench_interleaved_eval
from tools.bench.workloads import Sizes, case, gpt_data, make_mlp, mlp_data, small_gpt

# ---------------------------------------------------------------------------------- 1. train


CONTENDERS = ("raw", "ours", "transformers")
# An evaluation pass (and the MLP training run) is short: each round of the benchmark times
# this many of them.
EVAL_ROUNDS_PER_ROUND = 3


def rotated(names: tuple[str, ...], round_index: int) -> tuple[str, ...]:
    """``names`` starting at a different one each round, so that no contender always runs right
    after the same other one (whose garbage and cache contents it would inherit)."""
    k = round_index % len(names)
    return names[k:] + names[:k]


def bench_train(s: Sizes, device: str, rounds: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in ("mlp", "gpt"):
        c = case(s, name)
        steps = s.mlp_steps if name == "mlp" else s.gpt_steps
        warmup = s.mlp_warmup if name == "mlp" else s.gpt_warmup
        samples: dict[str, list[float]] = {k: [] for k in CONTENDERS}
        cpu: dict[str, list[float]] = {k: [] for k in CONTENDERS}
        whole: dict[str, list[float]] = {k: [] for k in CONTENDERS}
        whole_cpu: dict[str, list[float]] = {k: [] for k in CONTENDERS}
        # The MLP run takes about a second, and its ratio is the one nearest its target: it gets
        # as many rounds as the evaluation passes, for a steadier median.
        case_rounds = rounds * EVAL_ROUNDS_PER_ROUND if name == "mlp" else rounds
        for round_index in range(case_rounds):
            for who in rotated(CONTENDERS, round_index):
                model = c["model"]()
                gc.collect()
                c0, t0 = time.process_time(), time.perf_counter()  # the whole run, set-up included
                if who == "raw":
                    stamps: list[float] = []
                    raw_train(model, c["data"], c["batch"], steps, device, stamps)
                else:
                    stamps = run_trainer(who, model, c["data"], c["batch"], steps, device)
                whole[who].append(time.perf_counter() - t0)
                whole_cpu[who].append(time.process_time() - c0)
                samples[who].append(steps_per_s(stamps, warmup))
                cpu[who].append(steps_per_s(stamps, warmup, clock=1))
        med = {k: statistics.median(v) for k, v in samples.items()}
        mcpu = {k: statistics.median(v) for k, v in cpu.items()}
        results[name] = {
            "steps": steps,
            "warmup_steps": warmup,
            "batch_size": c["batch"],
            "steps_per_s": med,
            "samples_steps_per_s": samples,
            # time-per-step ratio = raw steps/s over contender steps/s
            "ratio_ours_raw": med["raw"] / med["ours"],
            "ratio_transformers_raw": med["raw"] / med["transformers"],
            "ratio_ours_transformers": med["transformers"] / med["ours"],
            # the same from process CPU time: immune to other tenants of a shared machine
            "cpu_steps_per_s": mcpu,
            "samples_cpu_steps_per_s": cpu,
            "cpu_ratio_ours_raw": mcpu["raw"] / mcpu["ours"],
            "cpu_ratio_transformers_raw": mcpu["raw"] / mcpu["transformers"],
            # the whole run: Trainer construction + train() against the whole raw loop
            "whole_seconds": {k: statistics.median(v) for k, v in whole.items()},
            "whole_cpu_seconds": {k: statistics.median(v) for k, v in whole_cpu.items()},
            "samples_whole_seconds": whole,
        }
        w, wc = results[name]["whole_seconds"], results[name]["whole_cpu_seconds"]
        results[name]["ratio_ours_raw_whole"] = w["ours"] / w["raw"]
        results[name]["ratio_transformers_raw_whole"] = w["transformers"] / w["raw"]
        results[name]["cpu_ratio_ours_raw_whole"] = wc["ours"] / wc["raw"]
        results[name]["cpu_ratio_transformers_raw_whole"] = wc["transformers"] / wc["raw"]
        if name == "mlp":  # the steady step once more, with the raw loop interleaved in blocks
            results[name]["interleaved"] = bench_interleaved(s, device, rounds)
    return results


# ---------------------------------------------------------------------------------- 2. eval


def bench_eval(s: Sizes, device: str, rounds: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in ("mlp", "gpt"):
        if name == "mlp":
            model = make_mlp(s)
            data, batch = mlp_data(s, s.eval_mlp_samples), s.eval_mlp_batch
        else:
            model = small_gpt(s)
            data, batch = gpt_data(s.gpt_vocab, s.gpt_seq, s.eval_gpt_samples), s.eval_gpt_batch
        model.to(device)
        tmp = tempfile.mkdtemp(prefix="bench-eval-")
        with _quiet():
            trainers = {
                who: build_trainer(who, model, data, batch, 1, device, os.path.join(tmp, who))[0]
                for who in ("ours", "transformers")
            }
        samples: dict[str, list[float]] = {
            k: []
            for k in (
                "raw_evaluate",
                "ours_evaluate",
                "transformers_evaluate",
                "raw_predict",
                "ours_predict",
                "transformers_predict",
            )
        }
        cpu: dict[str, list[float]] = {k: [] for k in samples}
        # one untimed pass each to warm allocator and caches
        with _quiet():
            raw_eval(model, data, batch, device, True)
            for t in trainers.values():
                t.evaluate()
                t.predict(data)
        for round_index in range(rounds * EVAL_ROUNDS_PER_ROUND):
            for who in rotated(CONTENDERS, round_index):
                for mode in ("evaluate", "predict"):
                    gc.collect()
                    with _quiet():
                        c0 = time.process_time()
                        t0 = time.perf_counter()
                        if who == "raw":
                            raw_eval(model, data, batch, device, collect=mode == "predict")
                        elif mode == "evaluate":
                            trainers[who].evaluate()
                        else:
                            trainers[who].predict(data)
                        if device != "cpu":
                            torch.cuda.synchronize()
                        samples[f"{who}_{mode}"].append(time.perf_counter() - t0)
                        cpu[f"{who}_{mode}"].append(time.process_time() - c0)
        shutil.rmtree(tmp, ignore_errors=True)
        med = {k: statistics.median(v) for k, v in samples.items()}
        mcpu = {k: statistics.median(v) for k, v in cpu.items()}
        results[name] = {
            "cpu_seconds": mcpu,
            "cpu_ratio_ours_raw_evaluate": mcpu["ours_evaluate"] / mcpu["raw_evaluate"],
            "cpu_ratio_ours_raw_predict": mcpu["ours_predict"] / mcpu["raw_predict"],
            "samples": len(data),
            "batch_size": batch,
            "seconds": med,
            "samples_seconds": samples,
            "ratio_ours_raw_evaluate": med["ours_evaluate"] / med["raw_evaluate"],
            "ratio_transformers_raw_evaluate": med["transformers_evaluate"] / med["raw_evaluate"],
            "ratio_ours_raw_predict": med["ours_predict"] / med["raw_predict"],
            "ratio_transformers_raw_predict": med["transformers_predict"] / med["raw_predict"],
        }
        if name == "mlp":  # both passes once more, with the raw loop interleaved in blocks
            passes = rounds * EVAL_ROUNDS_PER_ROUND
            results[name]["interleaved"] = bench_interleaved_eval(s, device, passes)
    return results
