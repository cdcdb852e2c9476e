"""Tokenizers for ``trainer train``: a local folder, the byte tokenizer, or one trained at start-up.

A trained tokenizer (``model.tokenizer: {train: bpe, vocab_size: 2000}``) is fitted on the
training split's text in a few seconds with the ``tokenizers`` library and wrapped as a
transformers fast tokenizer, so nothing is downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from trainer.byte_tokenizer import ByteTokenizer

PAD, UNK, CLS, SEP, EOS = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[EOS]"


def needs_transformers(what: str) -> ImportError:
    """The error raised when an optional transformers-based path is used without it."""
    return ImportError(f'{what} needs transformers: pip install "trainer[transformers]"')


def load_local(path: str) -> Any:
    """``AutoTokenizer`` from a local folder (never downloads)."""
    try:
        from transformers import AutoTokenizer
    except ImportError as err:
        raise needs_transformers(f"model.tokenizer={path!r}") from err
    return AutoTokenizer.from_pretrained(path, local_files_only=True)


def fit_tokenizer(spec: dict[str, Any], task: str, texts: Iterable[str]) -> Any:
    """Fit a ``tokenizers.Tokenizer`` (``bpe``, ``wordpiece`` or ``wordlevel``) on ``texts``.

    Classification tasks get ``[CLS] ... [SEP]`` around each text, seq2seq ends each text with
    ``[EOS]``, causal-lm adds nothing (documents are joined with ``[EOS]`` when packing).
    """
    try:
        from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
        from tokenizers.processors import TemplateProcessing
    except ImportError as err:
        raise needs_transformers("a trained model.tokenizer") from err
    kind = spec["train"]
    vocab_size = int(spec.get("vocab_size", 2000))
    specials = [PAD, UNK, CLS, SEP, EOS]
    if kind == "bpe":
        tokenizer = Tokenizer(models.BPE(unk_token=UNK))
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials)
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
    elif kind == "wordpiece":
        tokenizer = Tokenizer(models.WordPiece(unk_token=UNK))
        trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=specials)
        tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
        tokenizer.decoder = decoders.WordPiece()
    else:
        tokenizer = Tokenizer(models.WordLevel(unk_token=UNK))
        trainer = trainers.WordLevelTrainer(vocab_size=vocab_size, special_tokens=specials)
        tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    if spec.get("lowercase", False):
        tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.train_from_iterator(texts, trainer=trainer)
    ids = {token: tokenizer.token_to_id(token) for token in specials}
    if task in ("sequence-classification", "token-classification"):
        tokenizer.post_processor = TemplateProcessing(
            single=f"{CLS} $A {SEP}",
            pair=f"{CLS} $A {SEP} $B:1 {SEP}:1",
            special_tokens=[(CLS, ids[CLS]), (SEP, ids[SEP])],
        )
    elif task == "seq2seq":
        tokenizer.post_processor = TemplateProcessing(
            single=f"$A {EOS}", pair=f"$A {EOS} $B:1 {EOS}:1", special_tokens=[(EOS, ids[EOS])]
        )
    return tokenizer


def wrap(tokenizer: Any) -> Any:
    """A transformers fast tokenizer around a fitted ``tokenizers.Tokenizer``."""
    try:
        from transformers import PreTrainedTokenizerFast
    except ImportError as err:
        raise needs_transformers("a trained model.tokenizer") from err
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token=PAD,
        unk_token=UNK,
        cls_token=CLS,
        sep_token=SEP,
        eos_token=EOS,
    )


def train_tokenizer(spec: dict[str, Any], task: str, texts: Iterable[str]) -> Any:
    """:func:`fit_tokenizer` then :func:`wrap`.

    When several processes run, only rank 0 fits (some trainers, WordPiece among them, break
    ties differently from run to run) and the others receive its result, so every process
    tokenises alike.
    """
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
        return wrap(fit_tokenizer(spec, task, texts))
    from tokenizers import Tokenizer

    payload = [fit_tokenizer(spec, task, texts).to_str() if dist.get_rank() == 0 else None]
    dist.broadcast_object_list(payload, src=0)
    return wrap(Tokenizer.from_str(payload[0]))


def build_tokenizer(config: Any, texts: Iterable[str], checkpoint: str | None = None) -> Any:
    """The tokenizer a :class:`~trainer.config.RunConfig` asks for (``texts`` feed training).

    When resuming, a tokenizer trained at start-up is read back from ``checkpoint`` instead.
    """
    spec = config.model.tokenizer
    if spec == "byte":
        return ByteTokenizer()
    if isinstance(spec, dict):
        if checkpoint is not None and os.path.isfile(os.path.join(checkpoint, "tokenizer.json")):
            return load_local(checkpoint)
        return train_tokenizer(spec, config.task, texts)
    if spec is None:
        if config.model.path is None:
            raise ValueError(
                "model.tokenizer is needed with model.config or model.factory: a local "
                "tokenizer folder, 'byte', or {train: bpe, vocab_size: N}"
            )
        spec = config.model.path
    return load_local(spec)
