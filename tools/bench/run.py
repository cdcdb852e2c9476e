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
import contextlib
import datetime
import gc
import io
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if __package__ in (None, "") and str(REPO_ROOT) not in sys.path:  # python tools/bench/run.py
    sys.path.insert(0, str(REPO_ROOT))

import torch  # noqa: E402
from torch import nn  # noqa: E402

# Budget of docs/performance.md and shared/DESIGN.md "Performance budget".
BUDGET = {
    "train": 1.10,
    "eval": 1.10,
    "checkpoint": 1.20,
    "import_trainer_over_torch_s": 0.5,
    "import_trainer_args_s": 0.15,
}
LR = 5e-4
WEIGHT_DECAY = 0.01
MAX_GRAD_NORM = 1.0
SEED = 42

# ---------------------------------------------------------------------------------- sizes


@dataclass
class Sizes:
    mlp_in: int = 64
    mlp_hidden: int = 256
    mlp_out: int = 10
    mlp_batch: int = 32
    mlp_steps: int = 600  # crosses one default logging step (500)
    mlp_warmup: int = 50
    gpt_layers: int = 2
    gpt_width: int = 128
    gpt_heads: int = 4
    gpt_seq: int = 128
    gpt_vocab: int = 1024
    gpt_batch: int = 8
    gpt_steps: int = 40
    gpt_warmup: int = 5
    eval_mlp_samples: int = 16384
    eval_mlp_batch: int = 64
    eval_gpt_samples: int = 128
    eval_gpt_batch: int = 8
    big_ckpt: bool = True  # the ~100M-parameter checkpoint
    import_runs: int = 5
    memory_steps: int = 30
    cuda_steps: int = 30
    cuda_warmup: int = 5


FULL = Sizes()
QUICK = Sizes(
    mlp_hidden=32,
    mlp_steps=40,
    mlp_warmup=5,
    gpt_layers=1,
    gpt_width=32,
    gpt_heads=2,
    gpt_seq=32,
    gpt_vocab=128,
    gpt_batch=4,
    gpt_steps=8,
    gpt_warmup=2,
    eval_mlp_samples=256,
    eval_gpt_samples=16,
    eval_gpt_batch=4,
    big_ckpt=False,
    import_runs=1,
    memory_steps=4,
    cuda_steps=4,
    cuda_warmup=1,
)


# ---------------------------------------------------------------------------------- models


class MLP(nn.Module):
    """Tiny classifier returning ``{"loss", "logits"}`` like a transformers model."""

    def __init__(self, d_in: int, hidden: int, d_out: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(d_in, hidden),
            nn.ReLU(),
            nn.LayerNorm(hidden),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, d_out),
        )

    def forward(self, x, labels=None):
        logits = self.net(x)
        out = {"logits": logits}
        if labels is not None:
            out = {"loss": nn.functional.cross_entropy(logits, labels), "logits": logits}
        return out


def make_mlp(s: Sizes) -> nn.Module:
    torch.manual_seed(SEED)
    return MLP(s.mlp_in, s.mlp_hidden, s.mlp_out)


def mlp_data(s: Sizes, n: int) -> list[dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(SEED)
    x = torch.randn(n, s.mlp_in, generator=g)
    y = torch.randint(0, s.mlp_out, (n,), generator=g)
    return [{"x": x[i], "labels": y[i]} for i in range(n)]


def make_gpt(
    layers: int, width: int, heads: int, seq: int, vocab: int, dtype=torch.float32
) -> nn.Module:
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(SEED)
    config = GPT2Config(
        n_layer=layers,
        n_embd=width,
        n_head=heads,
        n_positions=seq,
        vocab_size=vocab,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
    )
    with contextlib.redirect_stderr(io.StringIO()):
        model = GPT2LMHeadModel(config)
    return model.to(dtype)


def small_gpt(s: Sizes) -> nn.Module:
    return make_gpt(s.gpt_layers, s.gpt_width, s.gpt_heads, s.gpt_seq, s.gpt_vocab)


def gpt_data(vocab: int, seq: int, n: int) -> list[dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(SEED)
    ids = torch.randint(0, vocab, (n, seq), generator=g)
    return [{"input_ids": ids[i], "labels": ids[i]} for i in range(n)]


def case(s: Sizes, name: str) -> dict[str, Any]:
    """Model factory, data and batch size of one training case."""
    if name == "mlp":
        n = s.mlp_batch * (s.mlp_steps + 1)
        return {"model": lambda: make_mlp(s), "data": mlp_data(s, n), "batch": s.mlp_batch}
    n = s.gpt_batch * (s.gpt_steps + 1)
    return {
        "model": lambda: small_gpt(s),
        "data": gpt_data(s.gpt_vocab, s.gpt_seq, n),
        "batch": s.gpt_batch,
    }


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


def raw_train(
    model: nn.Module, data, batch: int, steps: int, device: str, stamps: list[float] | None = None
) -> nn.Module:
    """The reference loop: DataLoader, forward, backward, clip, step, schedule, zero_grad."""
    torch.manual_seed(SEED)
    model.to(device).train()
    loader = torch.utils.data.DataLoader(data, batch_size=batch, shuffle=True)
    optimizer = torch.optim.AdamW(decay_groups(model, WEIGHT_DECAY), lr=LR)
    scheduler = linear_schedule(optimizer, steps)
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
            if stamps is not None:
                if device != "cpu":
                    torch.cuda.synchronize()
                stamps.append((time.perf_counter(), time.process_time()))
            if step >= steps:
                break
    model._bench_optimizer = optimizer  # type: ignore[attr-defined]
    model._bench_scheduler = scheduler  # type: ignore[attr-defined]
    return model


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


def _args_kwargs(out_dir: str, batch: int, steps: int, device: str, **extra) -> dict[str, Any]:
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


def build_trainer(
    which: str, model, data, batch: int, steps: int, device: str, out_dir: str, **extra
):
    """A ``trainer_loop.Trainer`` (``which="ours"``) or a ``transformers.Trainer`` and its stamps."""
    stamps: list[float] = []
    if which == "ours":
        from trainer_args import TrainingArguments
        from trainer_loop import Trainer, TrainerCallback
    else:
        from transformers import Trainer, TrainerCallback, TrainingArguments
    args = TrainingArguments(**_args_kwargs(out_dir, batch, steps, device, **extra))
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


# ---------------------------------------------------------------------------------- 1. train


CONTENDERS = ("raw", "ours", "transformers")


def bench_train(s: Sizes, device: str, rounds: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in ("mlp", "gpt"):
        c = case(s, name)
        steps = s.mlp_steps if name == "mlp" else s.gpt_steps
        warmup = s.mlp_warmup if name == "mlp" else s.gpt_warmup
        samples: dict[str, list[float]] = {k: [] for k in CONTENDERS}
        cpu: dict[str, list[float]] = {k: [] for k in CONTENDERS}
        for _ in range(rounds):
            for who in CONTENDERS:
                model = c["model"]()
                gc.collect()
                if who == "raw":
                    stamps: list[float] = []
                    raw_train(model, c["data"], c["batch"], steps, device, stamps)
                else:
                    stamps = run_trainer(who, model, c["data"], c["batch"], steps, device)
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
        }
    return results


# ---------------------------------------------------------------------------------- 2. eval


def raw_eval(model, data, batch: int, device: str, collect: bool):
    """``torch.no_grad()`` loop: mean loss, and logits/labels concatenated when ``collect``."""
    model.to(device).eval()
    loader = torch.utils.data.DataLoader(data, batch_size=batch, shuffle=False)
    losses, logits, labels = [], [], []
    with torch.no_grad():
        for inputs in loader:
            if device != "cpu":
                inputs = {k: v.to(device, non_blocking=True) for k, v in inputs.items()}
            out = model(**inputs)
            losses.append(out["loss"].detach())
            if collect:
                logits.append(out["logits"])
                labels.append(inputs["labels"])
    loss = torch.stack(losses).mean().item()
    if collect:
        return loss, torch.cat(logits).cpu().numpy(), torch.cat(labels).cpu().numpy()
    return loss, None, None


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
        for _ in range(rounds):
            for who in CONTENDERS:
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
    return results


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
            )
        }
        raw_dir = os.path.join(tmp, "raw", "checkpoint-1")
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
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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


# ---------------------------------------------------------------------------------- 4. import


IMPORTS = {
    "trainer_args": "import trainer_args",
    "trainer": "import trainer",
    "trainer_Trainer": "from trainer import Trainer",
    "torch": "import torch",
    "transformers_trainer": "from transformers import Trainer",
}


def _child_python() -> list[str]:
    return [sys.executable, "-X", "utf8"]


def bench_import(s: Sizes) -> dict[str, Any]:
    code = (
        "import time, sys; t = time.perf_counter(); {stmt}; "
        "print(time.perf_counter() - t, 'torch' in sys.modules)"
    )
    # --quick leaves out transformers (10-20 s on a loaded 2-core machine) to stay a smoke test.
    names = [k for k in IMPORTS if not (s.import_runs == 1 and k == "transformers_trainer")]
    samples: dict[str, list[float]] = {k: [] for k in names}
    loads_torch: dict[str, bool] = {}
    for _ in range(s.import_runs):
        for name in names:
            stmt = IMPORTS[name]
            out = subprocess.run(
                [*_child_python(), "-c", code.format(stmt=stmt)],
                capture_output=True,
                text=True,
                check=True,
                cwd=REPO_ROOT,
            ).stdout.split()
            samples[name].append(float(out[0]))
            loads_torch[name] = out[1] == "True"
    med = {k: statistics.median(v) for k, v in samples.items()}
    return {
        "runs": s.import_runs,
        "seconds": med,
        "samples_seconds": samples,
        "loads_torch": loads_torch,
        "trainer_minus_torch_s": med["trainer"] - med["torch"],
        "trainer_Trainer_minus_torch_s": med["trainer_Trainer"] - med["torch"],
    }


# ---------------------------------------------------------------------------------- 5. memory


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _vm_hwm_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def memory_child(who: str, quick: bool, device: str) -> None:
    """Entry of the memory subprocess: train, print peak ``ru_maxrss`` and the RSS before training.

    The baseline is taken after torch (and transformers, for the GPT model) are imported and the
    model and data are built, before the trainer library is imported: its import is part of its
    cost.
    """
    import resource

    torch.set_num_threads(1)
    # The model constructors of transformers are imported by every contender (GPT model).
    s = QUICK if quick else FULL
    c = case(s, "mlp" if quick else "gpt")
    steps = s.memory_steps
    model = c["model"]()
    data = c["data"][: steps * c["batch"]]
    before = _rss_mib()
    if who == "raw":
        raw_train(model, data, c["batch"], steps, device)
    else:
        run_trainer(who, model, data, c["batch"], steps, device)
    # ru_maxrss survives execve on Linux (the child would report its parent's peak when the parent
    # is bigger); VmHWM is the peak of this address space only. Both are reported.
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"peak_mib": _vm_hwm_mib(), "ru_maxrss_mib": maxrss, "before_mib": before}))


def bench_memory(s: Sizes, device: str, quick: bool) -> dict[str, Any]:
    """One subprocess per contender, run side by side (memory, not time, is measured here)."""
    procs = {}
    for who in CONTENDERS:
        code = (
            "from tools.bench.run import memory_child; "
            f"memory_child({who!r}, {quick!r}, {device!r})"
        )
        procs[who] = subprocess.Popen(
            [*_child_python(), "-c", code],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO_ROOT,
        )
    peak, delta = {}, {}
    for who, proc in procs.items():
        stdout, stderr = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"memory child {who} failed:\n{stderr[-2000:]}")
        last = json.loads([ln for ln in stdout.splitlines() if ln.startswith("{")][-1])
        peak[who] = last["peak_mib"]
        delta[who] = last["peak_mib"] - last["before_mib"]
    return {
        "model": "mlp" if quick else "gpt",
        "steps": s.memory_steps,
        "peak_rss_mib": peak,
        "training_rss_growth_mib": delta,
        "ratio_ours_raw": peak["ours"] / peak["raw"],
        "ratio_transformers_raw": peak["transformers"] / peak["raw"],
        "ours_minus_raw_mib": peak["ours"] - peak["raw"],
    }


# ---------------------------------------------------------------------------------- 6. cuda


PEAK_BF16_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L4": 121e12}


def bench_cuda(s: Sizes, device: str, rounds: int, quick: bool) -> dict[str, Any]:
    if device != "cuda":
        return {"skipped": "run with --device cuda to measure bf16 throughput and MFU"}
    if not torch.cuda.is_available():
        return {"skipped": "--device cuda asked but torch.cuda.is_available() is False"}
    name = torch.cuda.get_device_name(0)
    peak = next((v for k, v in PEAK_BF16_FLOPS.items() if k in name), None)
    if quick:
        dims, seq, batch = (2, 128, 4, 128, 1024), 128, 4
    else:
        dims, seq, batch = (12, 768, 12, 1024, 32000), 1024, 8
    data = gpt_data(dims[4], seq, batch * (s.cuda_steps + 1))
    samples: dict[str, list[float]] = {k: [] for k in ("ours", "transformers")}
    n_params = None
    for _ in range(rounds):
        for who in samples:
            model = make_gpt(*dims)
            n_params = model.num_parameters(exclude_embeddings=True)
            with tempfile.TemporaryDirectory() as out, _quiet():
                trainer, stamps = build_trainer(
                    who, model, data, batch, s.cuda_steps, "cuda", out, bf16=True
                )
                trainer.train()
            samples[who].append(steps_per_s(stamps, s.cuda_warmup))
            del trainer, model
            torch.cuda.empty_cache()
    med = {k: statistics.median(v) for k, v in samples.items()}
    # 6 N T per token for forward+backward plus attention 12 L d T^2 (PaLM appendix B)
    layers, width = dims[0], dims[1]
    flops_per_step = batch * seq * (6 * n_params + 12 * layers * width * seq)
    res: dict[str, Any] = {
        "gpu": name,
        "non_embedding_parameters": n_params,
        "seq": seq,
        "batch_size": batch,
        "steps_per_s": med,
        "ratio_ours_transformers": med["transformers"] / med["ours"],
        "flops_per_step": flops_per_step,
    }
    if peak is not None:
        res["mfu"] = {k: v * flops_per_step / peak for k, v in med.items()}
    return res


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
    # On the CPU the verdict uses process CPU time (other tenants of a shared machine do not
    # move it); on CUDA work is asynchronous, so wall time after a synchronize.
    pre = "cpu_" if r["device"] == "cpu" else ""
    for name, v in r.get("train", {}).items():
        x = v[f"{pre}ratio_ours_raw"]
        rows.append((f"train {name}: ours/raw", x, "<= 1.10", x <= BUDGET["train"]))
    for name, v in r.get("eval", {}).items():
        for mode in ("evaluate", "predict"):
            x = v[f"{pre}ratio_ours_raw_{mode}"]
            rows.append((f"{mode} {name}: ours/raw", x, "<= 1.10", x <= BUDGET["eval"]))
    for name, v in r.get("checkpoint", {}).items():
        x = v["ratio_ours_raw_save"]
        rows.append((f"checkpoint save {name}: ours/raw", x, "<= 1.20", x <= BUDGET["checkpoint"]))
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


SECTIONS = ("train", "eval", "checkpoint", "import", "memory", "cuda")


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
    rounds = rounds if rounds is not None else (1 if quick else 3)
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
