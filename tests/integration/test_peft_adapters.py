"""PEFT LoRA adapters on our loop, side by side with transformers.Trainer.

Checkpoints hold the adapter only; resume (by path or ``True``) and best-model loading put the
adapter weights back; checkpoints move between the two libraries.
"""

from __future__ import annotations

import os
import shutil

import pytest
import torch

peft = pytest.importorskip("peft")
transformers = pytest.importorskip("transformers")

import trainer  # noqa: E402
from helpers.models import lm_data  # noqa: E402
from helpers.tiny_lm import tiny_causal_lm  # noqa: E402

pytestmark = pytest.mark.slow

VOCAB = 79  # the tiny tokenizer's vocabulary size


def lora_model(seed: int = 0):
    config = peft.LoraConfig(
        r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], lora_dropout=0.0
    )
    return peft.get_peft_model(tiny_causal_lm(seed=seed), config)


def data(n: int = 32, seed: int = 0):
    return lm_data(n=n, seq_len=8, vocab_size=VOCAB, seed=seed)


def args_for(lib, out, **overrides):
    kwargs = dict(
        output_dir=str(out),
        max_steps=6,
        per_device_train_batch_size=4,
        learning_rate=5e-3,
        logging_steps=1,
        save_steps=2,
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        seed=0,
    )
    kwargs.update(overrides)
    return lib.TrainingArguments(**kwargs)


def train(lib, out, resume=None, model=None, **overrides):
    compute_metrics = overrides.pop("_metrics", None)
    run = lib.Trainer(
        model=model if model is not None else lora_model(),
        args=args_for(lib, out, **overrides),
        train_dataset=data(),
        eval_dataset=data(8, seed=1) if overrides.get("eval_strategy") else None,
        compute_metrics=compute_metrics,
    )
    run.train(resume_from_checkpoint=resume)
    return run


def adapter_state(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in peft.get_peft_model_state_dict(model).items()}


def losses(run) -> list[float]:
    return [entry["loss"] for entry in run.state.log_history if "loss" in entry]


def test_lora_trains_like_transformers_and_saves_only_the_adapter(tmp_path):
    ours = train(trainer, tmp_path / "ours")
    theirs = train(transformers, tmp_path / "theirs")
    assert losses(ours) == losses(theirs)
    ours_files = sorted(os.listdir(tmp_path / "ours" / "checkpoint-6"))
    ours_files.remove("data_state.json")  # our data position, which transformers ignores
    theirs_files = sorted(os.listdir(tmp_path / "theirs" / "checkpoint-6"))
    assert ours_files == theirs_files
    assert "adapter_model.safetensors" in ours_files and "adapter_config.json" in ours_files
    assert "model.safetensors" not in ours_files
    a, b = adapter_state(ours.model), adapter_state(theirs.model)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    ours.save_model(str(tmp_path / "final"))
    assert {"adapter_model.safetensors", "adapter_config.json"} <= set(
        os.listdir(tmp_path / "final")
    )


@pytest.mark.parametrize("how", ["path", "true"])
def test_resume_from_adapter_checkpoint_is_bitwise_exact(tmp_path, how):
    full = train(trainer, tmp_path / "full")
    if how == "path":
        resumed = train(trainer, tmp_path / "other", resume=str(tmp_path / "full" / "checkpoint-4"))
    else:  # an interrupted run: its newest checkpoint is checkpoint-4
        shutil.copytree(tmp_path / "full", tmp_path / "interrupted")
        shutil.rmtree(tmp_path / "interrupted" / "checkpoint-6")
        resumed = train(trainer, tmp_path / "interrupted", resume=True)
    a, b = adapter_state(full.model), adapter_state(resumed.model)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert losses(resumed) == losses(full)


def test_resume_of_a_transformers_written_adapter_checkpoint(tmp_path):
    theirs = train(transformers, tmp_path / "theirs")
    ours = train(trainer, tmp_path / "ours", resume=str(tmp_path / "theirs" / "checkpoint-4"))
    a, b = adapter_state(theirs.model), adapter_state(ours.model)
    assert all(torch.equal(a[k], b[k]) for k in a)
    # and the other way: transformers resumes from a checkpoint we wrote
    train(trainer, tmp_path / "ours_full")
    again = train(
        transformers, tmp_path / "again", resume=str(tmp_path / "ours_full" / "checkpoint-4")
    )
    c = adapter_state(again.model)
    assert all(torch.equal(a[k], c[k]) for k in a)


def _scores():
    values = iter([3.0, 1.0, 2.0])  # best at the first evaluation (step 2), not the last

    def compute_metrics(_prediction):
        return {"score": next(values)}

    return compute_metrics


@pytest.mark.parametrize("lib", [trainer, transformers], ids=["ours", "transformers"])
def test_load_best_model_at_end_loads_the_best_adapter(tmp_path, lib):
    run = train(
        lib,
        tmp_path,
        eval_strategy="steps",
        eval_steps=2,
        load_best_model_at_end=True,
        metric_for_best_model="score",
        greater_is_better=True,
        _metrics=_scores(),
    )
    assert run.state.best_model_checkpoint.endswith("checkpoint-2")
    from safetensors.torch import load_file

    saved = load_file(os.path.join(run.state.best_model_checkpoint, "adapter_model.safetensors"))
    current = adapter_state(run.model)
    assert saved.keys() == current.keys()
    assert all(torch.equal(saved[k], current[k]) for k in saved)
    last = load_file(str(tmp_path / "checkpoint-6" / "adapter_model.safetensors"))
    assert not all(torch.equal(last[k], current[k]) for k in last)


def test_gradient_checkpointing_with_adapters(tmp_path):
    overrides = dict(gradient_checkpointing=True, max_steps=3, save_steps=3)
    ours = train(trainer, tmp_path / "ours", **overrides)
    theirs = train(transformers, tmp_path / "theirs", **overrides)
    assert ours.model.base_model.model.model.gradient_checkpointing
    assert losses(ours) == losses(theirs)
    before = adapter_state(lora_model())
    after = adapter_state(ours.model)
    assert any(not torch.equal(before[k], after[k]) for k in before)  # the adapter learned
