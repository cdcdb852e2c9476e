"""Tiny language models and a tokenizer built here, for tests of libraries that need them (TRL, PEFT).

Nothing is downloaded: the tokenizer is a word-level vocabulary over a fixed word list (plus
special tokens and a chat template), the models are transformers Qwen2 models from a small config
with random weights.
"""

from __future__ import annotations

import torch

_WORD_TEXT = (
    "the a an is are was be to of and in on for with it this that what who how why when where "
    "cat dog bird fish tree sky sun moon star blue red green big small fast slow good bad yes no "
    "one two three four five six seven eight nine ten hello world answer question user assistant "
    "tell me about say color number name day night water fire earth air happy sad"
)
WORDS = _WORD_TEXT.split()

SPECIAL = ["<pad>", "<unk>", "<|im_start|>", "<|im_end|>", "<eos>"]

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|> ' + message['role'] + ' ' + message['content'] + ' <|im_end|> ' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|> assistant ' }}{% endif %}"
)


def tiny_tokenizer():
    """A ``PreTrainedTokenizerFast`` with a word-level vocabulary, pad/eos tokens and a chat template."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(SPECIAL + list(WORDS))}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="<pad>",
        unk_token="<unk>",
        eos_token="<eos>",
        bos_token=None,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def _qwen2_config(**extra):
    from transformers import Qwen2Config

    settings = dict(
        vocab_size=len(SPECIAL) + len(WORDS),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=64,
        pad_token_id=0,
        eos_token_id=4,
    )
    settings.update(extra)
    return Qwen2Config(**settings)


def tiny_causal_lm(seed: int = 0, vocab_size: int | None = None):
    """A two-layer Qwen2 causal LM with hidden size 16 and random weights."""
    from transformers import Qwen2ForCausalLM

    torch.manual_seed(seed)
    extra = {"vocab_size": vocab_size} if vocab_size else {}
    return Qwen2ForCausalLM(_qwen2_config(bos_token_id=None, tie_word_embeddings=True, **extra))


def tiny_sequence_classifier(seed: int = 0, num_labels: int = 1):
    """A two-layer Qwen2 sequence classifier (a reward model when ``num_labels=1``)."""
    from transformers import Qwen2ForSequenceClassification

    torch.manual_seed(seed)
    return Qwen2ForSequenceClassification(_qwen2_config(num_labels=num_labels))


def sentences(n: int, seed: int = 0, length: int = 8) -> list[str]:
    """``n`` random sentences of vocabulary words (deterministic for a seed)."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, len(WORDS), (n, length), generator=g)
    return [" ".join(WORDS[i] for i in row) for row in idx.tolist()]


def tiny_bart(vocab_size: int = 64, **config):
    """A one-layer BART (width 16) with random weights, seeded; ``config`` adds or replaces fields."""
    from transformers import BartConfig, BartForConditionalGeneration

    torch.manual_seed(0)
    settings = dict(
        vocab_size=vocab_size,
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=16,
        decoder_ffn_dim=16,
        max_position_embeddings=32,
    )
    settings.update(config)
    return BartForConditionalGeneration(BartConfig(**settings))
