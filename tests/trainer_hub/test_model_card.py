"""The README.md model card: metadata, body, inference from the trainer, and no secrets."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

pytest.importorskip("huggingface_hub")

import trainer_hub  # noqa: E402
from helpers.fake_hub import FAKE_TOKEN  # noqa: E402
from huggingface_hub import ModelCard  # noqa: E402

HISTORY = [
    {"loss": 1.5, "epoch": 0.5, "step": 3},
    {"eval_loss": 1.25, "eval_accuracy": 0.5, "eval_runtime": 0.1, "epoch": 0.5, "step": 3},
    {"loss": 0.75, "epoch": 1.0, "step": 6},
    {"eval_loss": 0.5, "eval_accuracy": 0.875, "eval_runtime": 0.1, "epoch": 1.0, "step": 6},
    {"train_runtime": 1.0, "train_loss": 1.1, "epoch": 1.0, "step": 6},
]


class BertForSequenceClassification:
    """Only the class name and a config matter to the card."""

    def __init__(self, name_or_path: str = "") -> None:
        self.config = SimpleNamespace(_name_or_path=name_or_path)


def read_card(args) -> tuple[str, ModelCard]:
    path = os.path.join(args.output_dir, "README.md")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return text, ModelCard.load(path)


def test_card_describes_the_run(make_args, make_trainer):
    args = make_args(gradient_accumulation_steps=2, warmup_steps=2, fp16=False)
    trainer = make_trainer(args, log_history=HISTORY)
    path = trainer_hub.write_model_card(
        trainer,
        language="en",
        license="apache-2.0",
        tags=["demo"],
        model_name="my-model",
        finetuned_from="acme/base",
        tasks="text-classification",
        dataset_tags="glue",
        dataset="GLUE MRPC",
        dataset_args="mrpc",
    )
    assert path == os.path.join(args.output_dir, "README.md")
    text, card = read_card(args)
    data = card.data
    assert data.language == ["en"]
    assert data.license == "apache-2.0"
    assert data.base_model == "acme/base"
    assert data.tags == ["demo", "generated_from_trainer"]
    assert data.datasets == ["glue"]
    assert data.metrics == ["accuracy"]
    assert data.model_name == "my-model"
    (result,) = data.eval_results
    assert (result.task_type, result.dataset_type, result.dataset_name) == (
        "text-classification",
        "glue",
        "GLUE MRPC",
    )
    assert (result.metric_type, result.metric_value, result.dataset_args) == (
        "accuracy",
        0.875,
        "mrpc",
    )

    assert "# my-model" in text
    assert (
        "fine-tuned version of [acme/base](https://huggingface.co/acme/base) on the GLUE MRPC dataset"
        in text
    )
    assert "- Loss: 0.5\n- Accuracy: 0.875" in text
    for line in (
        "- learning_rate: 0.0003",
        "- train_batch_size: 8",
        "- eval_batch_size: 16",
        "- seed: 7",
        "- gradient_accumulation_steps: 2",
        "- total_train_batch_size: 16",
        "- lr_scheduler_type: linear",
        "- lr_scheduler_warmup_steps: 2",
        "- training_steps: 6",
        "- optimizer: Use OptimizerNames.ADAMW_TORCH_FUSED with betas=(0.9,0.999)",
    ):
        assert line in text, line
    assert "### Training results" in text
    assert "| Training Loss | Epoch | Step | Validation Loss | Accuracy |" in text
    assert "### Framework versions" in text and "- Python 3." in text
    assert FAKE_TOKEN not in text and "hub_token" not in text


def test_defaults_inferred_from_the_trainer(make_args, make_trainer):
    args = make_args(num_train_epochs=2, max_steps=-1)
    trainer = make_trainer(args, model=BertForSequenceClassification())
    trainer_hub.write_model_card(trainer)
    text, card = read_card(args)
    assert card.data.model_name == "run"  # the output_dir name
    assert card.data.tags == ["generated_from_trainer"]
    assert card.data.base_model is None
    # An empty _name_or_path (a model built from a config) means trained from scratch.
    assert "This model was trained from scratch on an unknown dataset." in text
    assert "- num_epochs: 2" in text
    assert "### Training results" not in text
    summary = trainer_hub.summarize_run(trainer)
    assert summary.tasks == ["text-classification"]


def test_base_model_and_license_from_the_hub(fake_hub, make_args, make_trainer):
    fake_hub.base_models["acme/base"] = ["transformers", "license:mit"]
    trainer = make_trainer(make_args(), model=BertForSequenceClassification("acme/base"))
    trainer_hub.write_model_card(trainer)
    _, card = read_card(trainer.args)
    assert card.data.base_model == "acme/base"
    assert card.data.license == "mit"


def test_license_lookup_failure_is_harmless(fake_hub, make_args, make_trainer):
    trainer = make_trainer(make_args(), model=BertForSequenceClassification("acme/unknown"))
    trainer_hub.write_model_card(trainer)
    _, card = read_card(trainer.args)
    assert card.data.base_model == "acme/unknown"
    assert card.data.license is None


def test_existing_tags_are_kept(make_args, make_trainer):
    trainer = make_trainer(make_args())
    with open(os.path.join(trainer.args.output_dir, "README.md"), "w") as f:
        f.write("---\ntags:\n- older\n- shared\n---\n# old card\n")
    trainer_hub.write_model_card(trainer, tags=["shared", "new"])
    text, card = read_card(trainer.args)
    assert card.data.tags == ["shared", "new", "older", "generated_from_trainer"]
    assert "# old card" not in text


def test_peft_card_is_updated_by_the_model(make_args, make_trainer):
    calls = []
    model = SimpleNamespace(create_or_update_model_card=calls.append)
    trainer = make_trainer(make_args(), model=model)
    with open(os.path.join(trainer.args.output_dir, "README.md"), "w") as f:
        f.write("---\nlibrary_name: peft\n---\n")
    trainer_hub.write_model_card(trainer)
    assert calls == [trainer.args.output_dir]


def test_multiple_datasets_sentence(make_args, make_trainer):
    trainer = make_trainer(make_args())
    card = trainer_hub.build_model_card(trainer, dataset=["a", "b", "c"])
    assert "on the a, the b and the c datasets." in card.text
