"""``Seq2SeqTrainingArguments``: ``TrainingArguments`` plus the settings of generation at evaluation.

Importing this module loads neither torch nor transformers.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from trainer_args import TrainingArguments

from .generation import GenerationConfigLike, is_generation_config

__all__ = ["Seq2SeqTrainingArguments"]


@dataclasses.dataclass(repr=False)
class Seq2SeqTrainingArguments(TrainingArguments):
    """``TrainingArguments`` for encoder-decoder models, a drop-in for the transformers class.

    The five extra fields (defaults as in transformers 5.3.0):

    * ``sortish_sampler`` (``False``): kept for compatibility; transformers no longer reads it and
      neither does this library (use ``train_sampling_strategy="group_by_length"`` to batch
      examples of similar length).
    * ``predict_with_generate`` (``False``): during ``evaluate``/``predict``, produce predictions
      with ``model.generate`` instead of returning the logits of one forward pass, so that
      ``compute_metrics`` can score generated text (ROUGE, BLEU, ...).
    * ``generation_max_length`` (``None``): ``max_length`` given to ``generate`` at each evaluation
      unless the call passes ``max_length`` or ``max_new_tokens``; ``None`` leaves the model's
      generation config in charge.
    * ``generation_num_beams`` (``None``): ``num_beams`` given to ``generate`` unless the call
      passes one; ``None`` leaves the model's generation config in charge.
    * ``generation_config`` (``None``): a ``transformers.GenerationConfig``, a path to a saved one
      (its JSON file or its folder) or a Hub model id. ``Seq2SeqTrainer`` loads it, validates it
      strictly and installs it as ``model.generation_config``.

    :meth:`to_dict` writes a ``GenerationConfig`` value as the dict of its attributes.
    """

    sortish_sampler: bool = dataclasses.field(
        default=False,
        metadata={"help": "Use a sortish sampler (accepted for compatibility; has no effect)."},
    )
    predict_with_generate: bool = dataclasses.field(
        default=False,
        metadata={
            "help": "Run generate() during evaluation and prediction so metrics such as ROUGE or "
            "BLEU can score the generated sequences."
        },
    )
    generation_max_length: int | None = dataclasses.field(
        default=None,
        metadata={
            "help": "max_length passed to generate() at each evaluation when "
            "predict_with_generate=True; by default the model's generation config decides."
        },
    )
    generation_num_beams: int | None = dataclasses.field(
        default=None,
        metadata={
            "help": "num_beams passed to generate() at each evaluation when "
            "predict_with_generate=True; by default the model's generation config decides."
        },
    )
    generation_config: str | Path | GenerationConfigLike | None = dataclasses.field(
        default=None,
        metadata={
            "help": "GenerationConfig to evaluate with: a model id, or a path to a generation "
            "config JSON file or to the folder holding it."
        },
    )

    def to_dict(self) -> dict[str, Any]:
        """Like ``TrainingArguments.to_dict``, with a ``GenerationConfig`` value written as a dict."""
        result = super().to_dict()
        for key, value in result.items():
            if is_generation_config(value):
                result[key] = value.to_dict()
        return result

    def to_json_string(self) -> str:
        """:meth:`to_dict` as indented JSON (a ``Path`` value is written as its string)."""
        return json.dumps(self.to_dict(), indent=2, default=_json_fallback)


def _json_fallback(value: Any) -> Any:
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
