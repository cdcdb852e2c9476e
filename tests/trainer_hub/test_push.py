"""push_folder / push_checkpoint / track / wait_for against the fake Hub: values in, uploads out."""

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


def push(trainer, folder, pending=None):
    """What the trainer does at a save: ask whether to push, push, keep the jobs."""
    if trainer_hub.checkpoint_push_skipped(trainer.args, pending) is not None:
        return None
    jobs = trainer_hub.push_checkpoint(
        trainer.args, trainer.hub_model_id, folder, trainer.state.global_step, trainer.state.epoch
    )
    return trainer_hub.track(pending, jobs)


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


def test_push_folder_needs_the_repo_and_changes_nothing_on_the_trainer(
    fake_hub, make_args, make_trainer
):
    trainer = make_trainer(make_args(hub_model_id="fresh"))
    save_model(trainer.args.output_dir)
    with pytest.raises(ValueError, match="init_repo"):
        trainer_hub.push_folder(trainer)
    trainer.hub_model_id = trainer_hub.init_repo(trainer.args)
    before = dict(vars(trainer))
    trainer_hub.push_folder(trainer)
    assert vars(trainer) == before and trainer.callback_handler.pushes == 0
    assert "model.safetensors" in fake_hub.files(trainer.hub_model_id)


def test_non_blocking_push_returns_a_tracked_future(fake_hub, make_args, make_trainer):
    trainer = trainer_for(make_args, make_trainer)
    save_model(trainer.args.output_dir)
    fake_hub.commit_delay = 0.2
    future = trainer_hub.push_folder(trainer, blocking=False)
    assert isinstance(future, Future)
    pending = trainer_hub.track(None, [future])
    assert pending.jobs == [future]
    trainer_hub.wait_for(pending)
    assert future.done() and pending.is_done()
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
    result = push(trainer, folder)
    trainer_hub.wait_for(result)
    assert trainer.callback_handler.pushes == 0  # the trainer fires on_push_begin, not trainer_hub
    if strategy == "end":
        assert result is None and not fake_hub.commits_to(REPO)
        return
    assert set(fake_hub.files(REPO)) == expected
    summaries = [c.summary for c in fake_hub.commits_to(REPO)]
    assert summaries[0] == "Training in progress, step 2"
    if strategy == "checkpoint":
        assert summaries[1] == "Training in progress, step 2, checkpoint"
        assert fake_hub.files(REPO)["last-checkpoint/trainer_state.json"] == b'{"global_step": 2}'

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
        trainer_hub.wait_for(push(trainer, write_checkpoint(trainer.args.output_dir, step)))
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
    pending = push(trainer, write_checkpoint(out, 2))
    assert pending is not None
    assert push(trainer, write_checkpoint(out, 4), pending) is None  # still busy
    assert "still running" in trainer_hub.checkpoint_push_skipped(trainer.args, pending)
    trainer_hub.wait_for(pending)
    assert len(fake_hub.commits_to(REPO)) == 1

    trainer.args.hub_always_push = True
    first = push(trainer, write_checkpoint(out, 6))
    second = push(trainer, write_checkpoint(out, 8), first)
    assert first is second and len(second.jobs) == 2
    trainer_hub.wait_for(second)
    assert len(fake_hub.commits_to(REPO)) == 3
    assert fake_hub.files(REPO)["model.safetensors"] == b"weights 8"


def test_checkpoint_deleted_during_push_still_arrives(
    fake_hub, make_args, make_trainer, write_checkpoint
):
    trainer = trainer_for(make_args, make_trainer, hub_strategy="checkpoint")
    fake_hub.commit_delay = 0.2  # the first (output_dir) commit keeps the worker busy
    folder = write_checkpoint(trainer.args.output_dir, 2)
    pending = push(trainer, folder)
    shutil.rmtree(folder)  # as save_total_limit would, before the upload reads the folder
    trainer_hub.wait_for(pending)
    assert fake_hub.files(REPO)["last-checkpoint/optimizer.pt"] == b"optimizer"


def test_failed_background_push_is_logged(fake_hub, make_args, make_trainer, caplog):
    trainer = trainer_for(make_args, make_trainer)
    save_model(trainer.args.output_dir)
    trainer.hub_model_id = "nobody/missing"  # not created: the Hub answers 404
    with caplog.at_level(logging.WARNING, logger="trainer_hub"):
        future = trainer_hub.push_folder(trainer, blocking=False)
        trainer_hub.wait_for(trainer_hub.track(None, [future]))
    assert future.exception() is not None
    assert any("Pushing the output folder to the Hub failed" in r.message for r in caplog.records)


def test_token_stays_out_of_uploads_and_logs(
    fake_hub, make_args, make_trainer, write_checkpoint, caplog, capfd
):
    trainer = trainer_for(make_args, make_trainer, hub_strategy="checkpoint")
    out = trainer.args.output_dir
    with caplog.at_level(logging.DEBUG):
        trainer_hub.wait_for(push(trainer, write_checkpoint(out, 2, secret=FAKE_TOKEN)))
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
