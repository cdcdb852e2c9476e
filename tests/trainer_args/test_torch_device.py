"""device / n_gpu / batch sizes with torch installed."""

import pytest

torch = pytest.importorskip("torch")

from trainer_args import ParallelMode, TrainingArguments  # noqa: E402


@pytest.fixture(autouse=True)
def single_process(monkeypatch):
    for name in (
        "WORLD_SIZE",
        "RANK",
        "LOCAL_RANK",
        "ACCELERATE_USE_CPU",
        "ACCELERATE_TORCH_DEVICE",
    ):
        monkeypatch.delenv(name, raising=False)


def test_use_cpu():
    args = TrainingArguments(use_cpu=True)
    assert args.device == torch.device("cpu") and args.n_gpu == 0
    assert args.train_batch_size == 8 and args.parallel_mode is ParallelMode.NOT_PARALLEL


def test_env_forces_cpu(monkeypatch):
    monkeypatch.setenv("ACCELERATE_USE_CPU", "true")
    assert TrainingArguments().device.type == "cpu"


def test_default_device_matches_hardware():
    args = TrainingArguments()
    expected = "cuda" if torch.cuda.is_available() else None
    if expected:
        assert args.device.type == "cuda" and args.n_gpu == torch.cuda.device_count()
        assert args.train_batch_size == 8 * max(1, args.n_gpu)
    elif not torch.backends.mps.is_available():
        assert args.device.type == "cpu" and args.n_gpu == 0


def test_device_is_cached():
    args = TrainingArguments(use_cpu=True)
    assert args.device is args.device


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only path")
def test_bf16_without_gpu_raises_on_device():
    args = TrainingArguments(bf16=True)
    with pytest.raises(ValueError, match="bf16"):
        _ = args.device
    assert TrainingArguments(bf16=True, use_cpu=True).device.type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only path")
def test_tf32_without_gpu_raises_on_device():
    with pytest.raises(ValueError, match="tf32"):
        _ = TrainingArguments(tf32=True).device
