"""trainer_loop.Trainer pushing to a local fake Hub through huggingface_hub's real client."""

from __future__ import annotations

import logging
import os
import sys

import pytest

pytest.importorskip("torch")
pytest.importorskip("trainer_loop")
pytest.importorskip("trainer_hub")

from helpers.fake_hub import FAKE_TOKEN, FAKE_USER, serve_fake_hub  # noqa: E402
from helpers.models import RegressionDataset, RegressionModel  # noqa: E402
from trainer_args import TrainingArguments  # noqa: E402
from trainer_loop import Trainer, TrainerCallback  # noqa: E402

REPO = f"{FAKE_USER}/regression"
CHECKPOINT_FILES = {
    "model.safetensors",
    "optimizer.pt",
    "scheduler.pt",
    "rng_state.pth",
    "trainer_state.json",
    "training_args.bin",
    "data_state.json",
}


@pytest.fixture
def fake_hub(monkeypatch):
    with serve_fake_hub(monkeypatch) as hub:
        yield hub


class CountPushes(TrainerCallback):
    def __init__(self) -> None:
        self.pushes = 0

    def on_push_begin(self, args, state, control, **kwargs):
        self.pushes += 1


def make_trainer(tmp_path, model=None, train_dataset=None, **fields) -> Trainer:
    settings = {
        "output_dir": str(tmp_path / "out"),
        "push_to_hub": True,
        "hub_model_id": "regression",
        "use_cpu": True,
        "per_device_train_batch_size": 8,
        "learning_rate": 0.1,
        "max_steps": 4,
        "save_steps": 2,
        "logging_steps": 1,
        "eval_strategy": "steps",
        "eval_steps": 2,
        "report_to": "none",
        "disable_tqdm": True,
        "seed": 1,
    }
    settings.update(fields)
    return Trainer(
        model=model if model is not None else RegressionModel(),
        args=TrainingArguments(**settings),
        train_dataset=train_dataset if train_dataset is not None else RegressionDataset(length=32),
        eval_dataset=RegressionDataset(length=16, seed=1),
        callbacks=[CountPushes()],
    )


def pushes_counted(trainer: Trainer) -> int:
    (counter,) = [c for c in trainer.callback_handler.callbacks if isinstance(c, CountPushes)]
    return counter.pushes


@pytest.fixture
def logged_in(monkeypatch):
    """The token comes from the user's saved login (HF_TOKEN), not from the arguments."""
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)


def test_push_to_hub_uploads_model_card_and_args(fake_hub, logged_in, tmp_path):
    trainer = make_trainer(tmp_path, hub_strategy="end", hub_private_repo=True)
    assert trainer.hub_model_id == REPO  # created when the trainer was built
    assert fake_hub.repos[REPO].private is True
    trainer.train()
    assert fake_hub.commits_to(REPO) == []  # "end": nothing during training
    info = trainer.push_to_hub(dataset="toy regression", language="en")
    assert info.oid
    files = fake_hub.files(REPO)
    assert set(files) == {"README.md", "model.safetensors", "training_args.bin"}
    assert not any(name.startswith("checkpoint-") for name in files)
    assert os.path.isdir(tmp_path / "out" / "checkpoint-4")  # there, but not pushed
    card = files["README.md"].decode()
    assert "language:\n- en" in card and "- generated_from_trainer" in card
    assert "on the toy regression dataset." in card
    assert "### Training results" in card and "| Validation Loss |" in card
    assert "- training_steps: 4" in card
    assert "- trainer-loop " in card and "- Pytorch " in card  # spelled as transformers does
    assert "- Transformers " not in card  # not a transformers model
    (commit,) = fake_hub.commits_to(REPO)
    assert commit.summary == "End of training" and commit.user == FAKE_USER
    assert pushes_counted(trainer) == 1


@pytest.mark.parametrize("strategy", ["every_save", "checkpoint", "all_checkpoints"])
def test_hub_strategy_pushes_during_training(fake_hub, logged_in, tmp_path, strategy):
    trainer = make_trainer(tmp_path, hub_strategy=strategy, hub_always_push=True)
    trainer.train()  # waits for the background pushes at the end
    files = set(fake_hub.files(REPO))
    assert {"model.safetensors", "training_args.bin"} <= files
    summaries = [c.summary for c in fake_hub.commits_to(REPO)]
    model_commits = ["Training in progress, step 2", "Training in progress, step 4"]
    if strategy == "every_save":
        assert summaries == model_commits
        assert not [name for name in files if "/" in name]
    else:
        assert summaries == [
            model_commits[0],
            model_commits[0] + ", checkpoint",
            model_commits[1],
            model_commits[1] + ", checkpoint",
        ]
        folders = (
            ["last-checkpoint"] if strategy == "checkpoint" else ["checkpoint-2", "checkpoint-4"]
        )
        expected = {f"{folder}/{name}" for folder in folders for name in CHECKPOINT_FILES}
        assert {name for name in files if "/" in name} == expected
    if strategy == "checkpoint":
        state = fake_hub.files(REPO)["last-checkpoint/trainer_state.json"].decode()
        assert '"global_step": 4' in state
    assert pushes_counted(trainer) == 2
    # No snapshot or temporary file is left behind in the output folder.
    assert not [n for n in os.listdir(tmp_path / "out") if n.startswith(("_", "."))]


def test_hub_revision_is_honoured(fake_hub, logged_in, tmp_path):
    trainer = make_trainer(tmp_path, hub_strategy="checkpoint", hub_revision="dev", max_steps=2)
    trainer.train()
    trainer.push_to_hub()
    assert {c.revision for c in fake_hub.commits_to(REPO)} == {"dev"}
    assert "last-checkpoint/optimizer.pt" in fake_hub.files(REPO, "dev")


def test_token_never_written_uploaded_or_logged(fake_hub, tmp_path, caplog, capfd):
    trainer = make_trainer(tmp_path, hub_strategy="checkpoint", hub_token=FAKE_TOKEN)
    with caplog.at_level(logging.DEBUG):
        trainer.train()
        trainer.push_to_hub()
    files = fake_hub.files(REPO)
    assert {"README.md", "model.safetensors", "last-checkpoint/optimizer.pt"} <= set(files)
    for name, data in files.items():
        assert FAKE_TOKEN.encode() not in data, name
    # The pickled arguments leave the token out, so training_args.bin is safe to upload.
    assert "training_args.bin" in files and "Not uploading" not in caplog.text
    captured = capfd.readouterr()
    assert FAKE_TOKEN not in caplog.text + captured.out + captured.err
    for root, _dirs, names in os.walk(tmp_path / "out"):
        for name in names:
            with open(os.path.join(root, name), "rb") as f:
                assert FAKE_TOKEN.encode() not in f.read(), os.path.join(root, name)


def test_transformers_model_pushes_its_config(fake_hub, logged_in, tmp_path):
    pytest.importorskip("transformers")
    from helpers.models import lm_data, tiny_gpt2

    trainer = make_trainer(
        tmp_path,
        model=tiny_gpt2(),
        train_dataset=lm_data(n=8),
        hub_strategy="end",
        max_steps=1,
        eval_strategy="no",
        save_strategy="no",
    )
    trainer.train()
    trainer.push_to_hub()
    files = fake_hub.files(REPO)
    assert {"README.md", "config.json", "model.safetensors", "training_args.bin"} <= set(files)
    card = files["README.md"].decode()
    assert "library_name: transformers" in card
    assert "trained from scratch" in card
    assert "- Transformers " in card


def test_missing_trainer_hub_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "trainer_hub", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"trainer-loop\[hub\]"):
        make_trainer(tmp_path)
