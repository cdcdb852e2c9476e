"""Profile ``evaluate()``/``predict()`` of one contender on the tiny MLP or the small GPT (cProfile).

``uv run --no-sync python -m tools.bench.profile_eval [ours|transformers|raw] [evaluate|predict]
[mlp|gpt] [repeats]`` prints the functions with the most own and cumulative time.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import tempfile

import torch

from tools.bench.contenders import _quiet, build_trainer, raw_eval
from tools.bench.workloads import FULL, gpt_data, make_mlp, mlp_data, small_gpt


def main(argv: list[str]) -> None:
    who = argv[0] if argv else "ours"
    mode = argv[1] if len(argv) > 1 else "evaluate"
    name = argv[2] if len(argv) > 2 else "mlp"
    repeats = int(argv[3]) if len(argv) > 3 else 10
    torch.set_num_threads(1)
    s = FULL
    if name == "mlp":
        model, data, batch = make_mlp(s), mlp_data(s, s.eval_mlp_samples), s.eval_mlp_batch
    else:
        model = small_gpt(s)
        data = gpt_data(s.gpt_vocab, s.gpt_seq, s.eval_gpt_samples)
        batch = s.eval_gpt_batch
    prof = cProfile.Profile()
    with tempfile.TemporaryDirectory() as out, _quiet():
        if who == "raw":
            run = lambda: raw_eval(model, data, batch, "cpu", collect=mode == "predict")  # noqa: E731
        else:
            trainer, _ = build_trainer(who, model, data, batch, 1, "cpu", out)
            run = trainer.evaluate if mode == "evaluate" else lambda: trainer.predict(data)
        run()
        prof.enable()
        for _ in range(repeats):
            run()
        prof.disable()
    stats = pstats.Stats(prof, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(20)
    stats.sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    main(sys.argv[1:])
