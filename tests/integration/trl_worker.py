"""Runs TRL's trainers on one backend and writes what they logged and saved, as JSON.

``python trl_worker.py ours|transformers OUT_DIR SCENARIO [SCENARIO ...]``: with ``ours``,
``trainer.install_as_transformers()`` runs before TRL is imported, so TRL's classes subclass this
project's ``Trainer`` and ``TrainingArguments``. The test runs both backends and compares.
"""

from __future__ import annotations

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/, for helpers

BACKEND, OUT = sys.argv[1], sys.argv[2]
SCENARIOS = sys.argv[3:]
if BACKEND == "ours":
    import trainer

    trainer.install_as_transformers()

import datasets  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from helpers.tiny_lm import (  # noqa: E402
    sentences,
    tiny_causal_lm,
    tiny_sequence_classifier,
    tiny_tokenizer,
)

COMMON = dict(
    report_to="none",
    use_cpu=True,
    bf16=False,
    seed=0,
    disable_tqdm=True,
    dataloader_num_workers=0,
)
VOLATILE = ("runtime", "per_second", "total_flos", "step_time")
#: What most scenarios share; each passes what differs.
RUN = dict(per_device_train_batch_size=4, logging_steps=1, learning_rate=1e-3, **COMMON)


def _config(cls, out_dir: str, **overrides):
    return cls(output_dir=out_dir, **{**RUN, **overrides})


def _history(trainer_obj) -> list[dict]:
    return [
        {k: v for k, v in entry.items() if not any(word in k for word in VOLATILE)}
        for entry in trainer_obj.state.log_history
    ]


def _files(root: str) -> dict[str, list[str]]:
    # data_state*.json (the data position) is this project's own; transformers ignores it.
    return {
        name: sorted(
            n for n in os.listdir(os.path.join(root, name)) if not n.startswith("data_state")
        )
        for name in sorted(os.listdir(root))
        if name.startswith("checkpoint-")
    }


def _weights_digest(model) -> float:
    return float(sum(p.detach().double().abs().sum() for p in model.parameters()))


def _result(t, out_dir: str) -> dict:
    return {
        "history": _history(t),
        "files": _files(out_dir),
        "weights": _weights_digest(t.model),
        "trainer_base": [c.__module__ for c in type(t).__mro__ if c.__name__ == "Trainer"],
    }


def sft_text(out_dir: str) -> dict:
    from trl import SFTConfig, SFTTrainer

    data = datasets.Dataset.from_dict({"text": sentences(24)})
    args = _config(
        SFTConfig,
        out_dir,
        max_steps=6,
        gradient_accumulation_steps=2,
        logging_steps=2,
        save_steps=3,
    )
    t = SFTTrainer(
        model=tiny_causal_lm(), args=args, train_dataset=data, processing_class=tiny_tokenizer()
    )
    t.train()
    return _result(t, out_dir)


def sft_resume(out_dir: str) -> dict:
    """Train 6 steps saving every 3, then resume a fresh trainer from checkpoint-3."""
    from trl import SFTConfig, SFTTrainer

    data = datasets.Dataset.from_dict({"text": sentences(24)})

    def build(output_dir):
        args = _config(SFTConfig, output_dir, max_steps=6, save_steps=3)
        return SFTTrainer(
            model=tiny_causal_lm(), args=args, train_dataset=data, processing_class=tiny_tokenizer()
        )

    full = build(out_dir)
    full.train()
    resumed = build(out_dir)
    resumed.train(resume_from_checkpoint=os.path.join(out_dir, "checkpoint-3"))
    full_state = {k: v.detach().clone() for k, v in full.model.state_dict().items()}
    same = all(torch.equal(full_state[k], v) for k, v in resumed.model.state_dict().items())
    return {
        "history": _history(resumed),
        "full_history": _history(full),
        "resumed_equals_uninterrupted": same,
    }


def sft_prompt_completion(out_dir: str) -> dict:
    from trl import SFTConfig, SFTTrainer

    texts = sentences(16, seed=1)
    data = datasets.Dataset.from_dict(
        {"prompt": [t[:20] for t in texts], "completion": [" " + t[20:] for t in texts]}
    )
    data = data.map(
        lambda e: {
            "prompt": " ".join(e["prompt"].split()[:3]),
            "completion": " ".join(e["completion"].split()[:4]),
        }
    )
    args = _config(SFTConfig, out_dir, max_steps=4, save_steps=4)
    t = SFTTrainer(
        model=tiny_causal_lm(), args=args, train_dataset=data, processing_class=tiny_tokenizer()
    )
    t.train()
    return _result(t, out_dir)


def sft_packing(out_dir: str) -> dict:
    from trl import SFTConfig, SFTTrainer

    data = datasets.Dataset.from_dict({"text": sentences(32, seed=2, length=5)})
    args = _config(
        SFTConfig,
        out_dir,
        max_steps=4,
        per_device_train_batch_size=2,
        save_steps=4,
        packing=True,
        max_length=16,
    )
    t = SFTTrainer(
        model=tiny_causal_lm(), args=args, train_dataset=data, processing_class=tiny_tokenizer()
    )
    t.train()
    return _result(t, out_dir)


def _preferences(n: int, seed: int) -> datasets.Dataset:
    texts = sentences(3 * n, seed=seed, length=4)
    return datasets.Dataset.from_dict(
        {"prompt": texts[:n], "chosen": texts[n : 2 * n], "rejected": texts[2 * n :]}
    )


def dpo(out_dir: str) -> dict:
    from trl import DPOConfig, DPOTrainer

    args = _config(
        DPOConfig,
        out_dir,
        max_steps=4,
        save_steps=4,
        eval_strategy="steps",
        eval_steps=2,
        per_device_eval_batch_size=4,
    )
    t = DPOTrainer(
        model=tiny_causal_lm(),
        ref_model=tiny_causal_lm(),
        args=args,
        train_dataset=_preferences(16, 3),
        eval_dataset=_preferences(8, 4),
        processing_class=tiny_tokenizer(),
    )
    t.train()
    return _result(t, out_dir)


def reward(out_dir: str) -> dict:
    from trl import RewardConfig, RewardTrainer

    args = _config(
        RewardConfig,
        out_dir,
        max_steps=4,
        save_steps=4,
        eval_strategy="steps",
        eval_steps=2,
        per_device_eval_batch_size=4,
    )
    data = _preferences(16, 5).map(
        lambda e: {
            "chosen": e["prompt"] + " " + e["chosen"],
            "rejected": e["prompt"] + " " + e["rejected"],
        },
        remove_columns=["prompt"],
    )
    evald = _preferences(8, 6).map(
        lambda e: {"chosen": e["chosen"], "rejected": e["rejected"]}, remove_columns=["prompt"]
    )
    t = RewardTrainer(
        model=tiny_sequence_classifier(),
        args=args,
        train_dataset=data,
        eval_dataset=evald,
        processing_class=tiny_tokenizer(),
    )
    t.train()
    return _result(t, out_dir)


def _length_reward(completions, **kwargs):
    return [float(len(c.split())) for c in completions]


def _prompts(n: int) -> datasets.Dataset:
    return datasets.Dataset.from_dict({"prompt": sentences(n, seed=7, length=3)})


def grpo(out_dir: str) -> dict:
    from trl import GRPOConfig, GRPOTrainer

    args = _config(
        GRPOConfig,
        out_dir,
        max_steps=3,
        num_generations=2,
        max_completion_length=4,
        save_steps=3,
        gradient_accumulation_steps=2,
    )
    t = GRPOTrainer(
        model=tiny_causal_lm(),
        reward_funcs=_length_reward,
        args=args,
        train_dataset=_prompts(16),
        processing_class=tiny_tokenizer(),
    )
    t.train()
    return _result(t, out_dir)


def grpo_iterable(out_dir: str) -> dict:
    """GRPO on a streamed prompt set, evaluated on another stream (no sampler can be built)."""
    from trl import GRPOConfig, GRPOTrainer

    args = _config(
        GRPOConfig,
        out_dir,
        max_steps=2,
        num_generations=2,
        max_completion_length=4,
        save_strategy="no",
        per_device_eval_batch_size=4,
    )
    t = GRPOTrainer(
        model=tiny_causal_lm(),
        reward_funcs=_length_reward,
        args=args,
        train_dataset=_prompts(16).to_iterable_dataset(),
        processing_class=tiny_tokenizer(),
    )
    t.train()
    metrics = t.evaluate(eval_dataset={"a": _prompts(4).to_iterable_dataset()})
    return {**_result(t, out_dir), "eval_keys": sorted(metrics)}


def rloo(out_dir: str) -> dict:
    from trl import RLOOConfig, RLOOTrainer

    args = _config(
        RLOOConfig, out_dir, max_steps=3, num_generations=2, max_completion_length=4, save_steps=3
    )
    # With beta > 0 RLOO loads a reference model by name: give it a local folder.
    base = os.path.join(out_dir, "base-model")
    tiny_causal_lm().save_pretrained(base)
    t = RLOOTrainer(
        model=base,
        reward_funcs=_length_reward,
        args=args,
        train_dataset=_prompts(16),
        processing_class=tiny_tokenizer(),
    )
    t.train()
    return _result(t, out_dir)


def main() -> None:
    results = {}
    for name in SCENARIOS:
        transformers.set_seed(0)
        out_dir = os.path.join(OUT, BACKEND, name)
        try:
            results[name] = globals()[name](out_dir)
        except Exception as err:  # reported to the test, which names the scenario
            import traceback

            results[name] = {
                "error": f"{type(err).__name__}: {err}",
                "trace": traceback.format_exc(),
            }
    with open(os.path.join(OUT, f"{BACKEND}.json"), "w") as handle:
        json.dump(results, handle, indent=1, default=str)


if __name__ == "__main__":
    main()
