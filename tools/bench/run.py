"""Side-by-side benchmark: raw PyTorch loop vs ``trainer_loop.Trainer`` vs ``transformers.Trainer``.

Run ``uv run --no-sync python -m tools.bench`` (or ``python tools/bench/run.py``); ``--help`` lists
the options. Every contender runs with ``torch.set_num_threads(1)`` so that a shared machine's
core count does not favour whoever runs first; contenders alternate (raw, ours, transformers, raw,
...) for ``--rounds`` rounds and medians are reported. Only training steps are timed: a callback
(or the raw loop itself) timestamps the end of every optimizer step and the throughput is taken
between the end of the warm-up steps and the last step, so set-up and teardown are excluded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if __package__ in (None, "") and str(REPO_ROOT) not in sys.path:  # python tools/bench/run.py
    sys.path.insert(0, str(REPO_ROOT))

import torch  # noqa: E402

from tools.bench.checkpoint import bench_checkpoint  # noqa: E402
from tools.bench.process import bench_cuda, bench_import, bench_memory  # noqa: E402
from tools.bench.report import machine, markdown, verdicts  # noqa: E402
from tools.bench.resume import bench_resume  # noqa: E402
from tools.bench.timing import bench_eval, bench_train  # noqa: E402
from tools.bench.workloads import BUDGET, FULL, QUICK  # noqa: E402

SECTIONS = ("train", "eval", "checkpoint", "resume", "import", "memory", "cuda")


def run_all(
    quick: bool = False,
    device: str = "cpu",
    rounds: int | None = None,
    out: str | os.PathLike | None = None,
    sections: tuple[str, ...] = SECTIONS,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the benchmark sections, write ``bench.json`` and ``bench.md`` into ``out``."""
    torch.set_num_threads(1)
    s = QUICK if quick else FULL
    cuda_requested = device == "cuda"
    if cuda_requested and not torch.cuda.is_available():
        log("[bench] --device cuda but no CUDA device: CPU sections run on cpu, CUDA skipped.")
        device = "cpu"
    rounds = rounds if rounds is not None else (1 if quick else 5)
    result: dict[str, Any] = {
        "quick": quick,
        "device": device,
        "rounds": rounds,
        "machine": machine(),
        "budget": BUDGET,
    }
    steps = {
        "train": lambda: bench_train(s, device, rounds),
        "eval": lambda: bench_eval(s, device, rounds),
        "checkpoint": lambda: bench_checkpoint(s, device, rounds),
        "resume": lambda: bench_resume(s.resume_rows),
        "import": lambda: bench_import(s),
        "memory": lambda: bench_memory(s, device, quick),
        "cuda": lambda: bench_cuda(s, "cuda" if cuda_requested else device, rounds, quick),
    }
    for name in sections:
        t0 = time.perf_counter()
        result[name] = steps[name]()
        log(f"[bench] {name} done in {time.perf_counter() - t0:.1f} s")
    result["verdicts"] = [
        {"check": c, "measured": x, "budget": b, "pass": ok} for c, x, b, ok in verdicts(result)
    ]
    table = markdown(result)
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "bench.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
        (out / "bench.md").write_text(table)
    log(table)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes, one round (CI smoke, < 60 s)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--rounds", type=int, default=None, help="alternating rounds (default 3)")
    p.add_argument(
        "--only",
        default=None,
        help=f"comma-separated sections to run, of {','.join(SECTIONS)} (results are then only "
        "printed, unless --out is given)",
    )
    p.add_argument("--out", default=None, help="results folder (default tools/bench/results)")
    ns = p.parse_args(argv)
    sections = SECTIONS if ns.only is None else tuple(x.strip() for x in ns.only.split(","))
    unknown = [x for x in sections if x not in SECTIONS]
    if unknown:
        p.error(f"--only: unknown section(s) {unknown}; choose from {list(SECTIONS)}")
    out = ns.out
    if out is None and ns.only is None:
        out = str(Path(__file__).resolve().parent / "results")
    t0 = time.perf_counter()
    run_all(quick=ns.quick, device=ns.device, rounds=ns.rounds, out=out, sections=sections)
    print(f"[bench] total {time.perf_counter() - t0:.1f} s; results in {ns.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
