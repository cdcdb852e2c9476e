"""push_folder / push_checkpoint / wait_for_pushes against the fake Hub, with a duck-typed trainer."""

from __future__ import annotations

import logging
import os
import shutil
from concurrent.futures import Future

import pytest

pytest.importorskip("huggingface_hub")

import trainer_hub  # noqa: E402
from helpers.fake_hub import FAKE_TOKEN, FAKE_USER  # noqa: E402

REPO = f"{FAKE_USER}/tiny"


def trainer_for(make_args, make_trainer, **fields):
    args = make_args(hub_model_id="tiny", push_to_hub=True, **fields)
    trainer = make_trainer(args)
    trainer.hub_model_id = trainer_hub.init_repo(args)
    return trainer


def save_model(output_dir, secret: str | None = None) -> None:
    """What save_model leaves in output_dir, plus clutter a push must leave out."""
    files = {
        "model.safetensors": b"final weights",
        "config.json": b"{}",
        "training_args.bin": b"args" + (secret.encode() if secret else b""),
        "runs/events.out": b"tensorboard",
        "_private/notes.txt": b"private",
        ".staging-checkpoint-9/model.safetensors": b"half written",
        "training_args.bin.tmp": b"half written",
    }
    for name, data in files.items():
        path = os.path.join(output_dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)


def test_push_folder_uploads_model_and_card_but_not_checkpoints(
    fake_hub, make_args, make_trainer, write_checkpoint
):
    trainer = trainer_for(make_args, make_trainer)
    out = trainer.args.output_dir
    write_checkpoint(out, 2)
    save_model(out)
    info = trainer_hub.push_folder(trainer, commit_message="End of training", dataset="toy")
    assert info.oid and info.commit_url.startswith(fake_hub.endpoint)
    files = fake_hub.files(REPO)
    assert sorted(files) == [
        "README.md",
        "config.json",
        "model.safetensors",
        "runs/events.out",
        "training_args.bin",
    ]
    assert files["model.safetensors"] == b"final weights"
    readme = files["README.md"].decode()
    assert "# tiny" in readme  # model name from hub_model_id
    assert "on the toy dataset." in readme
    (commit,) = fake_hub.commits_to(REPO)
    assert commit.summary == "End of training" and commit.revision == "main"
    assert commit.user == FAKE_USER


def test_push_folder_honours_revision_and_model_tags(fake_hub, make_args, make_trainer):
    trainer = trainer_for(make_args, make_trainer, hub_revision="dev")
    trainer.model.model_tags = ["lora"]
    save_model(trainer.args.output_dir)
    trainer_hub.push_folder(trainer, tags="mine")
    assert fake_hub.commits_to(REPO)[-1].revision == "dev"
    readme = fake_hub.files(REPO, "dev")["README.md"].decode()
    assert "- mine\n- lora\n- generated_from_trainer" in readme
    trainer_hub.push_folder(trainer, revision="other")
    assert fake_hub.commits_to(REPO)[-1].revision == "other"


def test_push_folder_creates_the_repo_when_needed(fake_hub, make_args, make_trainer):
    trainer = make_trainer(make_args(hub_model_id="fresh"))
    save_model(trainer.args.output_dir)
    trainer_hub.push_folder(trainer)
    assert trainer.hub_model_id == f"{FAKE_USER}/fresh"
    assert "model.safetensors" in fake_hub.files(trainer.hub_model_id)


def test_non_blocking_push_returns_a_tracked_future(fake_hub, make_args, make_trainer):
    trainer = trainer_for(make_args, make_trainer)
    save_model(trainer.args.output_dir)
    fake_hub.commit_delay = 0.2
    future = trainer_hub.push_folder(trainer, blocking=False)
    assert isinstance(future, Future)
    assert trainer.push_in_progress.jobs == [future]
    trainer_hub.wait_for_pushes(trainer)
    assert future.done() and trainer.push_in_progress.is_done()
    assert future.result().oid
    assert "README.md" in fake_hub.files(REPO)


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("end", set()),
        ("every_save", {"model.safetensors", "config.json", "training_args.bin"}),
        (
            "checkpoint",
            {"model.safetensors", "config.json", "training_args.bin"}
            | {
                f"last-checkpoint/{name}"
                for name in (
                    "model.safetensors",
                    "config.json",
                    "optimizer.pt",
                    "scheduler.pt",
                    "rng_state.pth",
                    "trainer_state.json",
                    "training_args.bin",
                )
            },
        ),
    ],
)
def test_push_checkpoint_per_strategy(
    fake_hub, make_args, make_trainer, write_checkpoint, strategy, expected
):
    trainer = trainer_for(make_args, make_trainer, hub_strategy=strategy, save_steps=2)
    trainer.state.global_step = 2
    folder = write_checkpoint(trainer.args.output_dir, 2)
    result = trainer_hub.push_checkpoint(trainer, folder)
    trainer_hub.wait_for_pushes(trainer)
    if strategy == "end":
        assert result is None and not fake_hub.commits_to(REPO)
        assert trainer.callback_handler.pushes == 0
        return
    assert set(fake_hub.files(REPO)) == expected
    summaries = [c.summary for c in fake_hub.commits_to(REPO)]
    assert summaries[0] == "Training in progress, step 2"
    if strategy == "checkpoint":
        assert summaries[1] == "Training in progress, step 2, checkpoint"
        assert fake_hub.files(REPO)["last-checkpoint/trainer_state.json"] == b'{"global_step": 2}'
    assert trainer.callback_handler.pushes == 1
    # The model files were copied next to the checkpoints; the snapshot was cleaned up.
    out = trainer.args.output_dir
    with open(os.path.join(out, "model.safetensors"), "rb") as f:
        assert f.read() == b"weights 2"
    assert not [name for name in os.listdir(out) if name.startswith("_")]


def test_all_checkpoints_keep_their_names(fake_hub, make_args, make_trainer, write_checkpoint):
    trainer = trainer_for(
        make_args, make_trainer, hub_strategy="all_checkpoints", save_strategy="epoch"
    )
    for step, epoch in ((3, 1.0), (6, 2.0)):
        trainer.state.global_step, trainer.state.epoch = step, epoch
        trainer_hub.push_checkpoint(trainer, write_checkpoint(trainer.args.output_dir, step))
        trainer_hub.wait_for_pushes(trainer)
    files = fake_hub.files(REPO)
    assert "checkpoint-3/optimizer.pt" in files and "checkpoint-6/optimizer.pt" in files
    assert "last-checkpoint/optimizer.pt" not in files
    assert files["model.safetensors"] == b"weights 6"
    summaries = [c.summary for c in fake_hub.commits_to(REPO)]
    assert summaries == [
        "Training in progress, epoch 1",
        "Training in progress, epoch 1, checkpoint",
        "Training in progress, epoch 2",
        "Training in progress, epoch 2, checkpoint",
    ]


def test_busy_push_skips_unless_always_push(fake_hub, make_args, make_trainer, write_checkpoint):
    trainer = trainer_for(make_args, make_trainer, hub_strategy="every_save")
    out = trainer.args.output_dir
    fake_hub.commit_delay = 0.3
    assert trainer_hub.push_checkpoint(trainer, write_checkpoint(out, 2)) is not None
    assert trainer_hub.push_checkpoint(trainer, write_checkpoint(out, 4)) is None  # still busy
    trainer_hub.wait_for_pushes(trainer)
    assert len(fake_hub.commits_to(REPO)) == 1

    trainer.args.hub_always_push = True
    first = trainer_hub.push_checkpoint(trainer, write_checkpoint(out, 6))
    second = trainer_hub.push_checkpoint(trainer, write_checkpoint(out, 8))
    assert first is second and len(second.jobs) == 2
    trainer_hub.wait_for_pushes(trainer)
    assert len(fake_hub.commits_to(REPO)) == 3
    assert fake_hub.files(REPO)["model.safetensors"] == b"weights 8"


def test_checkpoint_deleted_during_push_still_arrives(
    fake_hub, make_args, make_trainer, write_checkpoint
):
    trainer = trainer_for(make_args, make_trainer, hub_strategy="checkpoint")
    fake_hub.commit_delay = 0.2  # the first (output_dir) commit keeps the worker busy
    folder = write_checkpoint(trainer.args.output_dir, 2)
    trainer_hub.push_checkpoint(trainer, folder)
    shutil.rmtree(folder)  # as save_total_limit would, before the upload reads the folder
    trainer_hub.wait_for_pushes(trainer)
    assert fake_hub.files(REPO)["last-checkpoint/optimizer.pt"] == b"optimizer"


def test_failed_background_push_is_logged(fake_hub, make_args, make_trainer, caplog):
    trainer = trainer_for(make_args, make_trainer)
    save_model(trainer.args.output_dir)
    trainer.hub_model_id = "nobody/missing"  # not created: the Hub answers 404
    with caplog.at_level(logging.WARNING, logger="trainer_hub"):
        future = trainer_hub.push_folder(trainer, blocking=False)
        trainer_hub.wait_for_pushes(trainer)
    assert future.exception() is not None
    assert any("Pushing the output folder to the Hub failed" in r.message for r in caplog.records)


def test_token_stays_out_of_uploads_and_logs(
    fake_hub, make_args, make_trainer, write_checkpoint, caplog, capfd
):
    trainer = trainer_for(make_args, make_trainer, hub_strategy="checkpoint")
    out = trainer.args.output_dir
    with caplog.at_level(logging.DEBUG):
        trainer_hub.push_checkpoint(trainer, write_checkpoint(out, 2, secret=FAKE_TOKEN))
        trainer_hub.wait_for_pushes(trainer)
        save_model(out, secret=FAKE_TOKEN)
        trainer_hub.push_folder(trainer)
    files = fake_hub.files(REPO)
    assert "README.md" in files and "model.safetensors" in files
    # training_args.bin held the token: it was held back (root and checkpoint), with a warning.
    assert "training_args.bin" not in files and "last-checkpoint/training_args.bin" not in files
    assert any("Not uploading training_args.bin" in r.message for r in caplog.records)
    for name, data in files.items():
        assert FAKE_TOKEN.encode() not in data, name
    with open(os.path.join(out, "README.md"), encoding="utf-8") as f:
        assert FAKE_TOKEN not in f.read()
    captured = capfd.readouterr()
    assert FAKE_TOKEN not in caplog.text + captured.out + captured.err
