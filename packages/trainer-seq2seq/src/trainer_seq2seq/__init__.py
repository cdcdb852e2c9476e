"""Seq2SeqTrainer and Seq2SeqTrainingArguments (drop-ins for the transformers 5.3.0 classes).

``Seq2SeqTrainingArguments`` imports without torch; ``Seq2SeqTrainer`` (and the loop, torch) are
imported on first use.
"""

from .training_args import Seq2SeqTrainingArguments

__version__ = "0.1.0"

_LAZY = {"Seq2SeqTrainer"}


def __getattr__(name: str):
    if name in _LAZY:
        from . import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module 'trainer_seq2seq' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY)


__all__ = ["Seq2SeqTrainer", "Seq2SeqTrainingArguments", "__version__"]
