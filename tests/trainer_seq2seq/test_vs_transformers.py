"""Side by side with transformers.Seq2SeqTrainer 5.3.0 on a tiny T5: same arguments, same outputs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from trainer_args import HfArgumentParser  # noqa: E402
from trainer_data import DataCollatorForSeq2Seq  # noqa: E402
from trainer_seq2seq import Seq2SeqTrainer, Seq2SeqTrainingArguments  # noqa: E402

LIBRARIES = {
    "ours": (Seq2SeqTrainer, Seq2SeqTrainingArguments),
    "theirs": (transformers.Seq2SeqTrainer, transformers.Seq2SeqTrainingArguments),
}
# generate() warns when the generation config leaves max_length at its library default.
pytestmark = pytest.mark.filterwarnings("ignore:Using the model-agnostic default:UserWarning")
TIMING = ("_runtime", "_per_second", "_model_preparation_time")


def _settings(tmp_path, name, **overrides):
    settings = dict(
        output_dir=str(tmp_path / name),
        per_device_eval_batch_size=3,
        per_device_train_batch_size=4,
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        save_strategy="no",
        predict_with_generate=True,
        optim="adamw_torch",
    )
    settings.update(overrides)
    return settings


def _metrics(prediction):
    preds, labels = prediction.predictions, prediction.label_ids
    return {
        "kept": float((preds != -100).sum()),
        "token_sum": float(np.where(preds == -100, 0, preds).sum()),
        "label_sum": float(labels.sum()),
        "width": preds.shape[1],
    }


def run_both(tmp_path, parts, action, model_kwargs=None, **overrides):
    """Build both trainers on the same tiny T5 and data, run ``action`` on each."""
    results = {}
    for name, (trainer_cls, args_cls) in LIBRARIES.items():
        model = parts.tiny_t5(**(model_kwargs or {}))
        tokenizer = parts.Tokenizer()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            args = args_cls(**_settings(tmp_path, name, **overrides))
        trainer = trainer_cls(
            model=model,
            args=args,
            data_collator=DataCollatorForSeq2Seq(tokenizer, model=model),
            processing_class=tokenizer,
            compute_metrics=_metrics,
            train_dataset=parts.examples(12, seed=1, label_lengths=(3, 4)),
            eval_dataset=parts.examples(6, seed=2),
        )
        results[name] = (trainer, action(trainer))
    return results["ours"], results["theirs"]


def _strip(metrics):
    return {k: v for k, v in metrics.items() if not k.endswith(TIMING)}


def assert_same_output(ours, theirs):
    np.testing.assert_array_equal(ours.predictions, theirs.predictions)
    np.testing.assert_array_equal(ours.label_ids, theirs.label_ids)
    assert _strip(ours.metrics).keys() == _strip(theirs.metrics).keys()
    for key, value in _strip(theirs.metrics).items():
        assert ours.metrics[key] == pytest.approx(value, rel=1e-6), key


# ------------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {
            "predict_with_generate": True,
            "generation_max_length": 12,
            "generation_num_beams": 3,
            "sortish_sampler": True,
        },
        {"generation_config": "some/model"},
        {"generation_config": "gen_config"},  # replaced by a GenerationConfig below
    ],
    ids=["defaults", "generation-fields", "config-id", "config-object"],
)
def test_to_dict_matches(kwargs):
    if kwargs.get("generation_config") == "gen_config":
        kwargs = {"generation_config": transformers.GenerationConfig(max_length=9, num_beams=2)}
    ours = Seq2SeqTrainingArguments(disable_tqdm=True, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = transformers.Seq2SeqTrainingArguments(disable_tqdm=True, **kwargs)
    assert ours.to_dict() == theirs.to_dict()


def test_command_line_matches():
    argv = [
        "--output_dir",
        "out",
        "--predict_with_generate",
        "--generation_max_length",
        "16",
        "--generation_num_beams",
        "4",
        "--generation_config",
        "some/folder",
        "--disable_tqdm",
        "true",
    ]
    (ours,) = HfArgumentParser(Seq2SeqTrainingArguments).parse_args_into_dataclasses(
        argv, look_for_args_file=False
    )
    (theirs,) = transformers.HfArgumentParser(
        transformers.Seq2SeqTrainingArguments
    ).parse_args_into_dataclasses(argv, look_for_args_file=False)
    # transformers parses generation_config into a Path; ours keeps the string (JSON-friendly).
    assert ours.generation_config == str(theirs.generation_config) == "some/folder"
    theirs.generation_config = str(theirs.generation_config)
    assert ours.to_dict() == theirs.to_dict()


# --------------------------------------------------------------------------- evaluation


def test_predict_and_evaluate_match(tmp_path, toy_parts):
    data = toy_parts.examples(9)  # full batches: see test_partial_last_batch_loss

    def action(trainer):
        return (
            trainer.predict(data),
            trainer.predict(data, max_new_tokens=3, metric_key_prefix="short"),
            trainer.evaluate(),
            trainer.evaluate(data, num_beams=2),
        )

    (ours, (p1, p2, e1, e2)), (theirs, (q1, q2, f1, f2)) = run_both(tmp_path, toy_parts, action)
    assert_same_output(p1, q1)
    assert_same_output(p2, q2)
    assert p1.predictions.shape[1] >= 20  # the default max_length of the generation config
    assert len(np.unique(p1.predictions)) > 3  # not a degenerate all-pad generation
    for mine, reference in ((e1, f1), (e2, f2)):
        assert _strip(mine).keys() == _strip(reference).keys()
        for key, value in _strip(reference).items():
            assert mine[key] == pytest.approx(value, rel=1e-6), key
    assert ours._gen_kwargs == theirs._gen_kwargs == {"num_beams": 2}
    assert ours.model.generation_config.to_dict() == theirs.model.generation_config.to_dict()


def test_gen_kwargs_override_the_arguments(tmp_path, toy_parts):
    data = toy_parts.examples(6)

    def action(trainer):
        from_args = trainer.predict(data)
        kwargs_from_args = dict(trainer._gen_kwargs)
        overridden = trainer.predict(data, max_length=3, num_beams=1)
        return from_args, kwargs_from_args, overridden, dict(trainer._gen_kwargs)

    (_, (a, ka, b, kb)), (_, (c, kc, d, kd)) = run_both(
        tmp_path, toy_parts, action, generation_max_length=6, generation_num_beams=2
    )
    assert ka == kc == {"max_length": 6, "num_beams": 2}
    assert kb == kd == {"max_length": 3, "num_beams": 1}
    assert_same_output(a, c)
    assert_same_output(b, d)
    # max_length=3 keeps at most 3 tokens per row; the rest is padding.
    assert ((b.predictions != toy_parts.PAD).sum(1) <= 3).all()


def test_generation_config_from_a_folder_or_file(tmp_path, toy_parts):
    folder = tmp_path / "gen"
    transformers.GenerationConfig(max_length=4, decoder_start_token_id=0).save_pretrained(folder)
    data = toy_parts.examples(6, label_lengths=(2, 3, 2, 5, 4, 3))
    for source in (str(folder), folder / "generation_config.json"):
        (ours, a), (theirs, b) = run_both(
            tmp_path, toy_parts, lambda t: t.predict(data), generation_config=source
        )
        assert ours.model.generation_config.max_length == 4
        # Labels of length 5 outgrow max_length=4: that batch widens the array, -100 fills.
        assert a.predictions.shape == (6, 4) and a.label_ids.shape == (6, 5)
        assert (a.label_ids == -100).any() and (a.label_ids == toy_parts.PAD).any()
        assert_same_output(a, b)


def test_partial_last_batch_loss(tmp_path, toy_parts):
    """A deliberate difference: eval_loss is the mean over samples.

    transformers' Seq2SeqTrainer gathers with ``accelerator.gather`` (not ``gather_for_metrics``),
    so a last batch of 1 sample counts as a full batch (3 here) in its eval_loss.
    """
    data = toy_parts.examples(7)
    (ours, a), (theirs, b) = run_both(tmp_path, toy_parts, lambda t: t.predict(data))
    np.testing.assert_array_equal(a.predictions, b.predictions)
    np.testing.assert_array_equal(a.label_ids, b.label_ids)
    collator = ours.data_collator
    batches = [collator(data[i : i + 3]) for i in (0, 3, 6)]
    losses = [ours.prediction_step(ours.model, batch, True)[0].item() for batch in batches]
    assert a.metrics["test_loss"] == pytest.approx(np.average(losses, weights=[3, 3, 1]))
    assert b.metrics["test_loss"] == pytest.approx(np.mean(losses))


def test_bad_generation_config_is_refused_like_transformers(tmp_path, toy_parts):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bad = transformers.GenerationConfig(temperature=0.5)
    errors = []
    for trainer_cls, args_cls in LIBRARIES.values():
        args = args_cls(**_settings(tmp_path, "bad", generation_config=bad))
        with pytest.raises(ValueError, match="Fix these issues to train your model") as info:
            trainer_cls(model=toy_parts.tiny_t5(), args=args)
        errors.append(str(info.value))
    assert "temperature" in errors[0] and errors[0].startswith(errors[1].split("\n\n")[0])


# ------------------------------------------------------------------------------ training


def test_training_logs_match(tmp_path, toy_parts):
    (ours, _), (theirs, _) = run_both(
        tmp_path,
        toy_parts,
        lambda trainer: trainer.train(),
        max_steps=4,
        logging_steps=1,
        eval_strategy="steps",
        eval_steps=2,
        learning_rate=0.01,
        generation_max_length=5,
    )
    assert len(ours.state.log_history) == len(theirs.state.log_history)
    for mine, reference in zip(ours.state.log_history, theirs.state.log_history):
        mine, reference = _strip(mine), _strip(reference)
        assert mine.keys() == reference.keys()
        for key, value in reference.items():
            assert mine[key] == pytest.approx(value, rel=1e-5, abs=1e-7), key
    assert any("eval_width" in log for log in ours.state.log_history)


def test_generation_config_from_an_object_or_a_dict():
    config = transformers.GenerationConfig(max_length=5, num_beams=2)
    copied = Seq2SeqTrainer.load_generation_config(config)
    assert copied is not config and copied.to_dict() == config.to_dict()
    from_dict = Seq2SeqTrainer.load_generation_config(config.to_dict())
    assert isinstance(from_dict, transformers.GenerationConfig)
    assert (from_dict.max_length, from_dict.num_beams) == (5, 2)
