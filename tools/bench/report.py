"""Machine facts, budget verdicts and the Markdown table."""

from __future__ import annotations

import contextlib
import datetime
import os
import platform
from pathlib import Path
from typing import Any

import torch

from tools.bench.process import IMPORTS
from tools.bench.workloads import BUDGET, TARGETS

# ---------------------------------------------------------------------------------- report


def machine() -> dict[str, Any]:
    import transformers

    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }
    with contextlib.suppress(Exception):
        import accelerate

        info["accelerate"] = accelerate.__version__
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def verdicts(r: dict[str, Any]) -> list[tuple[str, float, str, bool]]:
    """(check, measured, budget text, pass) for every budgeted ratio."""
    rows = []
    # On the CPU the verdict uses process CPU time (time the core spends on other tenants does
    # not count, though their use of caches and memory still slows ours); on CUDA work is
    # asynchronous, so wall time after a synchronize.
    pre = "cpu_" if r["device"] == "cpu" else ""

    def check(label: str, x: float, key: tuple[str, str], budget: float, tight: bool) -> None:
        limit = TARGETS.get(key, budget) if tight else budget
        rows.append((label, x, f"<= {limit:.2f}", x <= limit))

    # A tight MLP target applies to the interleaved measure where there is one: on a busy host,
    # separate runs drift by more than the target's margin (docs/performance.md). The separate
    # runs are then held to the general budget.
    for name, v in r.get("train", {}).items():
        mixed = v.get("interleaved")
        separate_tight = mixed is None
        x = v[f"{pre}ratio_ours_raw"]
        check(f"train {name}: ours/raw", x, ("train", name), BUDGET["train"], separate_tight)
        if mixed is not None:
            x = mixed["ratio_ours_raw"]
            check(f"train {name}, interleaved: ours/raw", x, ("train", name), BUDGET["train"], True)
        if f"{pre}ratio_ours_raw_whole" in v:
            x = v[f"{pre}ratio_ours_raw_whole"]
            label = f"whole train() {name}: ours/raw"
            check(label, x, ("whole", name), BUDGET["train"], separate_tight)
        if mixed is not None:
            x = mixed["ratio_ours_raw_whole"]
            label = f"whole train() {name}, interleaved: ours/raw"
            check(label, x, ("whole", name), BUDGET["train"], True)
    for name, v in r.get("eval", {}).items():
        mixed = v.get("interleaved")
        for mode in ("evaluate", "predict"):
            x = v[f"{pre}ratio_ours_raw_{mode}"]
            check(f"{mode} {name}: ours/raw", x, (mode, name), BUDGET["eval"], mixed is None)
            if mixed is not None:
                x = mixed[f"ratio_ours_{mode}"]
                label = f"{mode} {name}, interleaved: ours/raw"
                check(label, x, (mode, name), BUDGET["eval"], True)
    for name, v in r.get("checkpoint", {}).items():
        x = v["ratio_ours_raw_save"]
        rows.append((f"checkpoint save {name}: ours/raw", x, "<= 1.20", x <= BUDGET["checkpoint"]))
        if "ratio_background_blocking_stall" in v and name == "gpt_100m":
            x = v["ratio_background_blocking_stall"]
            rows.append((f"checkpoint stall {name}: background/blocking", x, "<= 0.25", x <= 0.25))
    for rows_done, v in r.get("resume", {}).get("points", {}).items():
        x = v["ours"]["first_step_s"]
        rows.append(
            (f"streaming resume after {rows_done} rows: first step (s)", x, "<= 0.50", x <= 0.5)
        )
    if "import" not in r:
        return rows
    imp = r["import"]
    d = imp["trainer_minus_torch_s"]
    rows.append(
        (
            "import trainer - import torch (s)",
            d,
            "<= 0.50",
            d <= BUDGET["import_trainer_over_torch_s"],
        )
    )
    d = imp["trainer_Trainer_minus_torch_s"]
    rows.append(
        (
            "from trainer import Trainer - import torch (s)",
            d,
            "<= 0.50",
            d <= BUDGET["import_trainer_over_torch_s"],
        )
    )
    a = imp["seconds"]["trainer_args"]
    ok = a < BUDGET["import_trainer_args_s"] and not imp["loads_torch"]["trainer_args"]
    rows.append(("import trainer_args (s), no torch", a, "< 0.15", ok))
    return rows


def markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [
        f"Date {m['date']}; CPU {m['cpu']} ({m['cores']} cores, torch threads "
        f"{m['torch_threads']}); Python {m['python']}; torch {m['torch']}; transformers "
        f"{m['transformers']}; accelerate {m.get('accelerate', '?')}; device {r['device']}; "
        f"rounds {r['rounds']}{' (quick)' if r['quick'] else ''}.",
        "",
    ]
    if "train" in r:
        lines += [
            "| Training (steps/s, median, wall) | raw | ours | transformers | ours/raw | transformers/raw "
            "| ours/raw CPU time | transformers/raw CPU time |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, v in r["train"].items():
            sp = v["steps_per_s"]
            lines.append(
                f"| {name} (batch {v['batch_size']}, steps {v['warmup_steps']}..{v['steps']}) "
                f"| {sp['raw']:.1f} | {sp['ours']:.1f} | {sp['transformers']:.1f} "
                f"| {v['ratio_ours_raw']:.3f} | {v['ratio_transformers_raw']:.3f} "
                f"| {v['cpu_ratio_ours_raw']:.3f} | {v['cpu_ratio_transformers_raw']:.3f} |"
            )
        lines += [
            "",
            "| Whole run (s, median: Trainer construction + train() vs the whole raw loop) "
            "| raw | ours | transformers | ours/raw | transformers/raw | ours/raw CPU time "
            "| transformers/raw CPU time |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, v in r["train"].items():
            if "whole_seconds" not in v:
                continue
            w = v["whole_seconds"]
            lines.append(
                f"| {name} ({v['steps']} steps) | {w['raw']:.3f} | {w['ours']:.3f} "
                f"| {w['transformers']:.3f} | {v['ratio_ours_raw_whole']:.3f} "
                f"| {v['ratio_transformers_raw_whole']:.3f} | {v['cpu_ratio_ours_raw_whole']:.3f} "
                f"| {v['cpu_ratio_transformers_raw_whole']:.3f} |"
            )
        mixed = {name: v["interleaved"] for name, v in r["train"].items() if "interleaved" in v}
        if mixed:
            lines += [
                "",
                "| Interleaved (CPU µs per step; raw and trainer alternate in blocks of steps) "
                "| raw, with ours | ours | ours/raw | raw, with transformers | transformers "
                "| transformers/raw | whole run: ours/raw | whole run: transformers/raw |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            ]
        for name, v in mixed.items():
            us = v["step_us"]
            lines.append(
                f"| {name} ({v['rounds']} runs each, blocks of {v['block_steps']}) "
                f"| {us['raw_with_ours']:.1f} "
                f"| {us['ours']:.1f} | {v['ratio_ours_raw']:.3f} "
                f"| {us['raw_with_transformers']:.1f} | {us['transformers']:.1f} "
                f"| {v['ratio_transformers_raw']:.3f} | {v['ratio_ours_raw_whole']:.3f} "
                f"| {v['ratio_transformers_raw_whole']:.3f} |"
            )
    if "eval" in r:
        lines += [
            "",
            "| Evaluation (s, median, wall) | raw | ours | transformers | ours/raw | transformers/raw "
            "| ours/raw CPU time |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, v in r["eval"].items():
            sec = v["seconds"]
            for mode in ("evaluate", "predict"):
                lines.append(
                    f"| {name} {mode}() ({v['samples']} samples) | {sec[f'raw_{mode}']:.4f} "
                    f"| {sec[f'ours_{mode}']:.4f} | {sec[f'transformers_{mode}']:.4f} "
                    f"| {v[f'ratio_ours_raw_{mode}']:.3f} | {v[f'ratio_transformers_raw_{mode}']:.3f} "
                    f"| {v[f'cpu_ratio_ours_raw_{mode}']:.3f} |"
                )
        mixed = {name: v["interleaved"] for name, v in r["eval"].items() if "interleaved" in v}
        if mixed:
            lines += [
                "",
                "| Interleaved evaluation (CPU time ratio, median; raw and trainer batches "
                "alternate in blocks) | ours/raw | transformers/raw |",
                "|---|---:|---:|",
            ]
        for name, v in mixed.items():
            for mode in ("evaluate", "predict"):
                lines.append(
                    f"| {name} {mode}() ({v['passes']} passes each, blocks of "
                    f"{v['block_batches']} batches) | {v[f'ratio_ours_{mode}']:.3f} "
                    f"| {v[f'ratio_transformers_{mode}']:.3f} |"
                )
    if "checkpoint" in r:
        lines += [
            "",
            "| Checkpoint (s, median, wall, clean page cache) | raw | ours | transformers | ours/raw | transformers/raw |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, v in r["checkpoint"].items():
            sec = v["seconds"]
            for mode in ("save", "resume"):
                lines.append(
                    f"| {name} ({v['parameters'] / 1e6:.1f}M params) {mode} | {sec[f'raw_{mode}']:.4f} "
                    f"| {sec[f'ours_{mode}']:.4f} | {sec[f'transformers_{mode}']:.4f} "
                    f"| {v[f'ratio_ours_raw_{mode}']:.3f} | {v[f'ratio_transformers_raw_{mode}']:.3f} |"
                )
        lines += [
            "",
            "| Training stall per checkpoint (s, median, ours) | blocking save | background: stall "
            "| background: whole write | stall/blocking | first background save: stall |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, v in r["checkpoint"].items():
            sec = v["seconds"]
            if "ours_background_stall" not in sec:
                continue
            lines.append(
                f"| {name} ({v['parameters'] / 1e6:.1f}M params) | {sec['ours_save']:.4f} "
                f"| {sec['ours_background_stall']:.4f} | {sec['ours_background_write']:.4f} "
                f"| {v['ratio_background_blocking_stall']:.3f} "
                f"| {v['background_first_stall_seconds']:.4f} |"
            )
    if "resume" in r:
        lines += [
            "",
            "| Resume cost (streaming, 4 parquet shards, per-row map, batch 32) | ours: s to first "
            "step | transformers: s to first step | ours: rows read again | transformers: rows "
            "read again |",
            "|---|---:|---:|---:|---:|",
        ]
        for rows_done, v in r["resume"]["points"].items():
            ours, theirs = v["ours"], v["transformers"]
            lines.append(
                f"| {int(rows_done):,} rows consumed (step {v['step']}) "
                f"| {ours['first_step_s']:.3f} | {theirs['first_step_s']:.3f} "
                f"| {ours['rows_reread']:,} | {theirs['rows_reread']:,} |"
            )
    if "import" in r:
        imp = r["import"]
        lines += [
            "",
            f"| Import (s, median of {imp['runs']}, fresh interpreter) | seconds | loads torch |",
            "|---|---:|---|",
        ]
        for k, stmt in IMPORTS.items():
            if k not in imp["seconds"]:
                continue
            lines.append(f"| `{stmt}` | {imp['seconds'][k]:.3f} | {imp['loads_torch'][k]} |")
    if "memory" in r:
        mem = r["memory"]
        pr = mem["peak_rss_mib"]
        gr = mem["training_rss_growth_mib"]
        lines += [
            "",
            f"| Memory, {mem['model']} {mem['steps']} steps (MiB) | raw | ours | transformers "
            "| ours/raw | transformers/raw |",
            "|---|---:|---:|---:|---:|---:|",
            f"| peak RSS (VmHWM) | {pr['raw']:.0f} | {pr['ours']:.0f} | {pr['transformers']:.0f} "
            f"| {mem['ratio_ours_raw']:.3f} | {mem['ratio_transformers_raw']:.3f} |",
            f"| peak - RSS before training (library import + training) "
            f"| {gr['raw']:.0f} | {gr['ours']:.0f} | {gr['transformers']:.0f} | | |",
            "",
        ]
    if "cuda" in r:
        cu = r["cuda"]
        if "skipped" in cu:
            lines.append(f"CUDA bf16: skipped ({cu['skipped']}).")
        else:
            mfu = cu.get("mfu", {})
            lines.append(
                f"CUDA bf16 on {cu['gpu']}: ours {cu['steps_per_s']['ours']:.2f} steps/s "
                f"(MFU {mfu.get('ours', float('nan')):.1%}), transformers "
                f"{cu['steps_per_s']['transformers']:.2f} steps/s "
                f"(MFU {mfu.get('transformers', float('nan')):.1%}), "
                f"transformers/ours time ratio {cu['ratio_ours_transformers']:.3f}."
            )
    lines += [
        "",
        f"| Budget check ({'CPU-time' if r['device'] == 'cpu' else 'wall'} ratios for train/eval) "
        "| measured | budget | verdict |",
        "|---|---:|---:|---|",
    ]
    for check, x, budget, ok in verdicts(r):
        lines.append(f"| {check} | {x:.3f} | {budget} | {'PASS' if ok else 'MISS'} |")
    return "\n".join(lines) + "\n"
