"""sentence-transformers' ``SentenceTransformerTrainer`` on our loop matches transformers'."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("sentence_transformers")

pytestmark = pytest.mark.slow

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sentence_transformers_worker.py")


def test_same_losses_and_files_as_on_transformers(tmp_path):
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}
    procs = {
        backend: subprocess.Popen(
            [sys.executable, WORKER, backend, str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=str(tmp_path),
        )
        for backend in ("ours", "transformers")
    }
    results = {}
    for backend, proc in procs.items():
        output, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"{backend} worker failed:\n{output[-4000:]}"
        results[backend] = json.loads((tmp_path / f"{backend}.json").read_text())
    ours, theirs = results["ours"], results["transformers"]
    assert ours["trainer_base"] == ["trainer_loop.trainer"]
    assert any("loss" in entry for entry in ours["history"])
    assert any("eval_loss" in entry for entry in ours["history"])
    assert ours["history"] == theirs["history"]
    assert ours["files"] == theirs["files"]
