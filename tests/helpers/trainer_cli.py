"""Tiny model configs and config-file writers for the ``trainer`` command's tests."""

from __future__ import annotations

import json
from pathlib import Path


def write_yaml(path: Path, data: dict) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def model_config(tmp_path: Path, name: str, values: dict) -> Path:
    """A transformers ``config.json``-style file (``model_type`` plus sizes)."""
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(values))
    return path


TINY_GPT2 = {"model_type": "gpt2", "n_embd": 32, "n_layer": 1, "n_head": 2, "n_positions": 64}
TINY_BERT = {
    "model_type": "bert",
    "hidden_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 64,
}
TINY_T5 = {
    "model_type": "t5",
    "d_model": 32,
    "d_ff": 64,
    "d_kv": 16,
    "num_layers": 1,
    "num_decoder_layers": 1,
    "num_heads": 2,
}


def training(tmp_path: Path, name: str, **extra) -> dict:
    """A short CPU run's TrainingArguments fields."""
    values = {
        "output_dir": str(tmp_path / name),
        "max_steps": 6,
        "per_device_train_batch_size": 8,
        "learning_rate": 5e-3,
        "logging_steps": 2,
        "eval_strategy": "steps",
        "eval_steps": 3,
        "save_steps": 3,
        "report_to": "none",
        "use_cpu": True,
        "disable_tqdm": True,
        "seed": 0,
    }
    values.update(extra)
    return values
