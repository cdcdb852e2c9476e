"""A checkpoint written by N processes resumes on M (2 -> 1 and 1 -> 2, gloo on CPU).

With the same global batch (8 per device x 2 processes, or 8 x 2 accumulation steps on one) the
run continues at the same example and ends within 1e-4 of the uninterrupted run. Another global
batch is named in a warning; a stream split by shards across processes refuses to move.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from helpers.launch import load_script, run_distributed  # noqa: E402
from helpers.streaming import write_shards  # noqa: E402

WORKER_PATH = Path(__file__).with_name("resume_world_worker.py")
worker = load_script(WORKER_PATH)

pytestmark = [pytest.mark.distributed, pytest.mark.slow]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    one = worker.train(root / "one", 1)  # writes one/checkpoint-13 for the two-process resume
    _stream_checkpoint(root)
    write_shards(root / "one_shard", shards=1, rows=64)
    stream_one = worker.train_stream(root, "stream1_one", 1)
    outputs = run_distributed(WORKER_PATH, nprocs=2, args=[str(root)], timeout=300)
    for rank, out in enumerate(outputs):
        assert f"WORKER OK {rank}" in out, out
    two = torch.load(root / "two.pt", weights_only=False)
    return {"root": root, "one": one, "stream_one": stream_one, **two}


def _stream_checkpoint(root: Path) -> None:
    from helpers.arguments import cpu_args
    from helpers.models import RegressionModel
    from helpers.streaming import stream, write_shards
    from trainer_loop import Trainer

    paths = write_shards(root / "shards")
    args = cpu_args(
        root, output_dir=str(root / "stream_one"), max_steps=3, save_strategy="steps", save_steps=3
    )
    Trainer(model=RegressionModel(), args=args, train_dataset=stream(paths)).train()


def assert_close(actual, expected):
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], rtol=0, atol=1e-4, msg=name)


def test_two_processes_resume_on_one(runs, caplog):
    checkpoint = runs["root"] / "two" / "checkpoint-13"
    assert (checkpoint / "data_state_1.json").is_file()
    with caplog.at_level("INFO"):
        resumed = worker.train(runs["root"] / "one_from_two", 1, resume=checkpoint)
    assert_close(resumed, runs["two"])
    assert "restoring rng_state_0.pth instead" in caplog.text
    assert "same global batch (16)" in caplog.text
    assert "gradient_accumulation_steps is 2 and the run this checkpoint continues" in caplog.text


def test_two_processes_resume_on_one_with_a_model_taking_num_items(runs, caplog):
    checkpoint = runs["root"] / "two_items" / "checkpoint-13"
    with caplog.at_level("INFO"):
        resumed = worker.train(runs["root"] / "items_from_two", 1, resume=checkpoint, model="items")
    assert_close(resumed, runs["two_items"])
    assert "divided its gradients by 1: this run keeps that scale" in caplog.text


def test_without_the_saved_divisor_the_resume_drifts(runs, monkeypatch):
    """Dividing by this run's accumulation steps instead (transformers' resume) ends ~1e-2 away."""
    from trainer_loop.training import setup

    monkeypatch.setattr(setup, "gradient_divisor", lambda saved, accumulation: accumulation)
    checkpoint = runs["root"] / "two" / "checkpoint-13"
    resumed = worker.train(runs["root"] / "one_from_two_own_divisor", 1, resume=checkpoint)
    drift = max((resumed[k] - runs["two"][k]).abs().max().item() for k in resumed)
    assert drift > 1e-3


def test_one_process_resumes_on_two(runs):
    assert_close(runs["two_from_one"], runs["one"])


def test_another_global_batch_is_named(runs, caplog):
    checkpoint = runs["root"] / "two" / "checkpoint-13"
    with caplog.at_level("WARNING"):
        worker.train(
            runs["root"] / "other_batch",
            1,
            resume=checkpoint,
            gradient_accumulation_steps=1,
            max_steps=14,
        )
    assert (
        "global batch of 16 (8 per device x 1 accumulation step(s) x 2 process(es))" in caplog.text
    )
    assert "this run's is 8 (8 per device x 1 accumulation step(s) x 1 process(es))" in caplog.text


def test_stream_split_by_shards_refuses_another_process_count(runs):
    message = runs["stream_refusal"]
    assert "taken by 1 process(es) and this run has 2" in message, message
    assert os.path.isdir(runs["root"] / "stream_one" / "checkpoint-3")


def test_stream_split_by_examples_follows_to_another_process_count(runs):
    checkpoint = runs["root"] / "stream1_one" / "checkpoint-3"
    assert '"kind": "dataset"' in (checkpoint / "data_state.json").read_text()
    assert_close(runs["stream_two_from_one"], runs["stream_one"])
