"""Tiny local data files and model configs for the ``trainer train`` tests (nothing downloaded)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

WORDS = [
    "the",
    "a",
    "boat",
    "light",
    "sea",
    "town",
    "bread",
    "keeper",
    "harbour",
    "wind",
    "rain",
    "star",
    "night",
    "morning",
]


def _sentences(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 9))) for _ in range(n)]


@pytest.fixture
def text_files(tmp_path) -> dict[str, Path]:
    """``train.txt`` and ``valid.txt``: paragraphs of short sentences."""
    out = {}
    for split, seed, n in (("train", 0, 40), ("valid", 1, 8)):
        path = tmp_path / f"{split}.txt"
        path.write_text("\n\n".join(_sentences(n, seed)) + "\n")
        out[split] = path
    return out


@pytest.fixture
def lm_jsonl(tmp_path) -> Path:
    """``lm.jsonl``: ``{"text": ...}`` rows."""
    path = tmp_path / "lm.jsonl"
    path.write_text("".join(json.dumps({"text": s}) + "\n" for s in _sentences(48, 2)))
    return path


@pytest.fixture
def classification_csv(tmp_path) -> dict[str, Path]:
    """``label`` is ``sea`` when the text mentions the sea or a boat, else ``land`` (string labels)."""
    import csv

    out = {}
    for split, seed, n in (("train", 3, 48), ("valid", 4, 16)):
        path = tmp_path / f"cls_{split}.csv"
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["sentence", "label"])
            for s in _sentences(n, seed):
                writer.writerow(
                    [s, "sea" if ("sea" in s.split() or "boat" in s.split()) else "land"]
                )
        out[split] = path
    return out


@pytest.fixture
def tagging_json(tmp_path) -> Path:
    """``tokens``/``tags`` rows: ``NOUN`` for a few words, ``O`` for the rest."""
    nouns = {"boat", "light", "sea", "town", "bread", "keeper", "harbour", "star"}
    rows = []
    for s in _sentences(48, 5):
        tokens = s.split()
        rows.append({"tokens": tokens, "tags": ["NOUN" if t in nouns else "O" for t in tokens]})
    path = tmp_path / "tags.json"
    path.write_text(json.dumps(rows))
    return path


@pytest.fixture
def seq2seq_parquet(tmp_path) -> Path:
    """``source``/``target`` rows: the target is the source reversed word by word."""
    import datasets

    sources = _sentences(48, 6)
    rows = {"source": sources, "target": [" ".join(reversed(s.split())) for s in sources]}
    path = tmp_path / "pairs.parquet"
    datasets.Dataset.from_dict(rows).to_parquet(str(path))
    return path
