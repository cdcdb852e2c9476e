"""Fixtures for trainer_seq2seq tests: a toy tokenizer, a toy seq2seq module and a tiny T5.

The toy classes need only torch, so most tests also run where transformers is not installed;
``tiny_t5`` skips when it is missing. Everything is built in memory: nothing is downloaded.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

PAD, EOS, START, VOCAB = 0, 1, 0, 32


class ToyTokenizer:
    """Enough of a tokenizer for ``DataCollatorForSeq2Seq`` and the trainer's padding."""

    pad_token_id = PAD
    eos_token_id = EOS
    padding_side = "right"
    model_input_names = ["input_ids", "attention_mask"]

    def pad(self, features, padding=True, max_length=None, pad_to_multiple_of=None, **_):
        width = max(len(f["input_ids"]) for f in features)
        if padding == "max_length" and max_length is not None:
            width = max_length
        if pad_to_multiple_of:
            width = -(-width // pad_to_multiple_of) * pad_to_multiple_of
        batch = {"input_ids": [], "attention_mask": []}
        for f in features:
            ids = [int(t) for t in f["input_ids"]]
            fill = width - len(ids)
            batch["input_ids"].append(ids + [PAD] * fill)
            batch["attention_mask"].append([1] * len(ids) + [0] * fill)
        return {k: torch.tensor(v, dtype=torch.long) for k, v in batch.items()}


class ToySeq2Seq(nn.Module):
    """A minimal encoder-decoder: mean-pooled encoder, one-token-context decoder, greedy generate.

    ``generate`` records the keyword arguments of every call in ``generate_calls``. It stops after
    ``max_new_tokens`` new tokens, else when the output reaches ``max_length`` (default 6), or
    earlier once every row has produced ``stop_at`` (``None``: never stops early).
    """

    def __init__(self, seed: int = 0, with_config: bool = True):
        super().__init__()
        torch.manual_seed(seed)
        self.embed = nn.Embedding(VOCAB, 8)
        self.head = nn.Linear(8, VOCAB)
        if with_config:
            self.config = SimpleNamespace(pad_token_id=PAD, eos_token_id=EOS)
        self.generate_calls: list[dict] = []
        self.stop_at: int | None = None

    def _context(self, input_ids, attention_mask):
        mask = (
            attention_mask if attention_mask is not None else torch.ones_like(input_ids)
        ).unsqueeze(-1)
        return (self.embed(input_ids) * mask).sum(1) / mask.sum(1).clamp(min=1)

    def forward(self, input_ids, attention_mask=None, labels=None, decoder_input_ids=None):
        if decoder_input_ids is None:
            decoder_input_ids = self.prepare_decoder_input_ids_from_labels(labels)
        hidden = self.embed(decoder_input_ids) + self._context(input_ids, attention_mask)[:, None]
        logits = self.head(hidden)
        if labels is None:
            return {"logits": logits}
        loss = nn.functional.cross_entropy(
            logits.flatten(0, 1), labels.flatten(), ignore_index=-100
        )
        return {"loss": loss, "logits": logits}

    def prepare_decoder_input_ids_from_labels(self, labels):
        start = torch.full_like(labels[:, :1], START)
        return torch.cat([start, labels[:, :-1].clamp(min=0)], dim=1)

    def generate(self, input_ids, attention_mask=None, **kwargs):
        self.generate_calls.append({"keys": sorted(kwargs), **kwargs})
        for banned in ("labels", "decoder_input_ids", "decoder_attention_mask"):
            assert banned not in kwargs, f"generate() got {banned}"
        if kwargs.get("max_new_tokens") is not None:
            steps = kwargs["max_new_tokens"]
        else:
            steps = (kwargs.get("max_length") or 6) - 1
        context = self._context(input_ids, attention_mask)
        out = torch.full((input_ids.shape[0], 1), START, dtype=torch.long)
        for _ in range(steps):
            logits = self.head(self.embed(out[:, -1]) + context)
            out = torch.cat([out, logits.argmax(-1, keepdim=True)], dim=1)
            if self.stop_at is not None and (out == self.stop_at).any(1).all():
                break
        return out


def toy_examples(n: int = 7, seed: int = 0, label_lengths=(2, 3, 4, 5)) -> list[dict]:
    """Examples with variable input and label lengths (tokens 2..VOCAB-1)."""
    g = torch.Generator().manual_seed(seed)
    examples = []
    for i in range(n):
        ids = torch.randint(2, VOCAB, (3 + i % 3,), generator=g).tolist()
        labels = torch.randint(2, VOCAB, (label_lengths[i % len(label_lengths)],), generator=g)
        examples.append({"input_ids": ids, "labels": labels.tolist()})
    return examples


def fixed_examples(n: int = 8, seed: int = 0, in_len: int = 5, label_len: int = 3) -> list[dict]:
    """Examples of one input and label length, as tensors (no collator needed)."""
    g = torch.Generator().manual_seed(seed)
    return [
        {
            "input_ids": torch.randint(2, VOCAB, (in_len,), generator=g),
            "attention_mask": torch.ones(in_len, dtype=torch.long),
            "labels": torch.randint(2, VOCAB, (label_len,), generator=g),
        }
        for _ in range(n)
    ]


def make_tiny_t5(seed: int = 0):
    """A T5 with one tiny layer each side and random weights (needs transformers)."""
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(seed)
    config = transformers.T5Config(
        vocab_size=VOCAB,
        d_model=16,
        d_kv=8,
        d_ff=32,
        num_layers=1,
        num_decoder_layers=1,
        num_heads=2,
        decoder_start_token_id=START,
        pad_token_id=PAD,
        eos_token_id=EOS,
        initializer_factor=10.0,  # at the default scale a random T5 generates only pad tokens
    )
    return transformers.T5ForConditionalGeneration(config)


@pytest.fixture
def toy_parts():
    return SimpleNamespace(
        Tokenizer=ToyTokenizer,
        Model=ToySeq2Seq,
        examples=toy_examples,
        fixed=fixed_examples,
        tiny_t5=make_tiny_t5,
        PAD=PAD,
        EOS=EOS,
        VOCAB=VOCAB,
    )
