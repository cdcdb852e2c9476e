"""The three contenders: a raw PyTorch loop, ``trainer_loop.Trainer`` and ``transformers.Trainer``."""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
import time
import warnings
from typing import Any

import torch
from torch import nn

from tools.bench.workloads import LR, MAX_GRAD_NORM, SEED, WEIGHT_DECAY

# ---------------------------------------------------------------------------------- raw loop


def decay_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """The Trainer's groups: no decay on biases and on normalisation-layer weights."""
    no_decay: set[str] = set()
    for mod_name, module in model.named_modules():
        is_norm = isinstance(module, (nn.LayerNorm, nn.BatchNorm1d, nn.GroupNorm)) or (
            "norm" in type(module).__name__.lower()
        )
        for p_name, _ in module.named_parameters(recurse=False):
            full = f"{mod_name}.{p_name}" if mod_name else p_name
            if is_norm or "bias" in p_name:
                no_decay.add(full)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    return [
        {"params": [p for n, p in named if n not in no_decay], "weight_decay": weight_decay},
        {"params": [p for n, p in named if n in no_decay], "weight_decay": 0.0},
    ]


def linear_schedule(optimizer, total: int):
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: max(0.0, float(total - step) / float(max(1, total)))
    )


def raw_steps(model: nn.Module, data, batch: int, steps: int, device: str):
    """The reference loop as a generator that yields after every optimizer step: DataLoader,
    forward, backward, clip, step, schedule, zero_grad."""
    torch.manual_seed(SEED)
    model.to(device).train()
    loader = torch.utils.data.DataLoader(data, batch_size=batch, shuffle=True)
    optimizer = torch.optim.AdamW(decay_groups(model, WEIGHT_DECAY), lr=LR)
    scheduler = linear_schedule(optimizer, steps)
    model._bench_optimizer = optimizer  # type: ignore[attr-defined]
    model._bench_scheduler = scheduler  # type: ignore[attr-defined]
    step = 0
    while step < steps:
        for inputs in loader:
            if device != "cpu":
                inputs = {k: v.to(device, non_blocking=True) for k, v in inputs.items()}
            loss = model(**inputs)["loss"]
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            yield
            if step >= steps:
                break


def raw_train(
    model: nn.Module, data, batch: int, steps: int, device: str, stamps: list[float] | None = None
) -> nn.Module:
    """Run :func:`raw_steps` to the end, timestamping each step into ``stamps``."""
    for _ in raw_steps(model, data, batch, steps, device):
        if stamps is not None:
            if device != "cpu":
                torch.cuda.synchronize()
            stamps.append((time.perf_counter(), time.process_time()))
    return model


def raw_eval_steps(model, data, batch: int, device: str, collect: bool):
    """The raw evaluation loop as a generator that yields after every batch and returns the mean
    loss, and the logits and labels concatenated when ``collect``. The caller disables autograd."""
    model.to(device).eval()
    loader = torch.utils.data.DataLoader(data, batch_size=batch, shuffle=False)
    losses, logits, labels = [], [], []
    for inputs in loader:
        if device != "cpu":
            inputs = {k: v.to(device, non_blocking=True) for k, v in inputs.items()}
        out = model(**inputs)
        losses.append(out["loss"].detach())
        if collect:
            logits.append(out["logits"])
            labels.append(inputs["labels"])
        yield
    loss = torch.stack(losses).mean().item()
    if collect:
        return loss, torch.cat(logits).cpu().numpy(), torch.cat(labels).cpu().numpy()
    return loss, None, None


def run_to_end(steps) -> Any:
    """Exhaust a generator and return its return value."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def raw_eval(model, data, batch: int, device: str, collect: bool):
    """``torch.no_grad()`` loop: mean loss, and logits/labels concatenated when ``collect``."""
    with torch.no_grad():
        return run_to_end(raw_eval_steps(model, data, batch, device, collect))


# ---------------------------------------------------------------------------------- trainers


def _quiet():
    """Silence the libraries' info logs and warnings while a contender runs."""
    stack = contextlib.ExitStack()
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore")
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    stack.enter_context(contextlib.redirect_stderr(io.StringIO()))
    for name in ("transformers", "trainer_loop", "accelerate"):
        logger = logging.getLogger(name)
        stack.callback(logger.setLevel, logger.level)
        logger.setLevel(logging.ERROR)
    with contextlib.suppress(Exception):
        import transformers

        stack.callback(transformers.logging.set_verbosity, transformers.logging.get_verbosity())
        transformers.logging.set_verbosity_error()
    return stack


def args_kwargs(out_dir: str, batch: int, steps: int, device: str, **extra) -> dict[str, Any]:
    """``TrainingArguments`` fields for a benchmarked Trainer, ours or transformers': the raw loop's
    optimisation (learning rate, weight decay, clipping, linear schedule, seed), ``batch`` for
    training and evaluation, no saving, reporting or progress bar. ``extra`` adds or overrides
    fields (the GPU check's fused AdamW and bf16, for one)."""
    kw = dict(
        output_dir=out_dir,
        per_device_train_batch_size=batch,
        per_device_eval_batch_size=batch,
        max_steps=steps,
        learning_rate=LR,
        weight_decay=WEIGHT_DECAY,
        max_grad_norm=MAX_GRAD_NORM,
        lr_scheduler_type="linear",
        warmup_steps=0,
        optim="adamw_torch",
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=SEED,
        use_cpu=device == "cpu",
        dataloader_pin_memory=device != "cpu",
    )
    kw.update(extra)
    return kw


def _stamp_callback(base: type, stamps: list[float], device: str):
    class Stamp(base):  # type: ignore[misc, valid-type]
        def on_step_end(self, args, state, control, **kwargs):
            if device != "cpu":
                torch.cuda.synchronize()
            stamps.append((time.perf_counter(), time.process_time()))

    return Stamp()


def trainer_api(which: str) -> tuple[type, type, type]:
    """``(Trainer, TrainerCallback, TrainingArguments)`` of ours (``"ours"``) or of transformers."""
    if which == "ours":
        from trainer_args import TrainingArguments
        from trainer_loop import Trainer, TrainerCallback
    else:
        from transformers import Trainer, TrainerCallback, TrainingArguments
    return Trainer, TrainerCallback, TrainingArguments


def build_trainer(
    which: str, model, data, batch: int, steps: int, device: str, out_dir: str, **extra
):
    """A ``trainer_loop.Trainer`` (``which="ours"``) or a ``transformers.Trainer`` and its stamps."""
    stamps: list[float] = []
    Trainer, TrainerCallback, TrainingArguments = trainer_api(which)  # noqa: N806
    args = TrainingArguments(**args_kwargs(out_dir, batch, steps, device, **extra))
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=data,
        eval_dataset=data,
        callbacks=[_stamp_callback(TrainerCallback, stamps, device)],
    )
    return trainer, stamps


def run_trainer(which: str, model, data, batch: int, steps: int, device: str) -> list[float]:
    with tempfile.TemporaryDirectory() as out, _quiet():
        trainer, stamps = build_trainer(which, model, data, batch, steps, device, out)
        torch.manual_seed(SEED)
        trainer.train()
    return stamps


def steps_per_s(stamps: list[tuple[float, float]], warmup: int, clock: int = 0) -> float:
    """Steps/s between the end of step ``warmup`` and the last step (clock 0 wall, 1 CPU)."""
    timed = stamps[warmup - 1 :]
    return (len(timed) - 1) / (timed[-1][clock] - timed[0][clock])
