"""Seq2SeqTrainer with a hand-written seq2seq module (no transformers needed)."""

from __future__ import annotations

import logging
import sys
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from trainer_data import DataCollatorForSeq2Seq  # noqa: E402
from trainer_loop import LabelSmoother  # noqa: E402
from trainer_seq2seq import Seq2SeqTrainer, Seq2SeqTrainingArguments  # noqa: E402


def make(
    tmp_path,
    parts,
    model=None,
    compute_metrics="default",
    train_dataset=None,
    eval_dataset=None,
    **overrides,
):
    settings = dict(
        output_dir=str(tmp_path / "out"),
        per_device_eval_batch_size=3,
        per_device_train_batch_size=4,
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        save_strategy="no",
        predict_with_generate=True,
    )
    settings.update(overrides)
    model = model if model is not None else parts.Model()
    tokenizer = parts.Tokenizer()
    if compute_metrics == "default":
        compute_metrics = count_tokens
    return Seq2SeqTrainer(
        model=model,
        args=Seq2SeqTrainingArguments(**settings),
        data_collator=DataCollatorForSeq2Seq(tokenizer, model=model),
        processing_class=tokenizer,
        compute_metrics=compute_metrics,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
    )


def count_tokens(prediction):
    return {
        "tokens": float((prediction.predictions != -100).sum()),
        "width": prediction.predictions.shape[1],
    }


def expected_labels(examples, batch_size, max_length, pad):
    """Labels as transformers returns them: -100 inside a batch, pad up to max_length, -100 across."""
    rows = []
    for start in range(0, len(examples), batch_size):
        batch = [e["labels"] for e in examples[start : start + batch_size]]
        width = max(len(lab) for lab in batch)
        for lab in batch:
            row = lab + [-100] * (width - len(lab))
            rows.append(row + [pad] * (max_length - width))
    total = max(len(r) for r in rows)
    return np.array([r + [-100] * (total - len(r)) for r in rows])


def test_predictions_are_generated_and_padded_like_transformers(tmp_path, toy_parts):
    examples = toy_parts.examples(7)
    trainer = make(tmp_path, toy_parts, generation_max_length=6)
    out = trainer.predict(examples)
    # Labels: -100 from the collator, then pad tokens up to max_length=6.
    np.testing.assert_array_equal(out.label_ids, expected_labels(examples, 3, 6, toy_parts.PAD))
    # Each row is what generate() gives for that example alone (greedy, independent rows).
    model = trainer.model
    for example, row in zip(examples, out.predictions):
        alone = model.generate(torch.tensor([example["input_ids"]]), max_length=6)[0]
        np.testing.assert_array_equal(row, alone.numpy())
    assert out.predictions.shape == (7, 6)
    assert out.metrics["test_width"] == 6 and out.metrics["test_tokens"] == 42.0
    assert "test_loss" in out.metrics


def test_short_generations_are_padded_with_the_pad_token(tmp_path, toy_parts):
    model = toy_parts.Model()
    model.stop_at = 0  # every row "finishes" at once: two tokens
    trainer = make(tmp_path, toy_parts, model=model)
    out = trainer.predict(toy_parts.examples(4), max_length=5)
    assert out.predictions.shape == (4, 5)
    assert (out.predictions[:, 2:] == toy_parts.PAD).all()
    # max_new_tokens pads to max_new_tokens + 1 (the start token plus the new ones).
    out = trainer.predict(toy_parts.examples(4), max_new_tokens=7)
    assert out.predictions.shape == (4, 8)


def test_longer_batches_are_joined_with_minus_100(tmp_path, toy_parts):
    examples = toy_parts.examples(7)
    trainer = make(tmp_path, toy_parts, generation_max_length=4)
    out = trainer.predict(examples)
    np.testing.assert_array_equal(out.label_ids, expected_labels(examples, 3, 4, toy_parts.PAD))
    assert (out.label_ids == -100).any() and out.label_ids.shape == (7, 5)
    assert out.predictions.shape == (7, 4)


def test_gen_kwargs_default_to_the_arguments_and_can_be_overridden(tmp_path, toy_parts):
    trainer = make(
        tmp_path,
        toy_parts,
        generation_max_length=4,
        generation_num_beams=2,
    )
    model, data = trainer.model, toy_parts.examples(3)
    trainer.evaluate(data)
    assert trainer._gen_kwargs == {"max_length": 4, "num_beams": 2}
    assert model.generate_calls[-1] == {
        "keys": ["max_length", "num_beams", "synced_gpus"],
        "max_length": 4,
        "num_beams": 2,
        "synced_gpus": False,
    }
    trainer.evaluate(data, max_new_tokens=3)  # no max_length next to max_new_tokens
    assert trainer._gen_kwargs == {"max_new_tokens": 3, "num_beams": 2}
    trainer.predict(data, max_length=5, num_beams=1, do_sample=False)
    assert trainer._gen_kwargs == {"max_length": 5, "num_beams": 1, "do_sample": False}
    trainer.predict(data, num_beams=None, max_length=None)
    assert trainer._gen_kwargs == {"max_length": 4, "num_beams": 2}
    # Explicit keyword arguments of prediction_step win over the stored ones.
    batch = trainer.data_collator(data)
    trainer.prediction_step(model, batch, prediction_loss_only=False, max_length=3)
    assert model.generate_calls[-1]["keys"] == ["max_length", "synced_gpus"]
    assert trainer._gen_kwargs == {"max_length": 4, "num_beams": 2}


def test_none_lengths_are_dropped_and_model_defaults_apply(tmp_path, toy_parts):
    trainer = make(tmp_path, toy_parts)
    trainer.predict(toy_parts.examples(3), max_length=None, num_beams=None)
    assert trainer.model.generate_calls[-1]["keys"] == ["synced_gpus"]
    batch = trainer.data_collator(toy_parts.examples(3))
    trainer.prediction_step(trainer.model, batch, False, synced_gpus=True)
    assert trainer.model.generate_calls[-1]["synced_gpus"] is True


def test_loss_matches_the_forward_only_evaluation(tmp_path, toy_parts):
    data = toy_parts.examples(7)
    generated = make(tmp_path, toy_parts).evaluate(data)
    plain = make(tmp_path, toy_parts, predict_with_generate=False, compute_metrics=None)
    assert generated["eval_loss"] == pytest.approx(plain.evaluate(data)["eval_loss"], rel=1e-6)
    smoothed = make(tmp_path, toy_parts, label_smoothing_factor=0.1)
    smoothed_plain = make(
        tmp_path, toy_parts, label_smoothing_factor=0.1, predict_with_generate=False
    )
    value = smoothed.evaluate(data)["eval_loss"]
    assert value == pytest.approx(smoothed_plain.evaluate(data)["eval_loss"], rel=1e-6)
    assert value != pytest.approx(generated["eval_loss"])
    assert isinstance(smoothed.label_smoother, LabelSmoother)


def test_without_predict_with_generate_the_parent_step_runs(tmp_path, toy_parts):
    trainer = make(tmp_path, toy_parts, predict_with_generate=False)
    out = trainer.predict(toy_parts.examples(4))
    assert trainer.model.generate_calls == []
    assert out.predictions.ndim == 3 and out.predictions.shape[-1] == toy_parts.VOCAB


def test_loss_only_paths_do_not_generate(tmp_path, toy_parts):
    trainer = make(tmp_path, toy_parts, compute_metrics=None)
    metrics = trainer.evaluate(toy_parts.examples(4))  # no compute_metrics: loss only
    assert "eval_loss" in metrics and trainer.model.generate_calls == []
    trainer = make(tmp_path, toy_parts, prediction_loss_only=True)
    out = trainer.predict(toy_parts.examples(4))
    assert out.predictions is None and out.label_ids is None and "test_loss" in out.metrics
    batch = trainer.data_collator(toy_parts.examples(2))
    loss, tokens, labels = trainer.prediction_step(trainer.model, batch, True)
    assert loss is not None and tokens is None and labels is None


def test_batches_without_labels_give_no_loss(tmp_path, toy_parts):
    trainer = make(tmp_path, toy_parts, compute_metrics=None)
    data = [{"input_ids": e["input_ids"]} for e in toy_parts.examples(5)]
    out = trainer.predict(data, max_length=4)
    assert out.label_ids is None and "test_loss" not in out.metrics
    assert out.predictions.shape == (5, 4)


def test_decoder_inputs_built_from_labels_are_not_generated_from(tmp_path, toy_parts):
    labels = torch.tensor([[5, 6, 7]])
    prompt = torch.tensor([[0, 4]])
    batch = {
        "input_ids": torch.tensor([[3, 4]]),
        "labels": labels,
        "decoder_input_ids": torch.tensor([[0, 5, 6]]),
        "decoder_attention_mask": torch.ones(1, 3),
    }
    assert sorted(Seq2SeqTrainer._generation_inputs(batch)) == ["input_ids"]
    batch["decoder_input_ids"] = prompt  # a prompt of its own length is kept
    assert sorted(Seq2SeqTrainer._generation_inputs(batch)) == [
        "decoder_attention_mask",
        "decoder_input_ids",
        "input_ids",
    ]


def test_pad_token_comes_from_the_tokenizer_then_the_model(tmp_path, toy_parts):
    trainer = make(tmp_path, toy_parts)
    short = torch.tensor([[0, 9]])
    assert trainer._pad_tensors_to_max_len(short, 4).tolist() == [[0, 9, 0, 0]]
    trainer.processing_class = SimpleNamespace(pad_token_id=None, eos_token_id=1)
    assert trainer._pad_tensors_to_max_len(short, 3).tolist() == [[0, 9, 1]]
    trainer.processing_class = None
    trainer.model.config = SimpleNamespace(pad_token_id=None, eos_token_id=[2, 3])
    assert trainer._pad_tensors_to_max_len(short, 3).tolist() == [[0, 9, 2]]
    del trainer.model.config
    with pytest.raises(ValueError, match="no pad token id"):
        trainer._pad_tensors_to_max_len(short, 3)


def test_collator_with_decoder_inputs_and_training(tmp_path, toy_parts):
    tokenizer = toy_parts.Tokenizer()
    model = toy_parts.Model()
    batch = DataCollatorForSeq2Seq(tokenizer, model=model)(toy_parts.examples(3))
    assert batch["decoder_input_ids"].shape == batch["labels"].shape
    trainer = make(
        tmp_path,
        toy_parts,
        model=model,
        eval_strategy="steps",
        eval_steps=2,
        logging_steps=2,
        max_steps=4,
        generation_max_length=5,
        learning_rate=0.05,
        train_dataset=toy_parts.examples(16, seed=1),
        eval_dataset=toy_parts.examples(5, seed=2),
    )
    trainer.train()
    evals = [log for log in trainer.state.log_history if "eval_loss" in log]
    assert len(evals) == 2 and all(log["eval_width"] == 5 for log in evals)
    assert all(call["max_length"] == 5 for call in model.generate_calls)
    losses = [log["loss"] for log in trainer.state.log_history if "loss" in log]
    assert len(losses) == 2 and all(np.isfinite(losses))


def test_synced_gpus_under_zero3_and_fsdp(tmp_path, toy_parts):
    trainer = make(tmp_path, toy_parts)
    assert trainer._default_synced_gpus() is False
    real = trainer.accelerator
    trainer.accelerator = SimpleNamespace(
        state=SimpleNamespace(deepspeed_plugin=SimpleNamespace(zero_stage=3))
    )
    assert trainer._default_synced_gpus() is True
    trainer.accelerator.state.deepspeed_plugin.zero_stage = 2
    assert trainer._default_synced_gpus() is False
    config = SimpleNamespace(is_zero3=lambda: True)  # the DeepSpeed config wins over zero_stage
    trainer.accelerator.state.deepspeed_plugin.hf_ds_config = config
    assert trainer._default_synced_gpus() is True
    trainer.accelerator = real
    trainer.model._is_fsdp_managed_module = True
    assert trainer._default_synced_gpus() is True


def test_both_lengths_warn_for_a_plain_model(tmp_path, toy_parts, caplog):
    trainer = make(tmp_path, toy_parts)
    with caplog.at_level(logging.WARNING, logger="trainer_seq2seq.trainer"):
        trainer.predict(toy_parts.examples(2), max_length=5, max_new_tokens=2)
    assert "Both `max_new_tokens` (=2) and `max_length` (=5)" in caplog.text


# ------------------------------------------------------------------------ generation_config


class GenerationConfig:
    """A stand-in for transformers.GenerationConfig, recognised by its class name."""

    def __init__(self, bad: bool = False, max_length: int | None = None):
        self.bad = bad
        self.max_length = max_length
        self.max_new_tokens = None
        self.pad_token_id = 0

    def validate(self, strict=False):
        if self.bad and strict:
            raise ValueError("GenerationConfig is invalid: `temperature` needs do_sample")

    def to_dict(self):
        return dict(vars(self))


def test_generation_config_object_is_copied_onto_the_model(tmp_path, toy_parts):
    config = GenerationConfig(max_length=5)
    trainer = make(tmp_path, toy_parts, generation_config=config)
    assert isinstance(trainer.model.generation_config, GenerationConfig)
    assert trainer.model.generation_config is not config
    assert trainer.model.generation_config.max_length == 5
    # The model's generation config now decides the padded length (like transformers).
    out = trainer.predict(toy_parts.examples(4), max_length=3)
    assert out.predictions.shape == (4, 5)


def test_bad_generation_config_fails_at_construction(tmp_path, toy_parts):
    with pytest.raises(ValueError, match="Fix these issues to train your model"):
        make(tmp_path, toy_parts, generation_config=GenerationConfig(bad=True))


def test_reading_a_generation_config_needs_transformers(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(ImportError, match="pip install transformers"):
        Seq2SeqTrainer.load_generation_config("some/model")
    with pytest.raises(TypeError, match="generation_config must be"):
        Seq2SeqTrainer.load_generation_config(3)


def test_plain_training_arguments_work_without_generation(tmp_path, toy_parts):
    from trainer_args import TrainingArguments

    model = toy_parts.Model()
    trainer = Seq2SeqTrainer(
        model=model,
        args=TrainingArguments(
            output_dir=str(tmp_path), report_to="none", use_cpu=True, disable_tqdm=True
        ),
        data_collator=DataCollatorForSeq2Seq(toy_parts.Tokenizer(), model=model),
    )
    out = trainer.predict(toy_parts.examples(3), max_length=4)
    assert model.generate_calls == [] and out.predictions.ndim == 3
