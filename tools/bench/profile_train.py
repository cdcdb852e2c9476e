"""Profile one contender's training loop on the tiny MLP (cProfile, hot path only).

``uv run --no-sync python -m tools.bench.profile_train [ours|transformers|raw] [steps]`` prints the
functions with the most cumulative time spent inside ``trainer.train()`` (set-up included, but it
is small against thousands of steps).
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import tempfile

import torch

from tools.bench.contenders import _quiet, build_trainer, raw_train
from tools.bench.workloads import FULL, case


def main(argv: list[str]) -> None:
    who = argv[0] if argv else "ours"
    steps = int(argv[1]) if len(argv) > 1 else 3000
    torch.set_num_threads(1)
    s = FULL
    s.mlp_steps = steps
    c = case(s, "mlp")
    model = c["model"]()
    prof = cProfile.Profile()
    if who == "raw":
        prof.enable()
        raw_train(model, c["data"], c["batch"], steps, "cpu")
        prof.disable()
    else:
        with tempfile.TemporaryDirectory() as out, _quiet():
            trainer, _ = build_trainer(who, model, c["data"], c["batch"], steps, "cpu", out)
            prof.enable()
            trainer.train()
            prof.disable()
    stats = pstats.Stats(prof, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main(sys.argv[1:])
