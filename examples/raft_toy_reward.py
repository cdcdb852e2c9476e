"""RAFT in a few seconds on a CPU: a tiny causal LM learns to please a toy reward.

Each round samples several responses per prompt from the current model, keeps the best-rewarded
response of every prompt, and fine-tunes on what was kept with :class:`trainer.RaftTrainer`
(model, optimizer and schedule carry over from round to round). The toy reward is the share of
response tokens drawn from a small "liked" part of the vocabulary, so a model that starts at
chance (about 0.25) climbs towards 1 round after round.

Run it with ``uv run python examples/raft_toy_reward.py`` (add ``--rounds 8`` for more rounds).
"""

from __future__ import annotations

import argparse
import tempfile

import torch
from torch import nn
from trainer import RaftTrainer, TrainingArguments, set_seed

VOCAB = 16
LIKED = 4  # tokens 0..3 are the ones the reward likes
RESPONSE_LEN = 8


class BigramLM(nn.Module):
    """The smallest causal LM: the next token's logits depend on the current token only."""

    def __init__(self, vocab: int = VOCAB) -> None:
        super().__init__()
        self.table = nn.Embedding(vocab, vocab)
        nn.init.zeros_(self.table.weight)  # uniform next-token distribution at the start

    def forward(self, input_ids: torch.Tensor, labels: torch.Tensor | None = None):
        logits = self.table(input_ids)
        if labels is None:
            return {"logits": logits}
        loss = nn.functional.cross_entropy(
            logits[:, :-1].reshape(-1, logits.size(-1)), labels[:, 1:].reshape(-1)
        )
        return {"loss": loss, "logits": logits}

    @torch.no_grad()
    def sample(self, prompts: torch.Tensor, length: int, generator: torch.Generator):
        tokens = prompts
        for _ in range(length):
            probs = self.table(tokens[:, -1]).softmax(-1)
            tokens = torch.cat([tokens, torch.multinomial(probs, 1, generator=generator)], dim=1)
        return tokens


def reward(responses: torch.Tensor) -> torch.Tensor:
    """Share of response tokens in the liked part of the vocabulary (0 to 1)."""
    return (responses < LIKED).float().mean(-1)


def best_of(model: BigramLM, prompts: torch.Tensor, samples: int, generator) -> tuple[list, float]:
    """Sample ``samples`` responses per prompt; keep each prompt's best. Returns (kept, mean reward)."""
    model.eval()
    repeated = prompts.repeat_interleave(samples, dim=0)
    sequences = model.sample(repeated, RESPONSE_LEN, generator)
    scores = reward(sequences[:, 1:]).view(len(prompts), samples)
    best = scores.argmax(-1) + torch.arange(len(prompts)) * samples
    kept = []
    for row in sequences[best]:
        labels = row.clone()
        labels[0] = -100  # no loss on the prompt
        kept.append({"input_ids": row, "labels": labels})
    return kept, scores.mean().item()


def main(rounds: int = 5, prompts_per_round: int = 32, samples: int = 8, seed: int = 0) -> list:
    """Run ``rounds`` RAFT rounds; returns the mean sampled reward of every round."""
    set_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = BigramLM()
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out,
            per_device_train_batch_size=8,
            num_train_epochs=2,
            learning_rate=0.3,
            lr_scheduler_type="constant",
            save_strategy="no",
            report_to="none",
            use_cpu=True,
            disable_tqdm=True,
            logging_steps=100,
            seed=seed,
        )
        trainer = RaftTrainer(model=model, args=args)
        rewards = []
        for round_index in range(rounds):
            prompts = torch.randint(0, VOCAB, (prompts_per_round, 1), generator=generator)
            kept, mean_reward = best_of(trainer.model, prompts, samples, generator)
            rewards.append(mean_reward)
            print(f"round {round_index}: mean reward of the samples {mean_reward:.3f}")
            trainer.train_dataset = kept
            trainer.train(is_first_time=round_index == 0)
    return rewards


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    cli = parser.parse_args()
    main(rounds=cli.rounds, seed=cli.seed)
