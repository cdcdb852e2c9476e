"""The example configs in examples/configs/ are valid and their files exist."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from trainer.cli import main
from trainer.config import load_config, training_arguments

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "configs"
CONFIGS = sorted(EXAMPLES.glob("*.yaml"))


def test_there_is_an_example_for_every_task():
    tasks = {load_config(path).task for path in CONFIGS}
    assert tasks == {"causal-lm", "sequence-classification", "token-classification", "seq2seq"}


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_example_config_is_valid(path):
    config = load_config(path)
    training_arguments(config)
    for split in (config.data.train, config.data.validation):
        assert split is None or os.path.isfile(split), split
    for model_file in (config.model.path, config.model.config):
        assert model_file is None or os.path.exists(model_file), model_file


@pytest.mark.slow
def test_sequence_classification_example_runs(tmp_path):
    pytest.importorskip("transformers")
    out = tmp_path / "cls"
    path = EXAMPLES / "sequence-classification.yaml"
    overrides = [f"training.output_dir={out}", "training.max_steps=3", "training.disable_tqdm=true"]
    main(["train", str(path), *[arg for o in overrides for arg in ("--set", o)]])
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
