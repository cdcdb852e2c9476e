"""A word-level fast tokenizer built in memory (needs transformers and tokenizers)."""

from __future__ import annotations

WORDS = ["hello", "world", "the", "cat", "sat", "on", "mat", "a", "dog", "ran", "far", "away"]

SENTENCES = [
    "hello world",
    "the cat sat on the mat",
    "a dog ran far away",
    "the dog",
    "hello",
    "the cat sat on a mat far away hello world",
    "a cat ran",
    "world on the mat",
]


def word_tokenizer(padding_side: str = "right"):
    """[PAD]/[UNK]/[CLS]/[SEP]/[MASK] plus :data:`WORDS`; sentences get ``[CLS] ... [SEP]``."""
    import tokenizers
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
