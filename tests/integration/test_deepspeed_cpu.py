"""DeepSpeed ZeRO-2 through the Trainer in two CPU processes, and ``_deepspeed_init``'s choices.

DeepSpeed 0.19 runs on CPU (its CPU accelerator, gloo collectives), so ZeRO-2 training, its
checkpoints and resuming from them are exercised for real; ``tests/trainer_dist/test_dist_gpu.py``
holds the CUDA variants.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trainer_loop")
if importlib.util.find_spec("deepspeed") is None:  # the workers import it; this process need not
    pytest.skip("needs deepspeed", allow_module_level=True)

from helpers.launch import load_script, run_distributed  # noqa: E402

WORKER_PATH = Path(__file__).with_name("dist_deepspeed_worker.py")


worker = load_script(WORKER_PATH)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("deepspeed")
    # accelerate switches DeepSpeed off when told to use the CPU: let it find "no GPU" instead.
    outputs = run_distributed(
        WORKER_PATH, nprocs=2, args=[str(root)], timeout=300, env={"ACCELERATE_USE_CPU": "false"}
    )
    for rank, out in enumerate(outputs):
        assert f"WORKER OK {rank}" in out, out
    reference = worker.build_trainer(tmp_path_factory.mktemp("plain"), 1, deepspeed=None)
    reference.train()
    return {
        "ds": torch.load(root / "ds.pt", weights_only=False),
        "root": root,
        "plain": worker.weights(reference.model),
        "plain_eval": worker.evaluate(reference),
    }


def assert_weights_close(actual, expected, **tolerance):
    assert actual.keys() == expected.keys()
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], msg=name, **tolerance)


@pytest.mark.distributed
@pytest.mark.slow
def test_zero2_with_trainer_optimizer_matches_plain_training(runs):
    run = runs["ds"]["trainer"]
    assert run["model_wrapped_type"] == "DeepSpeedEngine"
    assert run["model_type"] == "TinyMLP"
    assert run["zero_stage"] == 2
    assert run["scheduler_type"] == "LambdaLR"  # the trainer's linear schedule
    config = run["config"]
    assert config["zero_allow_untested_optimizer"] is True
    assert config["train_micro_batch_size_per_gpu"] == 4
    assert config["train_batch_size"] == 8
    assert config["zero_optimization"]["reduce_bucket_size"] == 32 * 32
    # ZeRO-2 in fp32 with torch's AdamW computes what one process with the whole batch computes.
    assert_weights_close(run["weights"], runs["plain"], rtol=1e-5, atol=1e-6)
    # evaluating the trained engine gathers across the ranks like plain DDP does
    assert run["eval"] == pytest.approx(runs["plain_eval"], rel=1e-5)


@pytest.mark.distributed
@pytest.mark.slow
def test_zero2_with_deepspeed_optimizer_and_schedule_from_auto_config(runs):
    run = runs["ds"]["deepspeed"]
    assert run["scheduler_type"] == "DeepSpeedSchedulerWrapper"
    params = run["config"]["scheduler"]["params"]
    assert params == {
        "warmup_min_lr": 0,
        "warmup_max_lr": 0.05,
        "warmup_num_steps": 1,  # no warmup asked; DeepSpeed refuses 0
        "total_num_steps": 8,
    }
    assert run["config"]["optimizer"]["params"]["lr"] == 0.05
    # WarmupDecayLR: starts at warmup_min_lr, then decays linearly from warmup_max_lr to 0.
    lrs = run["learning_rates"]
    assert lrs[0] == 0.0 and lrs[1] == pytest.approx(0.05)
    assert lrs[1:] == sorted(lrs[1:], reverse=True)


@pytest.mark.distributed
@pytest.mark.slow
@pytest.mark.parametrize("name", ["trainer", "deepspeed"])
def test_zero2_resume_matches_the_uninterrupted_run(runs, name):
    run = runs["ds"][name]
    assert run["resumed_losses"] == run["losses"]
    assert_weights_close(run["resumed_weights"], run["weights"], rtol=0, atol=0)
    checkpoint = runs["root"] / name / f"checkpoint-{worker.RESUME_FROM}"
    names = {p.name for p in checkpoint.iterdir()}
    assert {"global_step3", "rng_state_0.pth", "rng_state_1.pth", "model.safetensors"} <= names
    # the trainer's own schedule is saved beside DeepSpeed's files; DeepSpeed's is inside them
    assert ("scheduler.pt" in names) == (name == "trainer")
    shards = {p.name for p in (checkpoint / "global_step3").iterdir()}
    assert {
        "zero_pp_rank_0_mp_rank_00_optim_states.pt",
        "zero_pp_rank_1_mp_rank_00_optim_states.pt",
    } <= shards
