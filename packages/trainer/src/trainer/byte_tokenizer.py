"""A byte-level tokenizer: every UTF-8 byte is a token, plus one end-of-text token.

Nothing to train or download, so any text trains at once. It offers the part of the tokenizer
interface that causal language modelling uses (``__call__``, ``decode``, ``pad_token_id``,
``save_pretrained``).
"""

from __future__ import annotations

import json
import os
from typing import Any

FILE_NAME = "byte_tokenizer.json"


class ByteTokenizer:
    """Token ``i < 256`` is the byte ``i``; token 256 ends a document and doubles as padding."""

    vocab_size = 257
    eos_token_id = 256
    pad_token_id = 256
    bos_token_id = None
    model_input_names = ["input_ids", "attention_mask"]

    def __len__(self) -> int:
        return self.vocab_size

    def encode(self, text: str, add_eos: bool = False) -> list[int]:
        """The UTF-8 bytes of ``text`` (and the end-of-text token when ``add_eos``)."""
        ids = list(text.encode("utf-8"))
        return [*ids, self.eos_token_id] if add_eos else ids

    def __call__(self, text: str | list[str], **_: Any) -> dict[str, Any]:
        """``{"input_ids", "attention_mask"}`` for one text or a list of texts."""
        if isinstance(text, str):
            ids = self.encode(text)
            return {"input_ids": ids, "attention_mask": [1] * len(ids)}
        rows = [self.encode(t) for t in text]
        return {"input_ids": rows, "attention_mask": [[1] * len(r) for r in rows]}

    def decode(self, ids: Any, skip_special_tokens: bool = True) -> str:
        """Text of ``ids`` (a list or tensor); invalid UTF-8 shows as the replacement mark."""
        ids = ids.tolist() if hasattr(ids, "tolist") else list(ids)
        data = bytes(i for i in ids if 0 <= i < 256)
        return data.decode("utf-8", errors="replace")

    def save_pretrained(self, directory: str | os.PathLike) -> None:
        """Write a marker file, so a saved model records which tokenizer it was trained with."""
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, FILE_NAME), "w") as f:
            json.dump({"tokenizer": "byte", "vocab_size": self.vocab_size}, f)
