"""Ray Train restarts a Trainer run after a worker dies; the run ends bitwise equal to one that
never failed (TorchTrainer, 2 CPU workers, FailureConfig(max_failures=1), local ray.init)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray.train.torch")
pytest.importorskip("transformers")  # ray's Hugging Face helpers import it
torch = pytest.importorskip("torch")

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from helpers.ray_local import start_local_ray  # noqa: E402

pytestmark = [pytest.mark.distributed, pytest.mark.slow]


@pytest.fixture
def ray_session(monkeypatch):
    import ray

    # Under `uv run` Ray would start its workers with `uv run` in a packaged copy of the working
    # directory; this interpreter, with the tests folder on the path, is what they need.
    monkeypatch.setenv("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    path = os.pathsep.join([str(HERE), str(HERE.parent), os.environ.get("PYTHONPATH", "")])
    monkeypatch.setenv("PYTHONPATH", path)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    start_local_ray(monkeypatch, num_cpus=4)
    yield
    ray.shutdown()


def _fit(root: Path, name: str, die_at: int) -> dict:
    from ray.train import FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer
    from ray_train_worker import train_loop

    out = root / name
    trainer = TorchTrainer(
        train_loop,
        train_loop_config={
            "output_dir": str(out),
            "max_steps": 12,
            "save_steps": 4,
            "die_at": die_at,
        },
        scaling_config=ScalingConfig(num_workers=2, use_gpu=False),
        run_config=RunConfig(
            name=name,
            storage_path=str(root / "ray"),
            failure_config=FailureConfig(max_failures=1),
        ),
    )
    trainer.fit()
    return torch.load(out / "final.pt", weights_only=True)


def test_a_worker_lost_mid_run_is_replaced_and_the_run_ends_bitwise_equal(tmp_path, ray_session):
    whole = _fit(tmp_path, "whole", die_at=0)
    restarted = _fit(tmp_path, "restarted", die_at=10)
    for key in whole:
        assert torch.equal(whole[key], restarted[key]), key
