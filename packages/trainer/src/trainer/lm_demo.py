"""The main job (``trainer demo``): fine-tune a tiny GPT-style model on the bundled text.

Everything ships with the package: the text (``trainer/data/corpus.txt``, written for this demo),
a byte-level tokenizer and the model code. About two minutes on two CPU cores: a progress bar,
evaluation perplexity per byte falling from about 250 (guessing) to about 4.5, a sample before and
after, checkpoints, a loss-curve PNG and a summary of where the files are. The last lines include
``eval perplexity per byte: B before training, A after`` for scripts to read.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent / "data" / "corpus.txt"
PROMPT = "The lighthouse"
# 800 steps of 32 blocks of 64 bytes: the text about 25 times over. Shorter blocks than the model
# could take learn more per second on a CPU (attention costs grow with the square of the length)
BLOCK = 64
BATCH = 32
STEPS = 800
# a little wider than TinyGPTConfig's defaults; no dropout on the attention weights, which would
# make CPU attention about twice as slow, but dropout elsewhere, since the text is seen many times
MODEL_SIZES = {"n_embd": 128, "n_layer": 2, "n_head": 4, "dropout": 0.1, "attn_dropout": 0.0}
# sampling from the sharpest part of the distribution: after training the sample reads as words
# of the text; before training it is noise whatever the temperature
TEMPERATURE = 0.5
TOP_K = 10
RESULT_LINE = re.compile(
    r"eval perplexity per byte: (?P<before>[\d.]+) before training, (?P<after>[\d.]+) after"
)


def paragraphs(path: str | os.PathLike = CORPUS) -> list[str]:
    """The corpus as paragraphs (blank-line separated, lines rejoined)."""
    text = Path(path).read_text(encoding="utf-8")
    return [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]


def split_corpus(parts: list[str], every: int = 10) -> tuple[list[str], list[str]]:
    """Every ``every``-th paragraph is held out for evaluation."""
    held = [p for i, p in enumerate(parts) if i % every == every // 2]
    kept = [p for i, p in enumerate(parts) if i % every != every // 2]
    return kept, held


def sample(model: Any, tokenizer: Any, prompt: str = PROMPT, tokens: int = 120) -> str:
    """A seeded sample continuing ``prompt`` (temperature ``TEMPERATURE``, top ``TOP_K`` bytes)."""
    import torch

    device = next(model.parameters()).device
    ids = torch.tensor([tokenizer.encode(prompt)], device=device)
    out = model.generate(ids, max_new_tokens=tokens, temperature=TEMPERATURE, top_k=TOP_K, seed=0)
    return tokenizer.decode(out[0])


def known_words(text: str, reference: str) -> tuple[int, int]:
    """How many of the words ``text`` adds after the prompt occur in ``reference``, out of how many.

    The sample's last word is left out, since the sample may stop inside it.
    """
    vocabulary = set(re.findall(r"[a-z]+", reference.lower()))
    words = re.findall(r"[a-z]+", text.removeprefix(PROMPT).lower())[:-1]
    return sum(w in vocabulary for w in words), len(words)


def read_result(printed: str) -> tuple[float, float]:
    """``(before, after)`` from the demo's ``eval perplexity per byte: ...`` line."""
    found = RESULT_LINE.search(printed)
    if found is None:
        raise ValueError("no 'eval perplexity per byte: B before training, A after' line")
    return float(found["before"]), float(found["after"])


def default_arguments(output_dir: str, max_steps: int) -> Any:
    """The demo's TrainingArguments: evaluation and a checkpoint every quarter of the run."""
    from trainer_args import TrainingArguments

    quarter = max(1, max_steps // 4)
    return TrainingArguments(
        output_dir=output_dir,
        max_steps=max_steps,
        per_device_train_batch_size=BATCH,
        per_device_eval_batch_size=32,
        learning_rate=4e-3,
        weight_decay=0.01,
        warmup_steps=0.05,
        lr_scheduler_type="cosine",
        logging_steps=max(1, max_steps // 20),
        eval_strategy="steps",
        eval_steps=quarter,
        save_strategy="steps",
        save_steps=quarter,
        save_total_limit=2,
        report_to="none",
        use_cpu=True,
        seed=0,
    )


def run(
    output_dir: str = "output/harbour-gpt", max_steps: int = STEPS, **sizes: Any
) -> dict[str, Any]:
    """Train, evaluate, sample, plot and save; returns perplexities and file locations.

    ``sizes`` override ``MODEL_SIZES`` and the other :class:`~trainer.tiny_gpt.TinyGPTConfig`
    fields (``n_embd=96``, ...).
    """
    import torch

    threads = torch.get_num_threads()
    if "OMP_NUM_THREADS" not in os.environ:
        # the matrices are small: one thread is as fast on an idle machine, and several threads
        # waiting on each other make a busy machine many times slower
        torch.set_num_threads(1)
    try:
        return _train(output_dir, max_steps, sizes)
    finally:
        torch.set_num_threads(threads)


def _train(output_dir: str, max_steps: int, sizes: dict[str, Any]) -> dict[str, Any]:
    from trainer_loop import Trainer

    from trainer import lm_data
    from trainer.byte_tokenizer import ByteTokenizer
    from trainer.tiny_gpt import TinyGPTConfig, build_tiny_gpt

    tokenizer = ByteTokenizer()
    train_text, eval_text = split_corpus(paragraphs())
    train = lm_data.packed_dataset(tokenizer, train_text, BLOCK)
    evaluation = lm_data.packed_dataset(tokenizer, eval_text, BLOCK)
    sizes = {"vocab_size": len(tokenizer), "n_positions": BLOCK, **MODEL_SIZES, **sizes}
    model = build_tiny_gpt(**TinyGPTConfig(**sizes).to_dict())
    args = default_arguments(output_dir, max_steps)
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train,
        eval_dataset=evaluation,
        data_collator=lm_data.CausalLMCollator(tokenizer.pad_token_id),
        processing_class=tokenizer,
        compute_metrics=lm_data.perplexity,
        preprocess_logits_for_metrics=lm_data.token_losses,
    )
    size = sum(p.numel() for p in model.parameters())
    print(
        f"Tiny GPT: {size / 1e6:.2f}M parameters, {len(train)} training and {len(evaluation)} "
        f"evaluation blocks of {BLOCK} bytes from {CORPUS.name}\n"
    )
    before_text = sample(model, tokenizer)
    start = trainer.evaluate()
    before = start["eval_perplexity"]
    print(f"\nBefore training (eval perplexity per byte {before:.1f}):\n  {before_text!r}\n")
    trainer.train()
    # training starts a fresh log; keep the starting point so the curves begin at step 0
    trainer.state.log_history.insert(
        0, {"step": 0, "eval_loss": start["eval_loss"], "eval_perplexity": before}
    )
    after = trainer.evaluate()["eval_perplexity"]
    after_text = sample(model, tokenizer)
    found, words = known_words(after_text, CORPUS.read_text(encoding="utf-8"))
    print(f"\nAfter training (eval perplexity per byte {after:.1f}):\n  {after_text!r}")
    print(f"  ({found} of its {words} words occur in the text)\n")
    trainer.save_model()
    trainer.save_state()
    return _finish(trainer, args.output_dir, before, after)


def _finish(trainer: Any, output_dir: str, before: float, after: float) -> dict[str, Any]:
    metrics = {"perplexity_before": before, "perplexity_after": after}
    trainer.save_metrics("demo", metrics)
    plot_file = None
    try:
        from trainer.plot import plot_run

        plot_file = str(plot_run(output_dir))
    except ImportError as err:
        print(f"(no loss-curve PNG: {err})")
    checkpoints = sorted(p.name for p in Path(output_dir).glob("checkpoint-*"))
    root = os.path.abspath(output_dir)
    print(f"eval perplexity per byte: {before:.1f} before training, {after:.1f} after")
    print(f"Final model and tokenizer: {root}")
    print(f"Checkpoints: {', '.join(os.path.join(root, c) for c in checkpoints) or 'none'}")
    if plot_file:
        print(f"Loss curves: {os.path.abspath(plot_file)}")
    print(f"Training log: {os.path.join(root, 'trainer_state.json')}")
    return {**metrics, "output_dir": root, "checkpoints": checkpoints, "plot": plot_file}
