"""Uploading ``output_dir`` and checkpoints to the Hub, in the foreground or in the background.

These functions decide and upload; they change nothing on the trainer and fire no event.
Background uploads return ``concurrent.futures.Future`` objects; the caller keeps them in a
:class:`PushInProgress` (:func:`track`), which is how a new checkpoint push knows the previous one
has not finished (:func:`checkpoint_push_skipped`), and how the end of training waits
(:func:`wait_for`). ``trainer_loop.Trainer`` applies all of this and fires ``on_push_begin``.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import shutil
from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import Any

from huggingface_hub import CommitInfo

from ._client import hub_api, redact, resolve_token, secrets_of
from ._files import (
    IGNORE_PATTERNS,
    copy_model_files,
    safe_ignore_patterns,
    snapshot,
    snapshot_top_level,
)
from .model_card import write_model_card

logger = logging.getLogger(__name__)

LAST_CHECKPOINT_DIR = "last-checkpoint"


class PushInProgress:
    """The background uploads started for one trainer that may still be running."""

    def __init__(self, jobs: Iterable[concurrent.futures.Future]) -> None:
        self.jobs: list[concurrent.futures.Future] = list(jobs)

    def is_done(self) -> bool:
        """Whether every upload has finished (successfully or not)."""
        return all(job.done() for job in self.jobs)

    def wait_until_done(self) -> None:
        """Block until every upload has finished."""
        concurrent.futures.wait(self.jobs)

    def cancel(self) -> None:
        """Cancel the uploads that have not started yet; running ones finish."""
        for job in self.jobs:
            job.cancel()
        self.jobs = [job for job in self.jobs if not job.cancelled()]


def _value(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def track(pending: PushInProgress | None, jobs: list[concurrent.futures.Future]) -> PushInProgress:
    """The uploads to wait for after starting ``jobs``: ``pending`` extended while it still
    runs, else a new :class:`PushInProgress`."""
    if pending is None or pending.is_done():
        return PushInProgress(jobs)
    pending.jobs.extend(jobs)
    return pending


def _upload(
    args: Any,
    repo_id: str,
    folder: str,
    *,
    commit_message: str | None,
    token: str | None,
    revision: str | None,
    background: bool,
    path_in_repo: str | None = None,
    ignore_patterns: list[str] | None = None,
    cleanup: str | None = None,
) -> CommitInfo | concurrent.futures.Future:
    """Upload ``folder`` (files holding a token are left out), now or on the background worker.

    In the background, a failure is logged as a warning (nobody else reads the future's
    exception during training) and ``cleanup`` (a snapshot folder) is deleted; both happen
    before the future counts as done.
    """
    api = hub_api()
    secrets = secrets_of(args, token)
    patterns = safe_ignore_patterns(folder, secrets, ignore_patterns or [])
    what = path_in_repo or "the output folder"
    folder = os.path.abspath(folder)

    def run() -> CommitInfo:
        try:
            return api.upload_folder(
                repo_id=repo_id,
                folder_path=folder,
                path_in_repo=path_in_repo,
                commit_message=commit_message,
                token=token,
                revision=revision,
                ignore_patterns=patterns or None,
            )
        except Exception as error:
            if background:
                message = redact(f"{type(error).__name__}: {error}", secrets)
                logger.warning("Pushing %s to the Hub failed: %s", what, message)
            raise
        finally:
            if cleanup is not None:
                shutil.rmtree(cleanup, ignore_errors=True)

    return api.run_as_future(run) if background else run()


def push_folder(
    trainer: Any,
    commit_message: str | None = "End of training",
    blocking: bool = True,
    token: str | None = None,
    revision: str | None = None,
    **kwargs: Any,
) -> CommitInfo | concurrent.futures.Future:
    """Write the model card, then upload ``args.output_dir`` to the trainer's repository.

    The model must already be saved in ``output_dir`` and the repository created
    (``trainer.hub_model_id``). Checkpoint folders and private (``_*``) entries are left out.
    Wait for earlier background pushes first (:func:`wait_for`) so this commit lands after them.

    Args:
        trainer: the trainer, read only (duck-typed: ``args``, ``state``, ``model``,
            ``hub_model_id``).
        commit_message: summary of the commit.
        blocking: when ``False``, return at once with a ``Future`` of the commit (keep it with
            :func:`track`).
        token: token with write access; defaults to ``args.hub_token``, then the saved login.
        revision: branch to commit to; defaults to ``args.hub_revision`` (the default branch
            when that is ``None``).
        **kwargs: passed on to the model card (``language``, ``license``, ``tags``,
            ``model_name``, ``finetuned_from``, ``tasks``, ``dataset_tags``, ``dataset``,
            ``dataset_args``).

    Returns:
        The ``CommitInfo`` of the commit, or a ``Future`` of it when ``blocking=False``.
    """
    args = trainer.args
    model_name = kwargs.pop("model_name", None)
    if model_name is None and args.should_save:
        model_name = (
            args.hub_model_id.split("/")[-1] if args.hub_model_id else Path(args.output_dir).name
        )
    token = resolve_token(token, args)
    if trainer.hub_model_id is None:
        raise ValueError(
            "push_folder needs the repository first: create it with init_repo(args) and set "
            "trainer.hub_model_id (Trainer.push_to_hub does both)."
        )

    model_tags = getattr(getattr(trainer, "model", None), "model_tags", None)
    if model_tags is not None:
        tags = kwargs.get("tags") or []
        tags = [tags] if isinstance(tags, str) else list(tags)
        kwargs["tags"] = tags + [t for t in model_tags if t not in tags]

    write_model_card(trainer, model_name=model_name, **kwargs)
    if revision is None:
        revision = args.hub_revision
    return _upload(
        args,
        trainer.hub_model_id,
        args.output_dir,
        commit_message=commit_message,
        token=token,
        revision=revision,
        background=not blocking,
        ignore_patterns=list(IGNORE_PATTERNS),
    )


def checkpoint_push_skipped(args: Any, pending: PushInProgress | None) -> str | None:
    """Why a freshly saved checkpoint is not pushed now, or None when it should be.

    ``hub_strategy="end"`` pushes no checkpoint; a previous push still running skips this one
    unless ``hub_always_push``.
    """
    if _value(args.hub_strategy) == "end":
        return "hub_strategy='end' pushes only at the end"
    if not args.hub_always_push and pending is not None and not pending.is_done():
        return (
            "the previous push to the Hub is still running (set hub_always_push=True to push "
            "every checkpoint)"
        )
    return None


def push_checkpoint(
    args: Any,
    repo_id: str,
    checkpoint_folder: str,
    global_step: int,
    epoch: float | None,
    processing_class: Any = None,
) -> list[concurrent.futures.Future]:
    """Push a freshly saved checkpoint in the background, as ``args.hub_strategy`` asks.

    - ``"every_save"``: the model files and ``training_args.bin`` of the checkpoint are copied to
      ``output_dir`` (with ``processing_class``'s files) and ``output_dir`` is uploaded
      (checkpoint folders left out).
    - ``"checkpoint"``: the same, plus the checkpoint folder uploaded as ``last-checkpoint/``,
      from which training can resume.
    - ``"all_checkpoints"``: the same, with the checkpoint uploaded under its own name.

    Ask :func:`checkpoint_push_skipped` first. Commits go to ``args.hub_revision`` when set.

    Returns:
        The started uploads (keep them with :func:`track`).
    """
    strategy = _value(args.hub_strategy)
    token = resolve_token(None, args)
    output_dir = args.output_dir
    copy_model_files(checkpoint_folder, output_dir)
    if processing_class is not None and hasattr(processing_class, "save_pretrained"):
        processing_class.save_pretrained(output_dir)

    if _value(args.save_strategy) == "steps":
        message = f"Training in progress, step {global_step}"
    else:
        message = f"Training in progress, epoch {int(epoch or 0)}"

    model_copy = snapshot_top_level(output_dir)  # the next save rewrites these files
    jobs = [
        _upload(
            args,
            repo_id,
            model_copy,
            commit_message=message,
            token=token,
            revision=args.hub_revision,
            background=True,
            ignore_patterns=list(IGNORE_PATTERNS),
            cleanup=model_copy,
        )
    ]
    if strategy in ("checkpoint", "all_checkpoints"):
        name = os.path.basename(os.path.normpath(checkpoint_folder))
        copy = snapshot(checkpoint_folder)
        jobs.append(
            _upload(
                args,
                repo_id,
                copy,
                commit_message=f"{message}, checkpoint",
                token=token,
                revision=args.hub_revision,
                background=True,
                path_in_repo=LAST_CHECKPOINT_DIR if strategy == "checkpoint" else name,
                cleanup=copy,
            )
        )
    return jobs


def wait_for(pending: PushInProgress | None) -> None:
    """Block until the background pushes in ``pending`` have finished (failures were logged)."""
    if pending is None or pending.is_done():
        return
    logger.info("Waiting for the push to the Hub to finish; this can take a few minutes.")
    pending.wait_until_done()
