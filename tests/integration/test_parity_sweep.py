"""A sweep of argument combinations run through transformers.Trainer and ours, compared in full.

Each case builds the same tiny model (same seed) and data, runs the same ``TrainingArguments``
keyword arguments through both libraries and compares: ``log_history`` (keys and values, timing
keys aside), final weights, the ``TrainOutput``, callback events, checkpoint folders and their
files, ``trainer_state.json`` and ``evaluate()`` / ``predict()`` metrics.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

import trainer_loop  # noqa: E402
from helpers.events import make_recorder  # noqa: E402
from helpers.models import (  # noqa: E402
    RegressionDataset,
    RegressionModel,
    TinyMLP,
    classification_data,
    lm_data,
    tiny_gpt2,
)
from trainer_args import TrainingArguments  # noqa: E402

pytestmark = pytest.mark.slow

BASE = dict(
    use_cpu=True,
    report_to="none",
    disable_tqdm=True,
    per_device_train_batch_size=4,
    learning_rate=0.05,
    num_train_epochs=2,
    logging_steps=2,
    save_strategy="no",
    optim="adamw_torch",
)
TIMING = ("_runtime", "_per_second")
STATE_FIELDS = (
    "best_metric",
    "best_global_step",
    "epoch",
    "global_step",
    "max_steps",
    "logging_steps",
    "eval_steps",
    "save_steps",
    "num_train_epochs",
    "train_batch_size",
)
LIBS = {
    "ours": (trainer_loop, TrainingArguments),
    "theirs": (transformers, transformers.TrainingArguments),
}


def _regression_model():
    torch.manual_seed(0)
    return RegressionModel()


def _mlp():
    torch.manual_seed(0)
    return TinyMLP(in_features=8, hidden=8, classes=3)


def _mlp_data(n, seed=0):
    return classification_data(n=n, in_features=8, classes=3, seed=seed)


def accuracy(pred) -> dict:
    logits = pred.predictions[0] if isinstance(pred.predictions, tuple) else pred.predictions
    return {"accuracy": float((np.argmax(logits, -1) == pred.label_ids).mean())}


class BatchAccuracy:
    """Accumulates accuracy over batches (``batch_eval_metrics=True``)."""

    def __init__(self):
        self.right, self.total = 0, 0

    def __call__(self, pred, compute_result: bool) -> dict:
        logits = pred.predictions[0] if isinstance(pred.predictions, tuple) else pred.predictions
        labels = pred.label_ids
        self.right += int((logits.argmax(-1) == labels).sum())
        self.total += int(labels.numel())
        if not compute_result:
            return {}
        value = self.right / self.total
        self.right, self.total = 0, 0
        return {"accuracy": value}


def inputs_and_loss_seen(pred) -> dict:
    return {
        "has_inputs": float(pred.inputs is not None),
        "has_losses": float(pred.losses is not None),
        "mean_loss": float(np.mean(pred.losses)),
    }


def _hf_dataset(n):
    datasets = pytest.importorskip("datasets")
    rows = _mlp_data(n)
    return datasets.Dataset.from_dict(
        {
            "x": [r["x"].tolist() for r in rows],
            "target": [int(r["labels"]) for r in rows],
            "note": [f"row {i}" for i in range(n)],
        }
    ).with_format("torch")


def _regression_hf(n):
    datasets = pytest.importorskip("datasets")
    data = RegressionDataset(length=n)
    return datasets.Dataset.from_dict({"input_x": data.x, "labels": data.ys}).with_format("torch")


class TargetMLP(TinyMLP):
    """``TinyMLP`` whose labels column is called ``target``."""

    def forward(self, x, target=None):
        return super().forward(x, labels=target)


class ConfiguredMLP(TinyMLP):
    """``TinyMLP`` with what transformers looks up on a model: ``config`` and ``main_input_name``."""

    config = None
    main_input_name = "x"


def _configured_mlp():
    torch.manual_seed(0)
    return ConfiguredMLP(in_features=8, hidden=8, classes=3)


def _target_mlp():
    torch.manual_seed(0)
    return TargetMLP(in_features=8, hidden=8, classes=3)


@dataclass
class Case:
    id: str
    args: dict = field(default_factory=dict)
    model: Callable | None = _regression_model
    train: Callable = lambda: RegressionDataset(length=24)
    eval: Callable | None = lambda: RegressionDataset(length=10, seed=7)
    compute_metrics: Callable | None = None
    callbacks: Callable = lambda lib: []
    evaluate_after: bool = True
    predict: Callable | None = lambda: RegressionDataset(length=7, seed=5)
    resume: dict | None = None  # arguments for a first, interrupted run
    rtol: float = 1e-5
    skip_state: tuple = ()
    fresh_metrics: Callable | None = None  # a factory, for stateful compute_metrics
    # Documented deliberate differences (docs/migration.md): what is left out of the comparison,
    # and a check of our side of it.
    ignore: tuple = ()
    deliberate: Callable | None = None
    trainer_kwargs: dict = field(default_factory=dict)
    extra: Callable | None = None  # more calls on the trained Trainer; returns what to compare


def _mlp_case(id, args, train_n=16, eval_n=10, predict_n=6, model=_mlp, **kwargs) -> Case:
    """A case on the tiny MLP classifier with its own train, eval and predict sets."""
    return Case(
        id,
        args,
        model=model,
        train=lambda: _mlp_data(train_n),
        eval=lambda: _mlp_data(eval_n, seed=1),
        predict=lambda: _mlp_data(predict_n, seed=2),
        **kwargs,
    )


def _eval_steps(**kw):
    return {"eval_strategy": "steps", "eval_steps": 3, **kw}


def _best_checkpoint_recorded(ours, theirs):
    """save_strategy="best": we record the checkpoint of the best metric; transformers never does."""
    state = ours["trainer"].state
    assert theirs["trainer"].state.best_model_checkpoint is None
    assert state.best_model_checkpoint is not None
    best_step = max(e["step"] for e in state.log_history if e.get("eval_loss") == state.best_metric)
    assert os.path.basename(state.best_model_checkpoint) == f"checkpoint-{best_step}"


def _train_loss_over_whole_run(ours, theirs):
    """After resuming, ``train_loss`` averages every step's loss, not only the resumed ones."""
    losses = [e["loss"] for e in ours["trainer"].state.log_history if "loss" in e]
    assert len(losses) == ours["output"].global_step  # logging_steps=1
    assert ours["output"].training_loss == pytest.approx(sum(losses) / len(losses), rel=1e-3)
    resumed = losses[5:]  # the steps the resumed run trained
    assert theirs["output"].training_loss == pytest.approx(sum(resumed) / len(losses), rel=1e-3)


class IterableRegression(torch.utils.data.IterableDataset):
    """The items of ``RegressionDataset`` as a stream, without a length."""

    def __init__(self, length: int, seed: int = 42):
        self.data = RegressionDataset(length=length, seed=seed)

    def __iter__(self):
        return (self.data[i] for i in range(len(self.data)))


def _iterable_drop_last(ours, theirs):
    """dataloader_drop_last applies to iterable datasets too; transformers ignores it for them."""
    sizes = [len(b["labels"]) for b in ours["trainer"].get_train_dataloader()]
    sizes_t = [len(b["labels"]) for b in theirs["trainer"].get_train_dataloader()]
    assert sizes == [4, 4, 4, 4] and sizes_t == [4, 4, 4, 4, 2]


def _best_loaded(ours, theirs):
    """With save_strategy="best", ours loads the best checkpoint at the end; transformers keeps
    the last weights (it never records the best checkpoint for that strategy)."""
    from safetensors.torch import load_file

    best = ours["trainer"].state.best_model_checkpoint
    assert best is not None and theirs["trainer"].state.best_model_checkpoint is None
    saved = load_file(os.path.join(best, "model.safetensors"))
    for name, param in ours["trainer"].model.named_parameters():
        torch.testing.assert_close(param.detach(), saved[name])


def _loss_window_restored(ours, theirs):
    """Resuming between two logs: only the first loss logged after resuming differs.

    Ours averages the whole window (steps before the checkpoint included), as the uninterrupted
    run would; transformers averages only the steps run since resuming.
    """
    log = [e for e in ours["trainer"].state.log_history if "loss" in e]
    log_t = [e for e in theirs["trainer"].state.log_history if "loss" in e]
    differ = [
        e["step"] for e, r in zip(log, log_t) if e["loss"] != pytest.approx(r["loss"], rel=1e-5)
    ]
    assert differ == [4]


def _grouped_order_is_seeded(ours, theirs):
    """group_by_length draws its order from the seed, not from the global torch RNG."""
    trainer = ours["trainer"]
    torch.manual_seed(1)
    first = next(iter(trainer.get_train_dataloader()))["input_ids"]
    torch.manual_seed(2)
    again = next(iter(trainer.get_train_dataloader()))["input_ids"]
    assert torch.equal(first, again)


def _order_follows_seed(ours, theirs):
    """The data order comes from ``seed`` even when ``model_init`` re-seeds torch."""
    reference = trainer_loop.Trainer(
        model=RegressionModel(),
        args=ours["trainer"].args,
        train_dataset=RegressionDataset(length=24),
    )
    reference.train()
    losses = [e["loss"] for e in reference.state.log_history if "loss" in e]
    assert losses == [e["loss"] for e in ours["trainer"].state.log_history if "loss" in e]


def _controlling_callback(lib):
    class Controls(lib.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 2:
                control.should_evaluate = True
            if state.global_step == 3:
                control.should_save = True
                control.should_log = True
            if state.global_step == 5:
                control.should_epoch_stop = True
            if state.global_step == 8:
                control.should_training_stop = True

    return [Controls()]


def _extra_calls(trainer) -> dict:
    """Calls after training whose results must agree between the libraries."""
    found = dict(trainer.evaluate(eval_dataset="a"))
    found.update(trainer.evaluate(RegressionDataset(length=5, seed=9), metric_key_prefix="dev"))
    found.update(trainer.predict(RegressionDataset(length=5), metric_key_prefix="pred").metrics)
    trainer.save_model(os.path.join(trainer.args.output_dir, "final"))
    trainer.save_state()
    names = sorted(os.listdir(trainer.args.output_dir))
    found["files"] = names
    found["final_files"] = sorted(os.listdir(os.path.join(trainer.args.output_dir, "final")))
    with open(os.path.join(trainer.args.output_dir, "trainer_state.json")) as f:
        state = json.load(f)
    found["state_keys"] = sorted(state)
    found.update({f"state_{k}": state[k] for k in STATE_FIELDS})
    return found


def _ragged_lm(seed: int = 2) -> list[dict]:
    """Batches of two with lengths 5, 7, 6: predictions are padded with -100 when joined."""
    rows = []
    for i, length in enumerate((5, 7, 6)):
        rows += lm_data(n=2, seq_len=length, seed=seed + i)
    return rows


def _shape_metrics(pred) -> dict:
    logits = pred.predictions[0] if isinstance(pred.predictions, tuple) else pred.predictions
    return {
        "padded": float((pred.label_ids == -100).sum()),
        "width": float(pred.label_ids.shape[1]),
        "logit_sum": float(np.where(np.isfinite(logits), logits, 0).sum()),
    }


def _mixed_prefix_metrics(pred) -> dict:
    first = pred.predictions[0] if isinstance(pred.predictions, tuple) else pred.predictions
    return {
        "eval_mse": float(((first - pred.label_ids) ** 2).mean()),
        "mae": np.float32(np.abs(first - pred.label_ids).mean()),
        "count": len(pred.label_ids),
    }


def _l1_loss(outputs, labels, num_items_in_batch=None):
    logits = outputs["logits"]
    return (logits - torch.nn.functional.one_hot(labels, logits.shape[-1])).abs().mean()


def _summed_loss(outputs, labels, num_items_in_batch=None):
    loss = torch.nn.functional.cross_entropy(outputs["logits"], labels, reduction="sum")
    return loss / (num_items_in_batch if num_items_in_batch is not None else len(labels))


def _early_stopping(lib):
    return [lib.EarlyStoppingCallback(early_stopping_patience=1, early_stopping_threshold=0.5)]


CASES = [
    Case("eval_steps_delay", _eval_steps(eval_delay=4)),
    Case("eval_epoch_delay", dict(eval_strategy="epoch", eval_delay=1, num_train_epochs=3)),
    Case(
        "save_steps_limit_best_loss",
        _eval_steps(
            save_strategy="steps", save_steps=3, save_total_limit=1, load_best_model_at_end=True
        ),
    ),
    _mlp_case(
        "save_epoch_best_accuracy",
        dict(
            eval_strategy="epoch",
            save_strategy="epoch",
            load_best_model_at_end=True,
            metric_for_best_model="accuracy",
            greater_is_better=True,
            save_total_limit=2,
            num_train_epochs=3,
        ),
        train_n=20,
        eval_n=12,
        compute_metrics=accuracy,
    ),
    Case(
        "save_best_strategy",
        _eval_steps(save_strategy="best", metric_for_best_model="loss", save_total_limit=2),
        ignore=("best_model_checkpoint",),
        deliberate=_best_checkpoint_recorded,
    ),
    Case("logging_epoch", dict(logging_strategy="epoch", eval_strategy="epoch")),
    Case("logging_no", dict(logging_strategy="no")),
    Case("logging_first_step", dict(logging_first_step=True, logging_steps=4)),
    Case(
        "fractional_steps",
        dict(
            logging_steps=0.2,
            eval_strategy="steps",
            eval_steps=0.35,
            save_strategy="steps",
            save_steps=0.5,
        ),
    ),
    Case(
        "grad_accum_uneven",
        dict(gradient_accumulation_steps=3, logging_steps=1),
        train=lambda: RegressionDataset(length=26),
    ),
    Case("max_steps_short", dict(max_steps=3, logging_steps=1, num_train_epochs=5)),
    Case("max_steps_long", dict(max_steps=20, logging_steps=3)),
    Case("fractional_epochs", dict(num_train_epochs=1.5, logging_steps=1)),
    Case("warmup_steps_cosine", dict(warmup_steps=3, lr_scheduler_type="cosine")),
    Case("warmup_float_ratio", dict(warmup_steps=0.25, lr_scheduler_type="linear")),
    Case("warmup_ratio_poly", dict(warmup_ratio=0.2, lr_scheduler_type="polynomial")),
    Case("constant", dict(lr_scheduler_type="constant")),
    Case("constant_warmup", dict(lr_scheduler_type="constant_with_warmup", warmup_steps=2)),
    Case("inverse_sqrt", dict(lr_scheduler_type="inverse_sqrt", warmup_steps=2)),
    Case(
        "cosine_restarts_kwargs",
        dict(
            lr_scheduler_type="cosine_with_restarts",
            lr_scheduler_kwargs={"num_cycles": 2},
            warmup_steps=1,
        ),
    ),
    Case(
        "cosine_min_lr",
        dict(lr_scheduler_type="cosine_with_min_lr", lr_scheduler_kwargs={"min_lr_rate": 0.1}),
    ),
    Case(
        "warmup_stable_decay",
        dict(
            lr_scheduler_type="warmup_stable_decay",
            warmup_steps=2,
            lr_scheduler_kwargs={"num_decay_steps": 4},
        ),
    ),
    Case(
        "wsd_cosine_decay_kwargs",
        dict(
            lr_scheduler_type="warmup_stable_decay",
            warmup_ratio=0.1,
            lr_scheduler_kwargs={
                "num_stable_steps": 5,
                "num_decay_steps": 4,
                "decay_type": "1-sqrt",
                "min_lr_ratio": 0.1,
            },
            logging_steps=1,
        ),
    ),
    Case(
        "cosine_min_lr_absolute",
        dict(
            lr_scheduler_type="cosine_with_min_lr",
            warmup_steps=0.2,
            lr_scheduler_kwargs={"min_lr": 0.01, "num_cycles": 1.0},
            logging_steps=1,
        ),
    ),
    Case(
        "reduce_on_plateau",
        _eval_steps(lr_scheduler_type="reduce_lr_on_plateau", eval_steps=2, learning_rate=0.5),
    ),
    Case("sgd_decay", dict(optim="sgd", weight_decay=0.1, learning_rate=0.02)),
    Case("adafactor", dict(optim="adafactor", learning_rate=0.01)),
    Case(
        "adamw_betas_decay",
        dict(weight_decay=0.05, adam_beta1=0.8, adam_beta2=0.9, adam_epsilon=1e-6),
    ),
    Case("no_clipping", dict(max_grad_norm=0.0, logging_steps=1)),
    Case("clip_small", dict(max_grad_norm=0.1, logging_steps=1)),
    _mlp_case(
        "label_smoothing",
        _eval_steps(label_smoothing_factor=0.1),
        model=_configured_mlp,
        eval_n=8,
    ),
    Case(
        "tokens_seen",
        dict(include_num_input_tokens_seen=True, gradient_accumulation_steps=2),
        model=lambda: tiny_gpt2(),
        train=lambda: lm_data(n=12, seq_len=8),
        eval=lambda: lm_data(n=4, seq_len=8, seed=1),
        predict=None,
        rtol=1e-4,
    ),
    Case("eval_on_start", _eval_steps(eval_on_start=True)),
    Case("drop_last", dict(dataloader_drop_last=True), train=lambda: RegressionDataset(length=22)),
    Case(
        "group_by_length",
        dict(train_sampling_strategy="group_by_length", per_device_train_batch_size=3),
        model=lambda: tiny_gpt2(),
        train=lambda: lm_data(n=12, seq_len=8),
        eval=None,
        predict=None,
        rtol=1e-4,
        ignore=("loss", "grad_norm", "train_loss", "weights"),
        deliberate=_grouped_order_is_seeded,
    ),
    Case("sequential_sampler", dict(train_sampling_strategy="sequential", logging_steps=1)),
    Case(
        "eval_batch_and_loss_only",
        _eval_steps(per_device_eval_batch_size=3, prediction_loss_only=True),
    ),
    _mlp_case(
        "include_for_metrics",
        _eval_steps(include_for_metrics=["inputs", "loss"], per_device_eval_batch_size=4),
        model=_configured_mlp,
        compute_metrics=inputs_and_loss_seen,
    ),
    _mlp_case(
        "batch_eval_metrics",
        _eval_steps(batch_eval_metrics=True, per_device_eval_batch_size=4),
        fresh_metrics=BatchAccuracy,
    ),
    _mlp_case(
        "eval_accumulation",
        _eval_steps(eval_accumulation_steps=2, per_device_eval_batch_size=2),
        eval_n=9,
        predict_n=5,
        compute_metrics=accuracy,
    ),
    _mlp_case(
        "no_concat_batches",
        _eval_steps(eval_do_concat_batches=False, per_device_eval_batch_size=4),
        eval_n=9,
        predict_n=5,
    ),
    Case(
        "dict_eval_dataset",
        _eval_steps(
            save_strategy="steps",
            save_steps=3,
            load_best_model_at_end=True,
            metric_for_best_model="eval_b_loss",
        ),
        eval=lambda: {
            "a": RegressionDataset(length=8, seed=7),
            "b": RegressionDataset(length=6, seed=8),
        },
        evaluate_after=False,
    ),
    Case(
        "early_stopping",
        _eval_steps(
            eval_steps=1,
            save_strategy="steps",
            save_steps=1,
            load_best_model_at_end=True,
            num_train_epochs=4,
            learning_rate=0.01,
        ),
        callbacks=_early_stopping,
    ),
    Case(
        "resume_after_max_steps",
        dict(save_strategy="steps", save_steps=2, logging_steps=1, max_steps=10),
        resume=dict(max_steps=5),
        ignore=("train_loss",),
        deliberate=_train_loss_over_whole_run,
    ),
    Case("empty_cache_steps", dict(torch_empty_cache_steps=2)),
    Case("eval_steps_default", {"eval_strategy": "steps", "logging_steps": 3}),
    Case("eval_on_start_epoch", dict(eval_strategy="epoch", eval_on_start=True)),
    Case(
        "save_only_model_epoch",
        dict(save_strategy="epoch", save_only_model=True, eval_strategy="epoch"),
    ),
    Case("data_seed", dict(data_seed=7, seed=3, logging_steps=1)),
    Case("adagrad", dict(optim="adagrad", learning_rate=0.1)),
    Case("rmsprop", dict(optim="rmsprop", learning_rate=0.01)),
    Case("sgd_optim_args", dict(optim="sgd", optim_args="momentum=0.9", learning_rate=0.01)),
    Case(
        "polynomial_kwargs",
        dict(lr_scheduler_type="polynomial", lr_scheduler_kwargs={"power": 2.0, "lr_end": 1e-3}),
    ),
    Case("batch_bigger_than_data", dict(per_device_train_batch_size=32, logging_steps=1)),
    Case(
        "ga_max_steps_uneven",
        dict(gradient_accumulation_steps=2, max_steps=9, logging_steps=2),
        train=lambda: RegressionDataset(length=18),
    ),
    Case(
        "tokens_seen_non_padding",
        dict(include_num_input_tokens_seen="non_padding", logging_steps=1),
        model=lambda: tiny_gpt2(),
        train=lambda: lm_data(n=8, seq_len=8),
        eval=None,
        predict=None,
        rtol=1e-4,
    ),
    Case(
        "neftune",
        dict(neftune_noise_alpha=5.0, logging_steps=1, num_train_epochs=1),
        model=lambda: tiny_gpt2(),
        train=lambda: lm_data(n=8, seq_len=8),
        eval=lambda: lm_data(n=4, seq_len=8, seed=1),
        predict=None,
        rtol=1e-4,
    ),
    _mlp_case(
        "preprocess_logits",
        _eval_steps(per_device_eval_batch_size=4),
        compute_metrics=lambda p: {"right": float((p.predictions == p.label_ids).mean())},
        trainer_kwargs={"preprocess_logits_for_metrics": lambda logits, labels: logits.argmax(-1)},
    ),
    _mlp_case(
        "compute_loss_func",
        dict(logging_steps=1),
        trainer_kwargs={"compute_loss_func": _l1_loss},
    ),
    Case(
        "compute_loss_func_ga",
        dict(logging_steps=1, gradient_accumulation_steps=3, max_grad_norm=0.2),
        model=_mlp,
        train=lambda: _mlp_data(20),
        eval=lambda: _mlp_data(10, seed=1),
        predict=None,
        trainer_kwargs={"compute_loss_func": _summed_loss},
    ),
    _mlp_case(
        "label_smoothing_ga",
        dict(label_smoothing_factor=0.2, gradient_accumulation_steps=2, logging_steps=1),
        model=_configured_mlp,
        train_n=18,
        eval_n=8,
    ),
    Case(
        "fractional_with_max_steps",
        dict(
            max_steps=10,
            logging_steps=0.25,
            eval_strategy="steps",
            eval_steps=0.3,
            save_strategy="steps",
            save_steps=0.3,
            load_best_model_at_end=True,
            per_device_eval_batch_size=1,
        ),
    ),
    Case(
        "epoch_everything_ga_partial",
        dict(
            eval_strategy="epoch",
            save_strategy="epoch",
            logging_strategy="epoch",
            gradient_accumulation_steps=4,
            num_train_epochs=3,
            save_total_limit=2,
        ),
        train=lambda: RegressionDataset(length=21),
    ),
    Case("nan_filter_off", dict(logging_nan_inf_filter=False, logging_steps=1)),
    Case("memory_metrics", dict(skip_memory_metrics=False, max_steps=3)),
    Case(
        "mlp_decay_groups",
        dict(weight_decay=0.5, logging_steps=1),
        model=_mlp,
        train=lambda: _mlp_data(16),
        eval=lambda: _mlp_data(8, seed=1),
        predict=lambda: [{"x": r["x"]} for r in _mlp_data(5, seed=2)],
    ),
    Case(
        "cosine_warmup_min_lr",
        dict(
            lr_scheduler_type="cosine_warmup_with_min_lr",
            warmup_ratio=0.25,
            lr_scheduler_kwargs={"min_lr": 1e-3},
        ),
    ),
    Case("adamw_fused", dict(optim="adamw_torch_fused")),
    Case("full_determinism", dict(full_determinism=True, seed=5)),
    Case("logging_steps_beyond_run", dict(logging_steps=50)),
    Case("save_steps_beyond_run", dict(save_strategy="steps", save_steps=50)),
    Case(
        "epoch_strategies_fractional_epochs",
        dict(eval_strategy="epoch", save_strategy="epoch", num_train_epochs=1.5, logging_steps=1),
    ),
    Case(
        "epoch_strategies_max_steps_mid_epoch",
        dict(eval_strategy="epoch", save_strategy="epoch", max_steps=8, logging_strategy="epoch"),
    ),
    Case(
        "save_limit_one_best",
        _eval_steps(
            eval_steps=2,
            save_strategy="steps",
            save_steps=2,
            save_total_limit=1,
            load_best_model_at_end=True,
            learning_rate=0.3,
        ),
    ),
    _mlp_case(
        "accuracy_default_greater",
        dict(
            eval_strategy="steps",
            eval_steps=2,
            save_strategy="steps",
            save_steps=2,
            metric_for_best_model="accuracy",
            load_best_model_at_end=True,
        ),
        eval_n=12,
        compute_metrics=accuracy,
    ),
    Case(
        "label_smoothing_causal_lm",
        _eval_steps(label_smoothing_factor=0.1, logging_steps=1),
        model=lambda: tiny_gpt2(),
        train=lambda: lm_data(n=8, seq_len=8),
        eval=lambda: lm_data(n=4, seq_len=8, seed=1),
        predict=None,
        rtol=1e-4,
    ),
    Case(
        "gpt2_ga_no_token_averaging",
        dict(average_tokens_across_devices=False, gradient_accumulation_steps=2, logging_steps=1),
        model=lambda: tiny_gpt2(),
        train=lambda: lm_data(n=12, seq_len=8),
        eval=None,
        predict=None,
        rtol=1e-4,
    ),
    Case(
        "gradient_checkpointing",
        dict(gradient_checkpointing=True, logging_steps=1, num_train_epochs=1),
        model=lambda: tiny_gpt2(),
        train=lambda: lm_data(n=8, seq_len=8),
        eval=None,
        predict=None,
        rtol=1e-4,
    ),
    Case("auto_find_batch_size", dict(auto_find_batch_size=True)),
    Case("warmup_longer_than_run", dict(warmup_steps=40, lr_scheduler_type="linear")),
    Case(
        "plateau_kwargs",
        _eval_steps(
            eval_steps=1,
            lr_scheduler_type="reduce_lr_on_plateau",
            lr_scheduler_kwargs={"patience": 0, "factor": 0.5},
            learning_rate=0.5,
        ),
    ),
    Case(
        "first_step_and_eval_on_start",
        _eval_steps(logging_first_step=True, eval_on_start=True, logging_strategy="epoch"),
    ),
    _mlp_case(
        "predict_loss_only",
        _eval_steps(prediction_loss_only=True, eval_accumulation_steps=1),
        eval_n=8,
        predict_n=5,
    ),
    _mlp_case(
        "no_concat_with_accumulation",
        _eval_steps(
            eval_do_concat_batches=False, eval_accumulation_steps=2, per_device_eval_batch_size=3
        ),
        predict_n=7,
    ),
    Case(
        "datasets_keep_columns",
        dict(remove_unused_columns=False, logging_steps=1),
        train=lambda: _regression_hf(16),
        eval=lambda: _regression_hf(8),
        predict=lambda: _regression_hf(5),
    ),
    Case(
        "model_init",
        dict(logging_steps=1, seed=11),
        model=None,
        trainer_kwargs={"model_init": lambda: RegressionModel()},
    ),
    Case(
        "model_init_reseeds",
        dict(logging_steps=1, seed=11),
        model=None,
        trainer_kwargs={"model_init": _regression_model},  # calls torch.manual_seed(0)
        ignore=(
            "loss",
            "grad_norm",
            "train_loss",
            "eval_loss",
            "test_loss",
            "weights",
            "predictions",
        ),
        deliberate=_order_follows_seed,
    ),
    Case(
        "gpt2_decay_adafactor",
        dict(optim="adafactor", weight_decay=0.1, learning_rate=0.01, logging_steps=1),
        model=lambda: tiny_gpt2(),
        train=lambda: lm_data(n=8, seq_len=8),
        eval=None,
        predict=None,
        rtol=1e-4,
    ),
    Case(
        "gpt2_decay_adamw",
        dict(weight_decay=0.1, learning_rate=0.01, logging_steps=1, max_grad_norm=0.5),
        model=lambda: tiny_gpt2(),
        train=lambda: lm_data(n=8, seq_len=8),
        eval=None,
        predict=None,
        rtol=1e-4,
    ),
    Case(
        "callback_controls",
        _eval_steps(eval_steps=100, save_strategy="steps", save_steps=100),
        callbacks=_controlling_callback,
    ),
    Case(
        "extra_calls",
        _eval_steps(save_strategy="steps", save_steps=3),
        eval=lambda: {
            "a": RegressionDataset(length=8, seed=7),
            "b": RegressionDataset(length=6, seed=8),
        },
        evaluate_after=False,
        extra=_extra_calls,
    ),
    Case(
        "ragged_eval_lengths",
        _eval_steps(per_device_eval_batch_size=2, eval_accumulation_steps=1),
        model=lambda: tiny_gpt2(),
        train=lambda: lm_data(n=8, seq_len=8),
        eval=lambda: _ragged_lm(),
        predict=lambda: _ragged_lm(seed=3),
        compute_metrics=_shape_metrics,
        rtol=1e-4,
    ),
    Case(
        "double_output_and_prefixed_metrics",
        _eval_steps(per_device_eval_batch_size=3),
        model=lambda: RegressionModel(double_output=True),
        compute_metrics=_mixed_prefix_metrics,
    ),
    Case(
        "save_best_load_best",
        _eval_steps(
            eval_steps=2,
            save_strategy="best",
            metric_for_best_model="loss",
            load_best_model_at_end=True,
            learning_rate=0.3,
        ),
        ignore=("best_model_checkpoint", "weights", "eval_loss", "test_loss", "predictions"),
        deliberate=_best_loaded,
    ),
    Case(
        "iterable_dataset",
        _eval_steps(max_steps=7, logging_steps=1, save_strategy="steps", save_steps=3),
        train=lambda: IterableRegression(22),
        eval=lambda: IterableRegression(9, seed=7),
        predict=lambda: IterableRegression(5, seed=5),
    ),
    Case(
        "iterable_ga_drop_last",
        dict(
            max_steps=6, gradient_accumulation_steps=2, dataloader_drop_last=True, logging_steps=1
        ),
        train=lambda: IterableRegression(18),
        eval=None,
        predict=None,
        ignore=("loss", "grad_norm", "train_loss", "weights", "events"),
        deliberate=_iterable_drop_last,
    ),
    Case(
        "resume_ga_uneven_mid_epoch",
        dict(save_strategy="steps", save_steps=2, logging_steps=2, gradient_accumulation_steps=3),
        train=lambda: RegressionDataset(length=26),
        resume=dict(max_steps=3),  # checkpoint-3 is written mid-way between two logs
        ignore=("train_loss", "loss"),
        deliberate=_loss_window_restored,
    ),
    Case(
        "resume_best_model_tracking",
        _eval_steps(
            eval_steps=2,
            save_strategy="steps",
            save_steps=2,
            load_best_model_at_end=True,
            save_total_limit=2,
            logging_steps=1,
        ),
        resume=dict(max_steps=6),
        ignore=("train_loss",),
    ),
    Case(
        "resume_epoch_checkpoint",
        dict(save_strategy="epoch", eval_strategy="epoch", logging_steps=1, num_train_epochs=3),
        resume=dict(num_train_epochs=1),
        ignore=("train_loss",),
    ),
    Case(
        "resume_ga_ignore_data_skip",
        dict(
            save_strategy="steps",
            save_steps=2,
            logging_steps=1,
            gradient_accumulation_steps=2,
            ignore_data_skip=True,
        ),
        train=lambda: RegressionDataset(length=20),
        resume=dict(max_steps=3),
        ignore=("train_loss",),
    ),
    Case(
        "resume_early_stopping_callback_state",
        _eval_steps(
            eval_steps=1,
            save_strategy="steps",
            save_steps=1,
            load_best_model_at_end=True,
            restore_callback_states_from_checkpoint=True,
            learning_rate=0.01,
            num_train_epochs=4,
        ),
        callbacks=_early_stopping,
        resume=dict(max_steps=3),
        ignore=("train_loss",),
    ),
    Case(
        "average_tokens_gpt2",
        dict(average_tokens_across_devices=True, gradient_accumulation_steps=2, logging_steps=1),
        model=lambda: tiny_gpt2(),
        train=lambda: lm_data(n=12, seq_len=8),
        eval=lambda: lm_data(n=4, seq_len=8, seed=1),
        predict=None,
        rtol=1e-4,
    ),
    Case(
        "datasets_remove_columns_label_names",
        _eval_steps(label_names=["target"]),
        model=_target_mlp,
        train=lambda: _hf_dataset(16),
        eval=lambda: _hf_dataset(8),
        predict=lambda: _hf_dataset(5),
        compute_metrics=accuracy,
    ),
]


def _run(lib_name: str, case: Case, root) -> dict:
    lib, args_cls = LIBS[lib_name]
    out_dir = str(root / lib_name)
    settings = {**BASE, **case.args}
    recorder = make_recorder(lib.TrainerCallback)()
    metrics = case.fresh_metrics() if case.fresh_metrics else case.compute_metrics

    def build(**overrides):
        return lib.Trainer(
            model=case.model() if case.model else None,
            args=args_cls(output_dir=out_dir, **{**settings, **overrides}),
            train_dataset=case.train(),
            eval_dataset=case.eval() if case.eval else None,
            compute_metrics=metrics,
            callbacks=[recorder, *case.callbacks(lib)],
            **case.trainer_kwargs,
        )

    resume = None
    if case.resume:
        build(**case.resume).train()
        recorder.events.clear()
        resume = True
    trainer = build()
    output = trainer.train(resume_from_checkpoint=resume)
    result = {"trainer": trainer, "output": output, "events": list(recorder.events), "dir": out_dir}
    if case.evaluate_after and case.eval:
        result["evaluate"] = trainer.evaluate()
    if case.predict:
        result["predict"] = trainer.predict(case.predict())
    if case.extra:
        result["extra"] = case.extra(trainer)
    return result


def _close(a, b, rtol, where):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        assert a == pytest.approx(b, rel=rtol, abs=1e-7), where
    else:
        assert a == b, where


def _compare_entries(mine: dict, reference: dict, rtol: float, where: str, ignore=()):
    mine = {k: v for k, v in mine.items() if not k.endswith(TIMING)}
    reference = {k: v for k, v in reference.items() if not k.endswith(TIMING)}
    assert sorted(mine) == sorted(reference), where
    for key in mine:
        if key in ignore or "_mem_" in key:  # memory use: same keys, values of the moment
            continue
        _close(mine[key], reference[key], rtol, f"{where}: {key}")


def _checkpoints(folder: str) -> dict:
    found = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.startswith("checkpoint-") and os.path.isdir(path):
            # data_state*.json is ours only (transformers ignores it)
            found[name] = sorted(n for n in os.listdir(path) if not n.startswith("data_state"))
    return found


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parity(tmp_path, case):
    ours, theirs = _run("ours", case, tmp_path), _run("theirs", case, tmp_path)
    rtol = case.rtol
    mine_t, ref_t = ours["trainer"], theirs["trainer"]

    # log_history: same entries, same keys, same values.
    log, log_t = mine_t.state.log_history, ref_t.state.log_history
    assert len(log) == len(log_t), (log, log_t)
    for i, (a, b) in enumerate(zip(log, log_t)):
        _compare_entries(a, b, rtol, f"log_history[{i}]", case.ignore)

    # Final weights.
    reference_params = dict(ref_t.model.named_parameters())
    for name, param in mine_t.model.named_parameters():
        if "weights" not in case.ignore:
            torch.testing.assert_close(param, reference_params[name], rtol=rtol, atol=1e-6)

    # TrainOutput.
    out, out_t = ours["output"], theirs["output"]
    assert out.global_step == out_t.global_step
    if "train_loss" not in case.ignore:
        assert out.training_loss == pytest.approx(out_t.training_loss, rel=rtol)
    assert sorted(out.metrics) == sorted(out_t.metrics)

    # Callback events.
    if "events" not in case.ignore:
        assert ours["events"] == theirs["events"]

    # Checkpoints and trainer_state.json.
    checkpoints = _checkpoints(ours["dir"])
    assert checkpoints == _checkpoints(theirs["dir"])
    for name in checkpoints:
        with open(os.path.join(ours["dir"], name, "trainer_state.json")) as f:
            state = json.load(f)
        with open(os.path.join(theirs["dir"], name, "trainer_state.json")) as f:
            state_t = json.load(f)
        for key in STATE_FIELDS:
            _close(state.get(key), state_t.get(key), rtol, f"{name}/trainer_state.json: {key}")
        best, best_t = state.get("best_model_checkpoint"), state_t.get("best_model_checkpoint")
        if "best_model_checkpoint" not in case.ignore:
            assert (best and os.path.basename(best)) == (best_t and os.path.basename(best_t)), name
        assert len(state["log_history"]) == len(state_t["log_history"]), name
        for i, (a, b) in enumerate(zip(state["log_history"], state_t["log_history"])):
            _compare_entries(a, b, rtol, f"{name} log_history[{i}]", case.ignore)
    for key in ("best_metric", "best_global_step", "epoch", "global_step", "max_steps"):
        _close(getattr(mine_t.state, key), getattr(ref_t.state, key), rtol, f"state.{key}")
    best, best_t = mine_t.state.best_model_checkpoint, ref_t.state.best_model_checkpoint
    if "best_model_checkpoint" not in case.ignore:
        assert (best and os.path.basename(best)) == (best_t and os.path.basename(best_t))
    if case.deliberate:
        case.deliberate(ours, theirs)

    # evaluate() and predict().
    if "evaluate" in theirs:
        _compare_entries(ours["evaluate"], theirs["evaluate"], rtol, "evaluate()", case.ignore)
    if "extra" in theirs:
        _compare_entries(ours["extra"], theirs["extra"], rtol, "extra calls", case.ignore)
    if "predict" in theirs:
        pred, pred_t = ours["predict"], theirs["predict"]
        _compare_entries(pred.metrics, pred_t.metrics, rtol, "predict() metrics", case.ignore)
        if "predictions" not in case.ignore:
            _compare_outputs(pred.predictions, pred_t.predictions, rtol)
        _compare_outputs(pred.label_ids, pred_t.label_ids, rtol)


def _compare_outputs(a: Any, b: Any, rtol: float):
    if b is None or a is None:
        assert a is None and b is None
        return
    if isinstance(b, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            _compare_outputs(x, y, rtol)
        return
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=1e-6)
