"""evaluate()/predict() options: dataset dicts, accumulation offload, per-batch metrics, padding."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from helpers.models import RegressionDataset, RegressionModel  # noqa: E402
from trainer_args import TrainingArguments  # noqa: E402
from trainer_loop import Trainer  # noqa: E402


def make(tmp_path, model=None, compute_metrics=None, trainer_class=Trainer, **overrides):
    settings = dict(
        output_dir=str(tmp_path / "out"),
        per_device_eval_batch_size=4,
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        save_strategy="no",
    )
    settings.update(overrides)
    return trainer_class(
        model=model or RegressionModel(a=1.0, b=1.0),
        args=TrainingArguments(**settings),
        compute_metrics=compute_metrics,
    )


def test_dict_of_eval_datasets_prefixes_metrics(tmp_path):
    trainer = make(tmp_path)
    metrics = trainer.evaluate(
        {"small": RegressionDataset(length=5), "big": RegressionDataset(length=9, seed=3)}
    )
    assert {"eval_small_loss", "eval_big_loss"} <= metrics.keys()
    assert metrics["eval_small_loss"] == pytest.approx(
        trainer.evaluate(RegressionDataset(length=5))["eval_loss"]
    )


def test_accumulation_offload_gives_the_same_predictions(tmp_path):
    data = RegressionDataset(length=19)
    plain = make(tmp_path).predict(data)
    offloaded = make(tmp_path, eval_accumulation_steps=2).predict(data)
    np.testing.assert_allclose(plain.predictions, offloaded.predictions)
    assert plain.predictions.shape == (19,)
    assert plain.metrics["test_loss"] == pytest.approx(offloaded.metrics["test_loss"])


def test_loss_is_the_sample_weighted_mean(tmp_path):
    data = RegressionDataset(length=10)
    metrics = make(tmp_path).evaluate(data)
    x, y = torch.tensor(data.x), torch.tensor(data.ys)
    assert metrics["eval_loss"] == pytest.approx(((x + 1 - y) ** 2).mean().item(), rel=1e-5)


def test_batch_eval_metrics_calls_per_batch_and_returns_the_summary(tmp_path):
    calls = []

    def metric(prediction, compute_result):
        calls.append(compute_result)
        return {"batches": float(len(calls))} if compute_result else {}

    metrics = make(tmp_path, compute_metrics=metric, batch_eval_metrics=True).evaluate(
        RegressionDataset(length=10)
    )
    assert calls == [False, False, True]
    assert metrics["eval_batches"] == 3.0


def test_batch_eval_metrics_needs_compute_result(tmp_path):
    with pytest.raises(ValueError, match="compute_result"):
        make(tmp_path, compute_metrics=lambda p: {}, batch_eval_metrics=True)


def test_include_for_metrics_passes_inputs_and_losses(tmp_path):
    seen = {}

    def metric(prediction):
        seen["inputs"], seen["losses"] = prediction.inputs, prediction.losses
        return {}

    model = RegressionModel()
    model.main_input_name = "input_x"
    make(
        tmp_path, model=model, compute_metrics=metric, include_for_metrics=["inputs", "loss"]
    ).evaluate(RegressionDataset(length=6))
    assert seen["inputs"].shape == (6,) and seen["losses"].shape == (6,)


class RaggedModel(torch.nn.Module):
    """Returns per-token outputs whose length depends on the batch, to exercise -100 padding."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))

    def forward(self, input_ids, labels=None):
        out = input_ids.float() * self.w
        return (((out - labels.float()) ** 2).mean(), out) if labels is not None else (out,)


def test_predictions_of_different_lengths_are_padded(tmp_path):
    data = [
        {
            "input_ids": torch.ones(2 if i < 4 else 5, dtype=torch.long),
            "labels": torch.ones(2 if i < 4 else 5, dtype=torch.long),
        }
        for i in range(8)
    ]
    output = make(tmp_path, model=RaggedModel()).predict(data)
    assert output.predictions.shape == (8, 5)
    assert (output.predictions[:4, 2:] == -100).all() and (output.predictions[4:] == 1).all()
    assert (output.label_ids[:4, 2:] == -100).all()


@pytest.mark.parametrize("evaluate_first", [True, False])
def test_metric_keys_match_transformers_before_and_after_training(tmp_path, evaluate_first):
    """``*_model_preparation_time`` appears once an evaluation ran before any training."""
    transformers = pytest.importorskip("transformers")
    import trainer_args
    import trainer_loop

    keys = {}
    for name, args_cls, trainer_cls in (
        ("ours", trainer_args.TrainingArguments, trainer_loop.Trainer),
        ("transformers", transformers.TrainingArguments, transformers.Trainer),
    ):
        trainer = trainer_cls(
            model=RegressionModel(),
            args=args_cls(
                output_dir=str(tmp_path / name),
                max_steps=2,
                eval_strategy="steps",
                eval_steps=1,
                report_to="none",
                use_cpu=True,
                disable_tqdm=True,
                save_strategy="no",
            ),
            train_dataset=RegressionDataset(length=16),
            eval_dataset=RegressionDataset(length=6),
        )
        seen = []
        if evaluate_first:
            seen.append(sorted(trainer.evaluate()))
            seen.append(sorted(trainer.predict(RegressionDataset(length=6)).metrics))
        trainer.train()
        seen.append([sorted(e) for e in trainer.state.log_history])
        seen.append(sorted(trainer.evaluate()))
        seen.append(sorted(trainer.predict(RegressionDataset(length=6)).metrics))
        keys[name] = seen
    assert keys["ours"] == keys["transformers"]
    assert any("eval_model_preparation_time" in k for k in keys["ours"]) == evaluate_first


class _DictOutputModel(torch.nn.Module):
    """Returns a dict with a cache entry that predictions should leave out."""

    class config:  # noqa: N801 - stands in for a transformers config
        keys_to_ignore_at_inference = ["cache"]

    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.tensor(2.0))

    def forward(self, input_x, labels=None):
        y = input_x * self.a
        out = {"logits": y, "cache": y * 0, "extra": y + 1}
        if labels is not None:
            out = {"loss": torch.nn.functional.mse_loss(y, labels), **out}
        return out


def test_prediction_leaves_out_the_configs_ignored_keys_and_honours_explicit_ones(tmp_path):
    data = RegressionDataset(length=6)
    trainer = make(tmp_path, model=_DictOutputModel())
    logits, extra = trainer.predict(data).predictions  # "cache" is left out by the config
    np.testing.assert_allclose(extra, logits + 1, rtol=1e-6)
    only = trainer.predict(data, ignore_keys=["extra"]).predictions
    assert len(only) == 2  # explicit ignore_keys replace the config's: logits and cache stay
    np.testing.assert_allclose(only[1], 0.0)
    # Outside the evaluation loop, a direct call works the ignored keys out itself.
    batch = trainer.data_collator([data[0], data[1]])
    loss, step_logits, labels = trainer.prediction_step(trainer.model, batch, False)
    assert loss is not None and len(step_logits) == 2 and labels.shape == (2,)


def test_an_overridden_loss_context_is_entered_for_every_evaluation_batch(tmp_path):
    import contextlib

    entered = []

    class Counting(Trainer):
        def compute_loss_context_manager(self):
            stack = contextlib.ExitStack()
            stack.callback(lambda: entered.append(torch.is_grad_enabled()))
            return stack

    trainer = make(tmp_path, trainer_class=Counting)
    trainer.evaluate(RegressionDataset(length=10))
    assert entered == [False, False, False]  # 3 batches, each exited with gradients off
    assert torch.is_grad_enabled()


def test_gradients_are_back_on_after_a_failing_evaluation_batch(tmp_path):
    class Failing(RegressionModel):
        def forward(self, input_x, labels=None, **kwargs):
            raise RuntimeError("forward failed")

    trainer = make(tmp_path, model=Failing())
    with pytest.raises(RuntimeError, match="forward failed"):
        trainer.evaluate(RegressionDataset(length=4))
    assert torch.is_grad_enabled()
    assert trainer._loop_plan is None


def test_a_prediction_step_listener_is_called_once_per_batch(tmp_path):
    from trainer_loop import TrainerCallback

    calls = []

    class PerBatch(TrainerCallback):
        def on_prediction_step(self, args, state, control, **kwargs):
            calls.append(kwargs["eval_dataloader"] is not None)

    trainer = make(tmp_path)
    trainer.add_callback(PerBatch())
    trainer.evaluate(RegressionDataset(length=10))  # 3 batches of at most 4
    trainer.predict(RegressionDataset(length=8))  # 2 batches
    assert calls == [True] * 5


def test_predictions_come_back_outside_autograd_even_when_the_loss_context_enables_it(tmp_path):
    class WithGrad(Trainer):
        def compute_loss_context_manager(self):
            return torch.enable_grad()  # the forward now records a graph

    trainer = make(tmp_path, trainer_class=WithGrad)
    model = trainer.model
    inputs = next(iter(trainer.get_eval_dataloader(RegressionDataset(length=4))))
    loss, logits, labels = trainer.prediction_step(model, inputs, prediction_loss_only=False)
    assert not loss.requires_grad and not logits.requires_grad and not labels.requires_grad
    output = trainer.predict(RegressionDataset(length=8))
    assert output.predictions.shape == (8,)
