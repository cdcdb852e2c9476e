"""Training behaviour users rely on: accumulation, exact resume, best model, rotation, errors."""

from __future__ import annotations

import json
import os

import pytest

torch = pytest.importorskip("torch")

from helpers.arguments import cpu_args  # noqa: E402
from helpers.models import RegressionDataset, RegressionModel, TinyMLP, classification_data  # noqa: E402
from trainer_args import TrainingArguments  # noqa: E402
from trainer_loop import EarlyStoppingCallback, Trainer  # noqa: E402


def make_args(tmp_path, **overrides) -> TrainingArguments:
    settings = dict(learning_rate=0.05, num_train_epochs=2, optim="adamw_torch", logging_steps=1)
    return cpu_args(tmp_path, **(settings | overrides))


def params(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_accumulation_matches_a_large_batch(tmp_path):
    results = []
    for batch, steps in ((8, 1), (4, 2), (2, 4)):
        args = make_args(
            tmp_path,
            per_device_train_batch_size=batch,
            gradient_accumulation_steps=steps,
            optim="sgd",
        )
        trainer = Trainer(
            model=RegressionModel(), args=args, train_dataset=RegressionDataset(length=32)
        )
        trainer.train()
        results.append(params(trainer.model))
    for other in results[1:]:
        for name in results[0]:
            torch.testing.assert_close(other[name], results[0][name], rtol=1e-5, atol=1e-6)


def test_dropout_model_trains_and_loss_decreases(tmp_path):
    torch.manual_seed(0)
    args = make_args(
        tmp_path, num_train_epochs=5, learning_rate=0.01, per_device_train_batch_size=16
    )
    trainer = Trainer(model=TinyMLP(), args=args, train_dataset=classification_data(n=128))
    trainer.train()
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    assert losses[-1] < losses[0] * 0.7


class DropoutRegression(RegressionModel):
    """Draws from the global generator every step, so resume must restore RNG state exactly."""

    def forward(self, input_x, labels=None, **kwargs):
        input_x = torch.nn.functional.dropout(input_x, p=0.2, training=self.training)
        return super().forward(input_x, labels)


@pytest.mark.parametrize("interrupt_at", [2, 3, 5, 7])
def test_resume_is_bitwise_identical(tmp_path, interrupt_at):
    common = dict(
        save_strategy="steps",
        save_steps=1,
        num_train_epochs=3,
        per_device_train_batch_size=4,
        gradient_accumulation_steps=2,
        eval_strategy="steps",
        eval_steps=4,
        logging_steps=3,
    )
    data, evaluation = RegressionDataset(length=20), RegressionDataset(length=6, seed=2)
    straight = Trainer(
        model=DropoutRegression(),
        args=make_args(tmp_path / "a", **common),
        train_dataset=data,
        eval_dataset=evaluation,
    )
    straight.train()
    resumed = Trainer(
        model=DropoutRegression(),
        args=make_args(tmp_path / "a", **common),
        train_dataset=data,
        eval_dataset=evaluation,
    )
    output = resumed.train(
        resume_from_checkpoint=str(tmp_path / "a" / "out" / f"checkpoint-{interrupt_at}")
    )
    for name, value in params(straight.model).items():
        assert torch.equal(params(resumed.model)[name], value), name

    def strip(history):
        return [
            {k: v for k, v in e.items() if "runtime" not in k and "per_second" not in k}
            for e in history
        ]

    assert strip(resumed.state.log_history) == strip(straight.state.log_history)
    assert output.global_step == straight.state.global_step


def test_resume_true_picks_latest_checkpoint(tmp_path):
    args = make_args(tmp_path, save_strategy="steps", save_steps=3, max_steps=7)
    Trainer(model=RegressionModel(), args=args, train_dataset=RegressionDataset(length=16)).train()
    trainer = Trainer(
        model=RegressionModel(),
        args=make_args(tmp_path, save_strategy="steps", save_steps=3, max_steps=9),
        train_dataset=RegressionDataset(length=16),
    )
    trainer.train(resume_from_checkpoint=True)
    assert trainer.state.global_step == 9
    assert trainer.state.log_history[0]["step"] == 1  # history carried over from the checkpoint


def test_early_stopping_and_best_model(tmp_path):
    # A learning rate so large that the eval loss gets worse: early stopping halts the run and the
    # best checkpoint (the first) is loaded back.
    args = make_args(
        tmp_path,
        learning_rate=5.0,
        num_train_epochs=20,
        eval_strategy="epoch",
        save_strategy="epoch",
        load_best_model_at_end=True,
        metric_for_best_model="eval_loss",
        save_total_limit=1,
        optim="sgd",
    )
    trainer = Trainer(
        model=RegressionModel(),
        args=args,
        train_dataset=RegressionDataset(length=16),
        eval_dataset=RegressionDataset(length=8, seed=1),
        callbacks=[EarlyStoppingCallback(early_stopping_patience=2)],
    )
    trainer.train()
    assert trainer.state.global_step < 20 * 4
    best = trainer.state.best_model_checkpoint
    assert best is not None and os.path.isdir(best)
    assert trainer.evaluate()["eval_loss"] == pytest.approx(trainer.state.best_metric, rel=1e-5)
    # save_total_limit=1 keeps only the best checkpoint at the end.
    assert os.listdir(tmp_path / "out") == [os.path.basename(best)]


def test_rotation_never_deletes_the_best_checkpoint(tmp_path):
    args = make_args(
        tmp_path,
        num_train_epochs=6,
        eval_strategy="epoch",
        save_strategy="epoch",
        save_total_limit=2,
        metric_for_best_model="eval_loss",
        greater_is_better=True,
    )
    trainer = Trainer(
        model=RegressionModel(),
        args=args,
        train_dataset=RegressionDataset(length=16),
        eval_dataset=RegressionDataset(length=8, seed=1),
    )
    trainer.train()
    kept = sorted(os.listdir(tmp_path / "out"), key=lambda n: int(n.split("-")[1]))
    assert os.path.basename(trainer.state.best_model_checkpoint) in kept
    assert len(kept) == 2 and kept[-1] == "checkpoint-24"


def test_checkpoint_is_complete_and_loads_safely(tmp_path):
    args = make_args(tmp_path, save_strategy="steps", save_steps=2, max_steps=2)
    Trainer(model=RegressionModel(), args=args, train_dataset=RegressionDataset(length=16)).train()
    folder = tmp_path / "out" / "checkpoint-2"
    assert sorted(os.listdir(folder)) == sorted(
        [
            "model.safetensors",
            "optimizer.pt",
            "scheduler.pt",
            "rng_state.pth",
            "trainer_state.json",
            "training_args.bin",
            "data_state.json",
        ]
    )
    assert json.loads((folder / "data_state.json").read_text())["position"] is None  # map-style
    assert not [n for n in os.listdir(tmp_path / "out") if n.startswith(".staging")]
    for name in ("optimizer.pt", "scheduler.pt", "rng_state.pth"):
        torch.load(folder / name, weights_only=True) if name != "rng_state.pth" else None
    state = json.loads((folder / "trainer_state.json").read_text())
    assert state["global_step"] == 2 and state["log_history"]


def test_save_model_writes_weights_and_args(tmp_path):
    trainer = Trainer(model=RegressionModel(a=1.5), args=make_args(tmp_path))
    trainer.save_model(str(tmp_path / "saved"))
    from safetensors.torch import load_file

    weights = load_file(str(tmp_path / "saved" / "model.safetensors"))
    assert weights["a"].item() == pytest.approx(1.5)
    assert (tmp_path / "saved" / "training_args.bin").is_file()


# ------------------------------------------------------------------------------ bad input


class NoLossModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))

    def forward(self, input_x, labels=None):
        return {"logits": input_x * self.w}


def test_model_without_loss_is_a_clear_error(tmp_path):
    trainer = Trainer(
        model=NoLossModel(), args=make_args(tmp_path), train_dataset=RegressionDataset(length=8)
    )
    with pytest.raises(ValueError, match="did not return a loss"):
        trainer.train()
    assert not (tmp_path / "out").exists() or not os.listdir(tmp_path / "out")


def test_empty_dataset_is_a_clear_error(tmp_path):
    trainer = Trainer(
        model=RegressionModel(), args=make_args(tmp_path), train_dataset=RegressionDataset(length=0)
    )
    with pytest.raises(ValueError, match="empty|no example|zero"):
        trainer.train()


def test_resume_from_missing_path_is_a_clear_error(tmp_path):
    trainer = Trainer(
        model=RegressionModel(), args=make_args(tmp_path), train_dataset=RegressionDataset(length=8)
    )
    with pytest.raises(ValueError, match="does not exist"):
        trainer.train(resume_from_checkpoint=str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="no valid checkpoint"):
        trainer.train(resume_from_checkpoint=True)


def test_unknown_metric_for_best_model_is_a_clear_error(tmp_path):
    args = make_args(
        tmp_path, eval_strategy="epoch", save_strategy="epoch", metric_for_best_model="accuracy"
    )
    trainer = Trainer(
        model=RegressionModel(),
        args=args,
        train_dataset=RegressionDataset(length=8),
        eval_dataset=RegressionDataset(length=4),
    )
    with pytest.raises(KeyError, match="eval_accuracy"):
        trainer.train()
    assert not os.listdir(tmp_path / "out")


def test_eval_strategy_without_eval_dataset_fails_at_construction(tmp_path):
    with pytest.raises(ValueError, match="eval_dataset"):
        Trainer(model=RegressionModel(), args=make_args(tmp_path, eval_strategy="epoch"))


def test_model_and_model_init_together_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="not both"):
        Trainer(model=RegressionModel(), model_init=RegressionModel, args=make_args(tmp_path))
