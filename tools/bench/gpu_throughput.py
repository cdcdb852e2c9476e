"""GPU throughput runs: one contender (raw loop, this project's Trainer, transformers' Trainer,
Lightning), eager or compiled, on the GPT of ``gpt124m``; and padded against padding-free training.

Every contender trains the same model (same seed), on the same data, with fused AdamW (lr 5e-4,
weight decay 0.01 except biases and LayerNorm weights), a linear schedule, gradient clipping at
1.0 and bf16 autocast. Time runs from the end of step ``warmup`` to the end of the last step, with
a device synchronisation at both ends only, so nothing else syncs the steps in between.

``python -m tools.bench.gpu_throughput --contender raw --compile 1 --size full --json row.json``
runs one contender in its own process (the check runs each in a fresh one, so that a crash, an
out-of-memory or a hang stops that row only and peak memory is the run's own).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import torch

from tools.bench.contenders import (
    _quiet,
    args_kwargs,
    decay_groups,
    linear_schedule,
    trainer_api,
)
from tools.bench.gpt124m import (
    GPT,
    GPT2_SMALL,
    PACKED_ATTENTION,
    GPTShape,
    PadToLongest,
    token_data,
    variable_length_data,
)
from tools.bench.workloads import LR, MAX_GRAD_NORM, SEED, WEIGHT_DECAY

H100_BF16_PEAK = 989.4e12  # dense bf16 FLOP/s of an H100/H200 SXM: the MFU denominator
CONTENDERS = ("raw", "trainer", "transformers", "lightning")


@dataclass(frozen=True)
class RunSize:
    shape: GPTShape
    batch: int
    steps: int
    warmup: int
    pack_batch: int
    pack_steps: int
    pack_warmup: int
    pack_low: int
    pack_high: int


SIZES = {
    "full": RunSize(GPT2_SMALL, batch=16, steps=50, warmup=15, pack_batch=16, pack_steps=40,
                    pack_warmup=10, pack_low=64, pack_high=1024),
    "tiny": RunSize(GPTShape(layers=2, width=64, heads=2, vocab=512, context=64), batch=4,
                    steps=4, warmup=1, pack_batch=4, pack_steps=4, pack_warmup=1,
                    pack_low=8, pack_high=64),
}  # fmt: skip


class StepClock:
    """Counts optimizer steps; synchronises and reads the clock at step ``warmup`` and the last."""

    def __init__(self, warmup: int, steps: int, device: str):
        self.warmup, self.steps, self.device = warmup, steps, device
        self.step = 0
        self.start = self.end = None

    def tick(self) -> None:
        self.step += 1
        if self.step in (self.warmup, self.steps):
            if self.device == "cuda":
                torch.cuda.synchronize()
            now = time.perf_counter()
            if self.step == self.warmup:
                self.start = now
            if self.step == self.steps:
                self.end = now

    def seconds(self) -> float:
        if self.start is None or self.end is None:
            raise RuntimeError(f"the run ended at step {self.step} of {self.steps}")
        return self.end - self.start


def _model(size: RunSize, device: str) -> GPT:
    torch.manual_seed(SEED)
    return GPT(size.shape).to(device)


def _loader(data, batch: int, device: str, collate=None):
    return torch.utils.data.DataLoader(
        data,
        batch_size=batch,
        shuffle=True,
        drop_last=True,
        pin_memory=device == "cuda",
        collate_fn=collate,
        generator=torch.Generator().manual_seed(SEED),
    )


# ---------------------------------------------------------------------------------- contenders


def run_raw(model, data, size: RunSize, device: str, compile: bool, clock: StepClock) -> None:
    optimizer = torch.optim.AdamW(decay_groups(model, WEIGHT_DECAY), lr=LR, fused=True)
    scheduler = linear_schedule(optimizer, size.steps)
    forward = torch.compile(model) if compile else model
    model.train()
    step = 0
    while step < size.steps:
        for inputs in _loader(data, size.batch, device):
            inputs = {k: v.to(device, non_blocking=True) for k, v in inputs.items()}
            with torch.autocast(device, dtype=torch.bfloat16):
                loss = forward(**inputs)["loss"]
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            clock.tick()
            if step >= size.steps:
                break


def run_trainer(
    which: str, model, data, size: RunSize, device: str, compile: bool, clock: StepClock,
    collate=None, batch: int | None = None, steps: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """``which`` is ``"ours"`` or ``"transformers"``; returns the train() metrics."""
    Trainer, TrainerCallback, TrainingArguments = trainer_api(which)  # noqa: N806

    class Tick(TrainerCallback):  # type: ignore[misc, valid-type]
        def on_step_end(self, args, state, control, **kwargs):
            clock.tick()

    with tempfile.TemporaryDirectory() as out:
        kw = args_kwargs(
            out, batch or size.batch, steps or size.steps, device,
            optim="adamw_torch_fused", bf16=True,
            logging_steps=10**6,  # no log (and no sync) between the two clock readings
            dataloader_pin_memory=device == "cuda",  # as the raw loop's DataLoader
            dataloader_drop_last=True,
            torch_compile=compile,
        )  # fmt: skip
        # Another transformers version may lack a field (use_cpu, ...): leave those out.
        known = {f.name for f in dataclasses.fields(TrainingArguments)}
        kw = {k: v for k, v in kw.items() if k in known}
        extra = {"data_collator": collate} if collate is not None else {}
        trainer = Trainer(
            model=model, args=TrainingArguments(**kw), train_dataset=data, callbacks=[Tick()],
            **extra,
        )  # fmt: skip
        return dict(trainer.train().metrics)


def run_lightning(model, data, size: RunSize, device: str, compile: bool, clock: StepClock):
    try:
        import lightning as pl
    except ImportError:
        import pytorch_lightning as pl

    class Lit(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.model = model
            self.forward_fn = torch.compile(model) if compile else model

        def training_step(self, batch, batch_idx):
            return self.forward_fn(**batch)["loss"]

        def on_before_optimizer_step(self, optimizer):
            # Lightning refuses gradient_clip_val with a fused optimizer under AMP (the optimizer
            # could unscale internally); bf16 has no scaler, so clip here as the others do.
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), MAX_GRAD_NORM)

        def configure_optimizers(self):
            opt = torch.optim.AdamW(decay_groups(self.model, WEIGHT_DECAY), lr=LR, fused=True)
            sched = linear_schedule(opt, size.steps)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    class Tick(pl.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            clock.tick()

    trainer = pl.Trainer(
        accelerator="gpu" if device == "cuda" else "cpu",
        devices=1,
        precision="bf16-mixed",
        max_steps=size.steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=[Tick()],
    )
    trainer.fit(Lit(), _loader(data, size.batch, device))


# ---------------------------------------------------------------------------------- one row


def _reset_peak(device: str) -> None:
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _peak_gb(device: str) -> float:
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 1e9
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB -> GB, the process


def peak_flops(device: str) -> float:
    """The MFU denominator: the device's dense bf16 peak where known, else the H100/H200's."""
    from trainer_loop.reporting.throughput import device_peak_flops

    return (device_peak_flops(device) if device == "cuda" else None) or H100_BF16_PEAK


def run_row(contender: str, compile: bool, size_name: str, device: str) -> dict[str, Any]:
    """Train one contender; the row of the result table, with details."""
    size = SIZES[size_name]
    data = token_data(size.shape.vocab, size.shape.context, size.batch * (size.steps + 1))
    model = _model(size, device)
    clock = StepClock(size.warmup, size.steps, device)
    _reset_peak(device)
    extra: dict[str, Any] = {}
    with _quiet():
        if contender == "raw":
            run_raw(model, data, size, device, compile, clock)
        elif contender in ("trainer", "transformers"):
            which = "ours" if contender == "trainer" else "transformers"
            metrics = run_trainer(which, model, data, size, device, compile, clock)
            extra["train_metrics"] = {k: v for k, v in metrics.items() if "_mem_" not in k}
        elif contender == "lightning":
            run_lightning(model, data, size, device, compile, clock)
        else:
            raise ValueError(f"unknown contender {contender!r}")
    seconds = clock.seconds()
    tokens = (size.steps - size.warmup) * size.batch * size.shape.context
    tokens_per_s = tokens / seconds
    flops = model.flops_per_token(size.shape.context)
    peak = peak_flops(device)
    return {
        "contender": contender,
        "compile": compile,
        "tokens_per_s": tokens_per_s,
        "mfu": tokens_per_s * flops / peak,
        "peak_mem_gb": _peak_gb(device),
        "parameters": model.num_parameters(),
        "flops_per_token": flops,
        "peak_flops": peak,
        "batch": size.batch,
        "seq": size.shape.context,
        "timed_steps": size.steps - size.warmup,
        "seconds": seconds,
        **extra,
    }


class CountingCollator:
    """Wraps a collator and records the real (non-padding) tokens of every batch it makes."""

    def __init__(self, inner):
        self.inner = inner
        self.tokens: list[int] = []

    def __call__(self, features):
        self.tokens.append(sum(len(f["input_ids"]) for f in features))
        return self.inner(features)


def run_packing(mode: str, size_name: str, device: str) -> dict[str, Any]:
    """This project's Trainer on variable-length data, eager: ``"padded"`` (to the batch's
    longest) or ``"flattened"`` (``DataCollatorWithFlattening``); real tokens per second."""
    from trainer_data import DataCollatorWithFlattening

    size = SIZES[size_name]
    n = size.pack_batch * (size.pack_steps + 1)
    data = variable_length_data(size.shape.vocab, size.pack_low, size.pack_high, n)
    inner = PadToLongest() if mode == "padded" else DataCollatorWithFlattening(
        return_flash_attn_kwargs=True
    )  # fmt: skip
    collate = CountingCollator(inner)
    model = _model(size, device)
    clock = StepClock(size.pack_warmup, size.pack_steps, device)
    _reset_peak(device)
    with _quiet():
        run_trainer(
            "ours", model, data, size, device, False, clock, collate=collate,
            batch=size.pack_batch, steps=size.pack_steps,
        )  # fmt: skip
    seconds = clock.seconds()
    # Batch i feeds step i + 1; the clock runs from the end of step warmup to the last step.
    real = sum(collate.tokens[size.pack_warmup : size.pack_steps])
    row = {
        "mode": mode,
        "real_tokens_per_s": real / seconds,
        "peak_mem_gb": _peak_gb(device),
        "batch": size.pack_batch,
        "lengths": [size.pack_low, size.pack_high],
        "timed_steps": size.pack_steps - size.pack_warmup,
        "seconds": seconds,
    }
    if mode == "flattened":
        row["attention"] = dict(PACKED_ATTENTION)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contender", choices=CONTENDERS)
    parser.add_argument("--packing", choices=("padded", "flattened"))
    parser.add_argument("--compile", type=int, default=0)
    parser.add_argument("--size", choices=tuple(SIZES), default="full")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--json", required=True)
    args = parser.parse_args(argv)
    if args.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    if args.packing:
        row = run_packing(args.packing, args.size, args.device)
    else:
        row = run_row(args.contender, bool(args.compile), args.size, args.device)
    row["pid"] = os.getpid()
    with open(args.json, "w", encoding="utf-8") as handle:
        json.dump(row, handle, indent=1)
    print(json.dumps({k: v for k, v in row.items() if k != "train_metrics"}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
