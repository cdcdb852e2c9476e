"""TRL's trainers built on our loop (``trainer.install_as_transformers()``) match transformers'.

Each backend runs in its own process (TRL binds its base classes at import time). The same
scenarios run on both; losses, metrics, saved files and final weights must agree exactly.
"""

from __future__ import annotations

import os

import pytest
from helpers.backends import run_on_both_backends

pytest.importorskip("trl")
pytest.importorskip("transformers")

pytestmark = pytest.mark.slow

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "trl_worker.py")
SCENARIOS = [
    "sft_text",
    "sft_prompt_completion",
    "sft_packing",
    "sft_resume",
    "dpo",
    "reward",
    "grpo",
    "grpo_iterable",
    "rloo",
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return run_on_both_backends(WORKER, tmp_path_factory.mktemp("trl"), SCENARIOS)


def _scenario(runs, name):
    ours, theirs = runs["ours"][name], runs["transformers"][name]
    assert "error" not in theirs, theirs.get("trace")
    assert "error" not in ours, ours.get("trace")
    return ours, theirs


@pytest.mark.parametrize("name", [s for s in SCENARIOS if s != "sft_resume"])
def test_same_losses_metrics_files_and_weights(runs, name):
    ours, theirs = _scenario(runs, name)
    assert ours["trainer_base"] == ["trainer_loop.trainer"]  # really our loop underneath
    assert theirs["trainer_base"] == ["transformers.trainer"]
    assert ours["history"] == theirs["history"]
    assert ours["files"] == theirs["files"]
    assert ours["weights"] == theirs["weights"]


def _without_tokens(history):
    return [{k: v for k, v in entry.items() if k != "num_tokens"} for entry in history]


def test_resumed_sft_run_continues_exactly(runs):
    ours, theirs = _scenario(runs, "sft_resume")
    assert ours["resumed_equals_uninterrupted"] is True
    assert theirs["resumed_equals_uninterrupted"] is True
    # Every per-step log of the resumed run (steps 1-3 come from the checkpoint's state) is the
    # uninterrupted run's, and transformers' resumed run logs the same.
    # TRL's own "num_tokens" counter restarts on resume, on either loop: left out.
    assert [entry["step"] for entry in ours["history"]] == [1, 2, 3, 4, 5, 6, 6]
    assert _without_tokens(ours["history"][:-1]) == _without_tokens(ours["full_history"][:-1])
    assert ours["history"][:-1] == theirs["history"][:-1]
    # The run's average loss covers all steps on our loop, as if never interrupted;
    # transformers averages only the resumed steps' losses over every step (docs/migration.md).
    assert ours["history"][-1]["train_loss"] == pytest.approx(
        ours["full_history"][-1]["train_loss"], rel=1e-6
    )


def test_grpo_on_streamed_prompts_evaluates_as_transformers(runs):
    # TRL's sampler takes len(): the loop must not ask it for one over an IterableDataset.
    ours, theirs = _scenario(runs, "grpo_iterable")
    assert "eval_a_loss" in ours["eval_keys"]
    assert ours["eval_keys"] == theirs["eval_keys"]
