"""Saving a transformers model with DeepSpeed off does not import deepspeed (about 1 s)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

TESTS = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPT = textwrap.dedent(
    """
    import importlib.util, os, sys
    sys.path.insert(0, sys.argv[2])
    from helpers.models import lm_data, tiny_gpt2
    from trainer import Trainer, TrainingArguments

    args = TrainingArguments(output_dir=sys.argv[1], max_steps=1, save_steps=1,
                             report_to="none", use_cpu=True, disable_tqdm=True)
    Trainer(model=tiny_gpt2(), args=args, train_dataset=lm_data(4)).train()
    assert os.path.isfile(os.path.join(sys.argv[1], "checkpoint-1", "model.safetensors"))
    print("INSTALLED", importlib.util.find_spec("deepspeed") is not None)
    print("IMPORTED", "deepspeed" in sys.modules)
    """
)


def test_first_save_does_not_import_deepspeed(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "out"), TESTS],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    if "INSTALLED False" in done.stdout:
        pytest.skip("deepspeed is not installed: nothing could import it")
    assert "IMPORTED False" in done.stdout


def test_the_guard_restores_accelerate_and_sees_real_engines():
    import accelerate.utils.other as other
    from trainer_loop.checkpointing.lazy_deepspeed import deepspeed_import_skipped

    original = other.is_deepspeed_available
    with deepspeed_import_skipped():
        if "deepspeed" not in sys.modules:
            assert other.is_deepspeed_available() is False
    assert other.is_deepspeed_available is original
