"""Training on CUDA: mixed precision, the fp16 GradScaler, exact resume, RNG state, pinned memory,
evaluation gathers, background checkpoints, torch.compile, batch-size search after a real
out-of-memory, and GPU memory metrics. Skipped without a CUDA device (``tools/gpu_check.sh`` runs
them on one)."""

from __future__ import annotations

import os

import pytest

torch = pytest.importorskip("torch")

from helpers.arguments import cpu_args  # noqa: E402
from helpers.cuda import requires_cuda  # noqa: E402
from helpers.models import classification_data  # noqa: E402
from torch import nn  # noqa: E402

pytestmark = [pytest.mark.gpu, requires_cuda]

FEATURES, CLASSES = 16, 4


class DropoutMLP(nn.Module):
    """A classifier with dropout, so that the CUDA generator's state matters for exact resume."""

    def __init__(self, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.net = nn.Sequential(
            nn.Linear(FEATURES, 64),
            nn.ReLU(),
            nn.Dropout(0.2),
            nn.LayerNorm(64),
            nn.Linear(64, CLASSES),
        )

    def forward(self, x, labels=None):
        logits = self.net(x)
        if labels is None:
            return {"logits": logits}
        return {"loss": nn.functional.cross_entropy(logits.float(), labels), "logits": logits}


def gpu_args(tmp_path, **overrides):
    """The tests' quiet arguments, on the GPU."""
    settings = dict(use_cpu=False, per_device_train_batch_size=8, per_device_eval_batch_size=8)
    settings.update(overrides)
    return cpu_args(tmp_path, **settings)


def make_trainer(tmp_path, model=None, n: int = 64, **overrides):
    from trainer_loop import Trainer

    callbacks = overrides.pop("callbacks", None)
    data = classification_data(n=n, in_features=FEATURES, classes=CLASSES)
    return Trainer(
        model=model or DropoutMLP(),
        args=gpu_args(tmp_path, **overrides),
        train_dataset=data,
        eval_dataset=data[:24],
        callbacks=callbacks,
    )


def weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().float().cpu().clone() for k, v in model.state_dict().items()}


def assert_same_weights(a: dict, b: dict, atol: float = 0.0) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if atol == 0.0:
            assert torch.equal(a[key], b[key]), key
        else:
            torch.testing.assert_close(a[key], b[key], atol=atol, rtol=0, msg=key)


@pytest.fixture
def deterministic():
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    yield
    torch.use_deterministic_algorithms(before)


def _output_dtypes(model) -> list[torch.dtype]:
    seen: list[torch.dtype] = []
    model.net[0].register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    return seen


# ---------------------------------------------------------------------------------- precision


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_under_autocast_on_cuda(tmp_path, precision):
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    model = DropoutMLP()
    seen = _output_dtypes(model)
    trainer = make_trainer(
        tmp_path, model, max_steps=12, logging_steps=4, learning_rate=1e-2, **{precision: True}
    )
    first = trainer.evaluate()["eval_loss"]
    result = trainer.train()
    assert next(trainer.model.parameters()).device.type == "cuda"
    assert next(trainer.model.parameters()).dtype == torch.float32  # master weights stay fp32
    wanted = torch.bfloat16 if precision == "bf16" else torch.float16
    assert wanted in seen  # the linear layers ran in the autocast dtype
    assert (trainer.accelerator.scaler is not None) == (precision == "fp16")
    assert result.training_loss == result.training_loss  # not NaN
    assert trainer.evaluate()["eval_loss"] < first


def test_fp16_grad_scaler_state_is_saved_and_restored(tmp_path):
    from trainer_loop import TrainerCallback
    from trainer_loop.results import SCALER_NAME

    trainer = make_trainer(tmp_path, max_steps=6, save_strategy="steps", save_steps=3, fp16=True)
    trainer.train()
    saved = torch.load(tmp_path / "out" / "checkpoint-3" / SCALER_NAME, weights_only=True)
    assert saved["scale"] > 0 and "_growth_tracker" in saved

    restored = {}

    class Peek(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            scaler = resumed.accelerator.scaler
            restored.update(scale=scaler.get_scale(), tracker=scaler._get_growth_tracker())

    resumed = make_trainer(tmp_path, max_steps=6, fp16=True, callbacks=[Peek()])
    resumed.train(resume_from_checkpoint=str(tmp_path / "out" / "checkpoint-3"))
    assert restored["scale"] == saved["scale"]
    assert restored["tracker"] == saved["_growth_tracker"]


# ---------------------------------------------------------------------------------- resume


@pytest.mark.parametrize("precision", [None, "bf16", "fp16"])
def test_resume_on_cuda_is_exact_with_deterministic_algorithms(tmp_path, deterministic, precision):
    extra = {precision: True} if precision else {}
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    full = make_trainer(tmp_path, max_steps=8, save_strategy="steps", save_steps=4, seed=7, **extra)
    full.train()
    expected = weights(full.model)
    resumed = make_trainer(tmp_path / "again", max_steps=8, seed=7, **extra)
    resumed.train(resume_from_checkpoint=str(tmp_path / "out" / "checkpoint-4"))
    assert resumed.state.global_step == 8
    assert_same_weights(weights(resumed.model), expected)


def test_cuda_rng_state_round_trips_through_a_checkpoint(tmp_path):
    from trainer_loop.checkpoints import restore_rng_state

    trainer = make_trainer(tmp_path, max_steps=2, save_strategy="steps", save_steps=2)
    trainer.train()
    states = torch.load(tmp_path / "out" / "checkpoint-2" / "rng_state.pth", weights_only=False)
    assert "cuda" in states
    saved_cuda = states["cuda"]
    saved = saved_cuda[0] if isinstance(saved_cuda, (list, tuple)) else saved_cuda
    torch.cuda.manual_seed(12345)  # move away from the saved state
    restore_rng_state(states, distributed=False)
    assert torch.equal(torch.cuda.get_rng_state().cpu(), saved.cpu())
    after = torch.rand(4, device="cuda")
    restore_rng_state(states, distributed=False)
    assert torch.equal(torch.rand(4, device="cuda"), after)  # the same draws again


# ---------------------------------------------------------------------------------- data


def test_pinned_memory_and_non_blocking_copies_train_the_same(tmp_path, deterministic):
    final = {}
    for pin, non_blocking in ((False, False), (True, False), (True, True)):
        trainer = make_trainer(
            tmp_path / f"{pin}-{non_blocking}", max_steps=4, seed=11,
            dataloader_pin_memory=pin, accelerator_config={"non_blocking": non_blocking},
        )  # fmt: skip
        loader = trainer.get_train_dataloader()
        assert loader.pin_memory is pin
        assert trainer.accelerator.non_blocking is non_blocking
        batch = next(iter(loader))
        assert batch["x"].device.type == "cuda"  # copied to the device by the prepared loader
        trainer.train()
        final[(pin, non_blocking)] = weights(trainer.model)
    reference = final[(False, False)]
    for weights_of_run in final.values():
        assert_same_weights(weights_of_run, reference)


@pytest.mark.parametrize("accumulation", [None, 2])
def test_evaluate_and_predict_gather_on_the_device(tmp_path, accumulation):
    model = DropoutMLP()
    trainer = make_trainer(tmp_path, model, max_steps=1, eval_accumulation_steps=accumulation)
    devices: list[str] = []
    step = trainer.prediction_step

    def spy(*args, **kwargs):
        loss, logits, labels = step(*args, **kwargs)
        devices.extend(t.device.type for t in (loss, logits, labels) if t is not None)
        return loss, logits, labels

    trainer.prediction_step = spy
    seen = {}

    def compute_metrics(prediction):
        seen["type"] = type(prediction.predictions).__name__
        return {
            "accuracy": float((prediction.predictions.argmax(-1) == prediction.label_ids).mean())
        }

    trainer.compute_metrics = compute_metrics
    metrics = trainer.evaluate()
    assert metrics["eval_loss"] > 0 and 0 <= metrics["eval_accuracy"] <= 1
    assert seen["type"] == "ndarray"
    out = trainer.predict(trainer.eval_dataset)
    assert devices and set(devices) == {"cuda"}  # batches stay on the GPU until gathered
    x = torch.stack([d["x"] for d in trainer.eval_dataset]).cuda()
    model.eval()
    with torch.no_grad():
        reference = model(x)["logits"].cpu().numpy()
    assert out.predictions.shape == (24, CLASSES)
    assert abs(out.predictions - reference).max() < 1e-5
    assert (out.label_ids == [int(d["labels"]) for d in trainer.eval_dataset]).all()


def test_batch_eval_metrics_see_device_tensors(tmp_path):
    trainer = make_trainer(tmp_path, max_steps=1, batch_eval_metrics=True)
    devices: list[str] = []

    def compute_metrics(prediction, compute_result):
        devices.append(prediction.predictions.device.type)
        return {"batches": float(len(devices))} if compute_result else {}

    trainer.compute_metrics = compute_metrics
    metrics = trainer.evaluate()
    assert devices == ["cuda"] * 3  # 24 samples in batches of 8
    assert metrics["eval_batches"] == 3.0


# ---------------------------------------------------------------------------------- checkpoints


def test_background_checkpoints_snapshot_gpu_tensors(tmp_path, deterministic):
    from safetensors.torch import load_file
    from trainer_loop import BackgroundCheckpointing

    runs, final = {}, {}
    for name, callbacks in (("blocking", None), ("background", [BackgroundCheckpointing()])):
        trainer = make_trainer(
            tmp_path / name, max_steps=6, save_strategy="steps", save_steps=2, seed=3,
            callbacks=callbacks,
        )  # fmt: skip
        trainer.train()
        runs[name] = tmp_path / name / "out"
        final[name] = weights(trainer.model)
    assert_same_weights(final["blocking"], final["background"])
    for step in (2, 4, 6):
        folders = {k: v / f"checkpoint-{step}" for k, v in runs.items()}
        a = load_file(folders["blocking"] / "model.safetensors")
        b = load_file(folders["background"] / "model.safetensors")
        assert_same_weights(a, b)  # the weights of that step, not of a later one
        oa = torch.load(folders["blocking"] / "optimizer.pt", weights_only=False)
        ob = torch.load(folders["background"] / "optimizer.pt", weights_only=False)
        assert oa["state"].keys() == ob["state"].keys()
        for key, state in oa["state"].items():
            for name, value in state.items():
                if isinstance(value, torch.Tensor):
                    assert torch.equal(value.cpu(), ob["state"][key][name].cpu()), (step, name)
    # Resuming on the GPU from a background checkpoint ends where the whole run ended.
    resumed = make_trainer(tmp_path / "resumed", max_steps=6, seed=3)
    resumed.train(resume_from_checkpoint=str(runs["background"] / "checkpoint-4"))
    assert_same_weights(weights(resumed.model), final["blocking"])


# ---------------------------------------------------------------------------------- compile


def test_torch_compile_trains_and_resumes(tmp_path):
    full = make_trainer(
        tmp_path, max_steps=6, save_strategy="steps", save_steps=3, torch_compile=True, seed=5
    )
    result = full.train()
    assert result.training_loss == result.training_loss
    saved = os.listdir(tmp_path / "out" / "checkpoint-3")
    assert "model.safetensors" in saved
    from safetensors.torch import load_file

    keys = load_file(tmp_path / "out" / "checkpoint-3" / "model.safetensors").keys()
    assert not any("_orig_mod" in k for k in keys)  # saved as the plain model's names
    resumed = make_trainer(tmp_path / "again", max_steps=6, torch_compile=True, seed=5)
    resumed.train(resume_from_checkpoint=str(tmp_path / "out" / "checkpoint-3"))
    assert resumed.state.global_step == 6
    assert_same_weights(weights(resumed.model), weights(full.model), atol=1e-5)


# ---------------------------------------------------------------------------------- memory


class Hungry(nn.Module):
    """Allocates ``bytes_per_sample`` of GPU memory per sample in its forward."""

    def __init__(self, bytes_per_sample: int):
        super().__init__()
        self.bytes_per_sample = bytes_per_sample
        self.linear = nn.Linear(FEATURES, CLASSES)
        self.batches: list[int] = []

    def forward(self, x, labels=None):
        self.batches.append(x.shape[0])
        scratch = torch.empty(x.shape[0] * self.bytes_per_sample, dtype=torch.uint8, device="cuda")
        logits = self.linear(x) + scratch[:1].float() * 0
        return {"loss": nn.functional.cross_entropy(logits, labels), "logits": logits}


def test_auto_find_batch_size_recovers_from_a_real_cuda_oom(tmp_path):
    torch.cuda.empty_cache()
    total = torch.cuda.get_device_properties(0).total_memory
    budget = 2 << 30  # the allocator refuses anything past what is in use now plus 2 GiB
    fraction = min(1.0, (torch.cuda.memory_reserved() + budget) / total)
    model = Hungry(bytes_per_sample=budget // 40)  # 64 samples need 3.2 GiB, 32 need 1.6
    torch.cuda.set_per_process_memory_fraction(fraction)
    try:
        trainer = make_trainer(
            tmp_path, model, n=256, per_device_train_batch_size=64, auto_find_batch_size=True,
            max_steps=2,
        )  # fmt: skip
        trainer.train()
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
        torch.cuda.empty_cache()
    assert model.batches[0] == 64  # the first try ran out of memory
    assert trainer._train_batch_size < 64
    assert trainer.state.global_step == 2
    assert max(model.batches[-2:]) == trainer._train_batch_size


def test_memory_metrics_report_gpu_memory(tmp_path):
    trainer = make_trainer(tmp_path, max_steps=4, skip_memory_metrics=False)
    metrics = trainer.train().metrics
    for key in ("train_mem_gpu_alloc_delta", "train_mem_gpu_peaked_delta", "before_init_mem_gpu"):
        assert key in metrics, sorted(metrics)
    # Adam's two moments stay allocated after training; activations peak above that.
    params = sum(p.numel() * 4 for p in trainer.model.parameters())
    assert metrics["train_mem_gpu_alloc_delta"] >= 2 * params
    assert metrics["train_mem_gpu_peaked_delta"] > 0
    evaluated = trainer.evaluate()
    assert "eval_mem_gpu_peaked_delta" in evaluated
