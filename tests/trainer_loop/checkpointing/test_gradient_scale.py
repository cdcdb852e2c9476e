"""A resume with other accumulation steps keeps the gradient scale of the run it continues.

As in transformers, backward divides the loss by the accumulation steps, so 16 x 1 and 8 x 2
(the same global batch) train at different gradient scales; with gradient clipping on, the two
runs part. A checkpoint records the divisor in ``data_state.json`` and the resumed run keeps it.
"""

from __future__ import annotations

import json
import logging
import os

import pytest

torch = pytest.importorskip("torch")

from helpers.arguments import cpu_args  # noqa: E402
from helpers.models import TinyMLP, classification_data  # noqa: E402
from trainer_loop import Trainer  # noqa: E402
from trainer_loop.checkpointing.gradient_scale import gradient_divisor  # noqa: E402


def _train(tmp_path, name, batch, accumulation, resume=None, max_steps=12):
    torch.manual_seed(0)
    args = cpu_args(
        tmp_path,
        output_dir=str(tmp_path / name),
        per_device_train_batch_size=batch,
        gradient_accumulation_steps=accumulation,
        max_steps=max_steps,
        learning_rate=0.05,
        save_strategy="steps",
        save_steps=5,
        seed=7,
    )
    trainer = Trainer(model=TinyMLP(), args=args, train_dataset=classification_data(96))
    trainer.train(resume_from_checkpoint=resume)
    return trainer


def _max_difference(a, b):
    sa, sb = a.model.state_dict(), b.model.state_dict()
    return max((sa[k] - sb[k]).abs().max().item() for k in sa)


def test_resume_on_other_accumulation_steps_continues_the_uninterrupted_run(tmp_path, caplog):
    uninterrupted = _train(tmp_path, "big", batch=16, accumulation=1)
    checkpoint = str(tmp_path / "big" / "checkpoint-5")
    with caplog.at_level(logging.INFO, logger="trainer_loop"):
        resumed = _train(tmp_path, "small", batch=8, accumulation=2, resume=checkpoint)
    assert _max_difference(resumed, uninterrupted) < 1e-5
    assert "divided its gradients by 1: this run keeps that scale" in caplog.text
    fresh = _train(tmp_path, "fresh", batch=8, accumulation=2)
    assert _max_difference(fresh, uninterrupted) > 1e-3  # the scale a fresh 8 x 2 run has
    with open(os.path.join(tmp_path, "small", "checkpoint-10", "data_state.json")) as f:
        saved = json.load(f)
    assert (saved["accumulation"], saved["gradient_divisor"]) == (2, 1)


def test_a_chain_of_resumes_keeps_the_first_runs_scale(tmp_path):
    uninterrupted = _train(tmp_path, "big", batch=16, accumulation=1, max_steps=12)
    _train(
        tmp_path,
        "small",
        batch=8,
        accumulation=2,
        resume=str(tmp_path / "big" / "checkpoint-5"),
    )
    again = _train(
        tmp_path,
        "smaller",
        batch=4,
        accumulation=4,
        max_steps=12,
        resume=str(tmp_path / "small" / "checkpoint-10"),
    )
    assert _max_difference(again, uninterrupted) < 1e-5


def test_divisor_rules():
    assert gradient_divisor(None, 4) == 4  # fresh run, or a checkpoint without data_state.json
    assert gradient_divisor({"accumulation": 4}, 4) == 4
    assert gradient_divisor({"accumulation": 1}, 2) == 1  # written before the divisor was saved
    assert gradient_divisor({"accumulation": 2, "gradient_divisor": 1}, 4) == 1
    assert gradient_divisor({"accumulation": 2, "gradient_divisor": "x"}, 4) == 4
