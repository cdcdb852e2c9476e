"""sentence-transformers' ``SentenceTransformerTrainer`` on our loop matches transformers'."""

from __future__ import annotations

import os

import pytest
from helpers.backends import run_on_both_backends

pytest.importorskip("sentence_transformers")

pytestmark = pytest.mark.slow

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sentence_transformers_worker.py")


def test_same_losses_and_files_as_on_transformers(tmp_path):
    results = run_on_both_backends(WORKER, tmp_path, timeout=600)
    ours, theirs = results["ours"], results["transformers"]
    assert ours["trainer_base"] == ["trainer_loop.trainer"]
    assert any("loss" in entry for entry in ours["history"])
    assert any("eval_loss" in entry for entry in ours["history"])
    assert ours["history"] == theirs["history"]
    assert ours["files"] == theirs["files"]
