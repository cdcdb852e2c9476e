"""Fixtures for trainer_data tests: a tiny offline tokenizer (only when transformers is installed)."""

from __future__ import annotations

import pytest

WORDS = ["hello", "world", "the", "cat", "sat", "on", "mat", "a", "dog", "ran", "far", "away"]


def make_tokenizer(padding_side: str = "right"):
    """A word-level fast tokenizer with [PAD]/[UNK]/[CLS]/[SEP]/[MASK], built in memory."""
    pytest.importorskip("transformers")
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers import models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = {tok: i for i, tok in enumerate(specials + WORDS)}
    core = tokenizers.Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        padding_side=padding_side,
    )


@pytest.fixture(scope="session")
def tokenizer():
    return make_tokenizer()


@pytest.fixture(scope="session")
def left_tokenizer():
    return make_tokenizer("left")


SENTENCES = [
    "hello world",
    "the cat sat on the mat",
    "a dog ran far away",
    "the dog",
    "hello",
    "the cat sat on a mat far away hello world",
]


@pytest.fixture(scope="session")
def sentences():
    return list(SENTENCES)
