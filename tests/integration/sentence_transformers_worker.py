"""Trains a tiny SentenceTransformer with its own trainer on one backend; writes the losses.

``python sentence_transformers_worker.py ours|transformers OUT_DIR``: with ``ours``,
``trainer.install_as_transformers()`` runs first, so ``SentenceTransformerTrainer`` subclasses this
project's ``Trainer``.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

BACKEND, OUT = sys.argv[1], sys.argv[2]
if BACKEND == "ours":
    import trainer

    trainer.install_as_transformers()

import datasets  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from helpers.tiny_lm import sentences, tiny_tokenizer  # noqa: E402
from sentence_transformers import (  # noqa: E402
    SentenceTransformer,
    SentenceTransformerTrainer,
    SentenceTransformerTrainingArguments,
    losses,
)


def tiny_encoder_folder(path: str) -> str:
    """A two-layer BERT with random weights and the word-level tokenizer, saved to ``path``."""
    torch.manual_seed(0)
    tokenizer = tiny_tokenizer()
    config = transformers.BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        pad_token_id=0,
    )
    transformers.BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def main() -> None:
    out_dir = os.path.join(OUT, BACKEND)
    transformers.set_seed(0)
    model = SentenceTransformer(tiny_encoder_folder(os.path.join(out_dir, "base")), device="cpu")
    first, second = sentences(24, seed=1, length=5), sentences(24, seed=2, length=5)
    score = [float(a.split()[0] == b.split()[0]) for a, b in zip(first, second)]
    train = datasets.Dataset.from_dict({"sentence1": first, "sentence2": second, "score": score})
    args = SentenceTransformerTrainingArguments(
        output_dir=os.path.join(out_dir, "run"),
        max_steps=6,
        per_device_train_batch_size=4,
        learning_rate=1e-3,
        logging_steps=1,
        save_steps=3,
        report_to="none",
        use_cpu=True,
        seed=0,
        disable_tqdm=True,
        eval_strategy="steps",
        eval_steps=3,
    )
    run = SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=train,
        eval_dataset=train.select(range(8)),
        loss=losses.CosineSimilarityLoss(model),
    )
    run.train()
    history = [
        {k: v for k, v in e.items() if "runtime" not in k and "per_second" not in k}
        for e in run.state.log_history
    ]
    files = sorted(
        name
        for name in os.listdir(os.path.join(out_dir, "run", "checkpoint-6"))
        if not name.startswith("data_state")  # ours only; transformers ignores it
    )
    base = [c.__module__ for c in type(run).__mro__ if c.__name__ == "Trainer"]
    with open(os.path.join(OUT, f"{BACKEND}.json"), "w") as handle:
        json.dump(
            {
                "history": history,
                "files": files,
                "trainer_base": base,
            },
            handle,
        )


if __name__ == "__main__":
    main()
