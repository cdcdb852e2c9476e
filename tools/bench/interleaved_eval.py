"""Interleaved evaluation: blocks of raw batches run between blocks of a trainer's batches.

The counterpart of :mod:`tools.bench.interleaved` for ``evaluate()`` and ``predict()``: the
trainer's evaluation dataloader is wrapped so that, after every ``BLOCK`` batches the trainer
takes, the next ``BLOCK`` batches of the raw loop (:func:`~tools.bench.contenders.raw_eval_steps`)
run and are timed. The trainer's pass is the whole ``evaluate()``/``predict()`` call less the time
spent in raw blocks; the raw pass is all its blocks, its remaining batches and its final
concatenation. The wrapper adds one generator step per batch to the trainer's side.

A block of 64 MLP batches takes about 20 ms, like a training block. Blocks of 20 batches (6 ms)
measured the cache refill after each switch as much as the loops: the ratio rose by ~0.04.
"""

from __future__ import annotations

import gc
import shutil
import statistics
import tempfile
from collections.abc import Iterator
from typing import Any

import torch

from tools.bench.contenders import _quiet, build_trainer, raw_eval_steps, run_to_end
from tools.bench.interleaved import block_clock
from tools.bench.workloads import Sizes, make_mlp, mlp_data

BLOCK = 64


class _RawAlongside:
    """The raw pass, run ``BLOCK`` batches at a time with autograd off, its time summed."""

    def __init__(self, model, data, batch: int, device: str, collect: bool, clock) -> None:
        self._steps = raw_eval_steps(model, data, batch, device, collect)
        self._clock = clock
        self.spent = 0

    def run(self, batches: int | None) -> None:
        start = self._clock()
        with torch.no_grad():
            if batches is None:
                run_to_end(self._steps)
            else:
                for _ in range(batches):
                    next(self._steps, None)
        self.spent += self._clock() - start


class _Interleaving:
    """A trainer's evaluation dataloader that runs a raw block after every ``BLOCK`` batches."""

    def __init__(self, loader: Any, raw: _RawAlongside) -> None:
        self._loader, self._raw = loader, raw

    def __len__(self) -> int:
        return len(self._loader)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)

    def __iter__(self) -> Iterator[Any]:
        for index, batch in enumerate(self._loader, 1):
            yield batch
            if index % BLOCK == 0:
                self._raw.run(BLOCK)


def interleaved_pass(trainer: Any, mode: str, model, data, batch: int, device: str) -> float:
    """The trainer's ``mode`` pass over ``data`` against the raw one, as a time ratio."""
    clock = block_clock(device)
    raw = _RawAlongside(model, data, batch, device, mode == "predict", clock)
    hook = "get_eval_dataloader" if mode == "evaluate" else "get_test_dataloader"
    original = getattr(type(trainer), hook).__get__(trainer)
    setattr(trainer, hook, lambda dataset=None: _Interleaving(original(dataset), raw))
    try:
        with _quiet():
            start = clock()
            trainer.evaluate() if mode == "evaluate" else trainer.predict(data)
            trainer_ns = clock() - start - raw.spent
    finally:
        delattr(trainer, hook)
    raw.run(None)  # the raw batches left, and its final concatenation
    return trainer_ns / raw.spent


def bench_interleaved_eval(s: Sizes, device: str, passes: int) -> dict[str, Any]:
    """Median ``evaluate()``/``predict()`` ratio to the raw loop on the MLP over ``passes`` passes
    of each, for ours and transformers."""
    model = make_mlp(s).to(device)
    data, batch = mlp_data(s, s.eval_mlp_samples), s.eval_mlp_batch
    ratios: dict[str, list[float]] = {
        f"{who}_{mode}": [] for who in ("ours", "transformers") for mode in ("evaluate", "predict")
    }
    tmp = tempfile.mkdtemp(prefix="bench-interleaved-eval-")
    with _quiet():
        trainers = {
            who: build_trainer(who, model, data, batch, 1, device, f"{tmp}/{who}")[0]
            for who in ("ours", "transformers")
        }
    for key in ratios:  # one untimed pass each
        who, mode = key.split("_")
        interleaved_pass(trainers[who], mode, model, data, batch, device)
    for round_index in range(passes):
        keys = list(ratios) if round_index % 2 == 0 else list(reversed(ratios))
        for key in keys:
            who, mode = key.split("_")
            gc.collect()
            ratios[key].append(interleaved_pass(trainers[who], mode, model, data, batch, device))
    shutil.rmtree(tmp, ignore_errors=True)
    result: dict[str, Any] = {"passes": passes, "block_batches": BLOCK}
    result["samples_ratio"] = ratios
    for key, values in ratios.items():
        result[f"ratio_{key}"] = statistics.median(values)
    return result
