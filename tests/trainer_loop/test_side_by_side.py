"""The same scenario through transformers.Trainer and ours: numbers, keys, events and files agree."""

from __future__ import annotations

import os

import pytest

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

import trainer_loop  # noqa: E402
from helpers.events import make_recorder  # noqa: E402
from helpers.models import RegressionDataset, RegressionModel, lm_data, tiny_gpt2  # noqa: E402
from trainer_args import TrainingArguments  # noqa: E402

COMMON = dict(
    per_device_train_batch_size=4,
    per_device_eval_batch_size=5,
    learning_rate=0.05,
    num_train_epochs=2,
    logging_steps=3,
    eval_strategy="steps",
    eval_steps=5,
    save_strategy="steps",
    save_steps=5,
    report_to="none",
    use_cpu=True,
    disable_tqdm=True,
    optim="adamw_torch",
    weight_decay=0.01,
    warmup_steps=2,
    lr_scheduler_type="cosine",
)


def run_both(tmp_path, model_fn, train, evaluation, **overrides):
    """Train the same model on the same data with both libraries; returns (ours, theirs)."""
    settings = {**COMMON, **overrides}
    results = {}
    for name, trainer_cls, args_cls, callback_base in (
        ("ours", trainer_loop.Trainer, TrainingArguments, trainer_loop.TrainerCallback),
        (
            "theirs",
            transformers.Trainer,
            transformers.TrainingArguments,
            transformers.TrainerCallback,
        ),
    ):
        recorder = make_recorder(callback_base)()
        args = args_cls(output_dir=str(tmp_path / name), **settings)
        trainer = trainer_cls(
            model=model_fn(),
            args=args,
            train_dataset=train,
            eval_dataset=evaluation,
            callbacks=[recorder],
        )
        output = trainer.train()
        results[name] = (trainer, output, recorder)
    return results["ours"], results["theirs"]


def _strip_timing(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if not k.endswith(("_runtime", "_per_second"))}


def test_regression_run_matches_transformers(tmp_path):
    (ours, out, rec), (theirs, out_t, rec_t) = run_both(
        tmp_path,
        RegressionModel,
        RegressionDataset(length=40),
        RegressionDataset(length=13, seed=7),
    )
    # Same weights, same logged numbers, same keys.
    for name, param in ours.model.named_parameters():
        torch.testing.assert_close(
            param, dict(theirs.model.named_parameters())[name], rtol=1e-5, atol=1e-6
        )
    assert len(ours.state.log_history) == len(theirs.state.log_history)
    for mine, reference in zip(ours.state.log_history, theirs.state.log_history):
        mine, reference = _strip_timing(mine), _strip_timing(reference)
        assert mine.keys() == reference.keys()
        for key in mine:
            assert mine[key] == pytest.approx(reference[key], rel=1e-5, abs=1e-7), key
    assert out.metrics.keys() == out_t.metrics.keys()
    assert out.global_step == out_t.global_step
    assert out.training_loss == pytest.approx(out_t.training_loss, rel=1e-6)
    # Same events in the same order.
    assert rec.events == rec_t.events


def test_checkpoint_layout_matches_transformers(tmp_path):
    (ours, _, _), (theirs, _, _) = run_both(
        tmp_path,
        RegressionModel,
        RegressionDataset(length=40),
        RegressionDataset(length=13, seed=7),
        load_best_model_at_end=True,
        save_total_limit=2,
    )
    ours_dir, theirs_dir = tmp_path / "ours", tmp_path / "theirs"
    assert sorted(os.listdir(ours_dir)) == sorted(os.listdir(theirs_dir))
    for folder in os.listdir(theirs_dir):
        ours_files = [n for n in os.listdir(ours_dir / folder) if not n.startswith("data_state")]
        assert sorted(ours_files) == sorted(os.listdir(theirs_dir / folder)), folder
    state = ours.state
    assert state.best_metric == pytest.approx(theirs.state.best_metric, rel=1e-5)
    assert os.path.basename(state.best_model_checkpoint) == os.path.basename(
        theirs.state.best_model_checkpoint
    )
    # The best model was loaded back at the end in both.
    for name, param in ours.model.named_parameters():
        torch.testing.assert_close(
            param, dict(theirs.model.named_parameters())[name], rtol=1e-5, atol=1e-6
        )


def test_evaluate_and_predict_keys_match(tmp_path):
    (ours, _, _), (theirs, _, _) = run_both(
        tmp_path,
        RegressionModel,
        RegressionDataset(length=16),
        RegressionDataset(length=9, seed=3),
        max_steps=2,
    )
    test = RegressionDataset(length=11, seed=5)
    mine, reference = ours.evaluate(), theirs.evaluate()
    assert mine.keys() == reference.keys()
    assert mine["eval_loss"] == pytest.approx(reference["eval_loss"], rel=1e-5)
    p_mine, p_ref = ours.predict(test), theirs.predict(test)
    assert p_mine.metrics.keys() == p_ref.metrics.keys()
    assert p_mine.predictions.shape == p_ref.predictions.shape
    assert p_mine.label_ids.shape == p_ref.label_ids.shape
    torch.testing.assert_close(
        torch.as_tensor(p_mine.predictions), torch.as_tensor(p_ref.predictions)
    )


def test_transformers_model_trains_identically(tmp_path):
    data = lm_data(n=24, seq_len=8)
    (ours, out, rec), (theirs, out_t, rec_t) = run_both(
        tmp_path, tiny_gpt2, data, lm_data(n=6, seq_len=8, seed=1), gradient_accumulation_steps=2
    )
    for name, param in ours.model.named_parameters():
        torch.testing.assert_close(
            param, dict(theirs.model.named_parameters())[name], rtol=1e-4, atol=1e-5
        )
    assert ours.state.total_flos == theirs.state.total_flos
    evals = [e["eval_loss"] for e in ours.state.log_history if "eval_loss" in e]
    evals_t = [e["eval_loss"] for e in theirs.state.log_history if "eval_loss" in e]
    assert evals == pytest.approx(evals_t, rel=1e-5)
    assert rec.events == rec_t.events
    # The model's own save_pretrained layout is used in checkpoints.
    assert (tmp_path / "ours" / "checkpoint-5" / "config.json").is_file()


def _resume_args(name, tmp_path, max_steps):
    return dict(
        output_dir=str(tmp_path / name),
        per_device_train_batch_size=4,
        learning_rate=0.05,
        max_steps=max_steps,
        save_steps=3,
        logging_steps=1,
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        optim="adamw_torch",
    )


@pytest.mark.parametrize("direction", ["transformers_to_ours", "ours_to_transformers"])
def test_checkpoints_resume_across_libraries(tmp_path, direction):
    train = RegressionDataset(length=32)
    writer, reader = (
        (transformers, trainer_loop)
        if direction == "transformers_to_ours"
        else (trainer_loop, transformers)
    )
    writer_args = transformers.TrainingArguments if writer is transformers else TrainingArguments
    reader_args = transformers.TrainingArguments if reader is transformers else TrainingArguments
    first = writer.Trainer(
        model=RegressionModel(),
        args=writer_args(**_resume_args("a", tmp_path, 8)),
        train_dataset=train,
    )
    first.train()
    # The reference: the reading library trains 8 steps without interruption.
    straight = reader.Trainer(
        model=RegressionModel(),
        args=reader_args(**_resume_args("b", tmp_path, 8)),
        train_dataset=train,
    )
    straight.train()
    resumed = reader.Trainer(
        model=RegressionModel(),
        args=reader_args(**_resume_args("c", tmp_path, 8)),
        train_dataset=train,
    )
    resumed.train(resume_from_checkpoint=str(tmp_path / "a" / "checkpoint-3"))
    assert resumed.state.global_step == 8
    for name, param in resumed.model.named_parameters():
        torch.testing.assert_close(
            param, dict(straight.model.named_parameters())[name], rtol=1e-5, atol=1e-6
        )
    resumed_losses = [e["loss"] for e in resumed.state.log_history if "loss" in e]
    straight_losses = [e["loss"] for e in straight.state.log_history if "loss" in e]
    assert resumed_losses == pytest.approx(straight_losses, rel=1e-5)
