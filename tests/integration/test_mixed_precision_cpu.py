"""bf16 mixed precision on CPU: autocast is really on, and training tracks the fp32 run; fp16 on
CPU: float32, as in transformers, with a warning naming bf16."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trainer_loop")

from helpers.models import TinyMLP, classification_data  # noqa: E402
from trainer_args import TrainingArguments  # noqa: E402
from trainer_loop import Trainer  # noqa: E402

STEPS = 24


def train(tmp_path, bf16: bool):
    torch.manual_seed(0)
    model = TinyMLP()
    seen: list[torch.dtype] = []
    handle = model.net[0].register_forward_hook(lambda module, inputs, out: seen.append(out.dtype))
    args = TrainingArguments(
        output_dir=str(tmp_path / ("bf16" if bf16 else "fp32")),
        bf16=bf16,
        use_cpu=True,
        per_device_train_batch_size=16,
        learning_rate=0.01,
        max_steps=STEPS,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=3,
    )
    trainer = Trainer(model=model, args=args, train_dataset=classification_data(n=128))
    trainer.train()
    train_dtypes = set(seen)
    seen.clear()
    metrics = trainer.evaluate(classification_data(n=32, seed=5))
    handle.remove()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    return {
        "losses": losses,
        "train_dtypes": train_dtypes,
        "eval_dtypes": set(seen),
        "eval_loss": metrics["eval_loss"],
        "param_dtypes": {p.dtype for p in trainer.model.parameters()},
        "accelerator_precision": trainer.accelerator.mixed_precision,
    }


@pytest.mark.slow
def test_bf16_autocast_on_cpu_tracks_fp32(tmp_path):
    fp32 = train(tmp_path, bf16=False)
    bf16 = train(tmp_path, bf16=True)
    assert fp32["train_dtypes"] == {torch.float32}
    assert bf16["accelerator_precision"] == "bf16"
    # autocast ran the Linear in bf16 during training and evaluation ...
    assert bf16["train_dtypes"] == {torch.bfloat16}
    assert bf16["eval_dtypes"] == {torch.bfloat16}
    # ... while the weights (and so the optimizer update) stay fp32: mixed, not pure, bf16
    assert bf16["param_dtypes"] == {torch.float32}
    assert len(bf16["losses"]) == len(fp32["losses"]) == STEPS
    # bf16 keeps 8 mantissa bits (~0.4% per rounding): losses follow fp32 within a few percent
    assert bf16["losses"] == pytest.approx(fp32["losses"], rel=3e-2)
    assert bf16["losses"] != fp32["losses"]  # and are not secretly computed in fp32
    assert bf16["eval_loss"] == pytest.approx(fp32["eval_loss"], rel=3e-2)
    assert bf16["losses"][-1] < bf16["losses"][0]


def _fp16_run(tmp_path, trainer_cls, args_cls, name):
    torch.manual_seed(0)
    model = TinyMLP()
    seen: list[torch.dtype] = []
    model.net[0].register_forward_hook(lambda module, inputs, out: seen.append(out.dtype))
    args = args_cls(
        output_dir=str(tmp_path / name),
        fp16=True,
        use_cpu=True,
        per_device_train_batch_size=16,
        max_steps=3,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=3,
    )
    trainer = trainer_cls(model=model, args=args, train_dataset=classification_data(n=64))
    trainer.train()
    return set(seen), [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]


def test_fp16_on_cpu_says_it_trains_in_float32_as_transformers_does(tmp_path):
    transformers = pytest.importorskip("transformers")
    with pytest.warns(UserWarning, match=r"fp16=True is not used on the CPU.*bf16=True"):
        ours = _fp16_run(tmp_path, Trainer, TrainingArguments, "ours")
    theirs = _fp16_run(tmp_path, transformers.Trainer, transformers.TrainingArguments, "theirs")
    assert ours[0] == theirs[0] == {torch.float32}  # no float16 autocast in either library
    assert ours[1] == pytest.approx(theirs[1], rel=1e-6)
