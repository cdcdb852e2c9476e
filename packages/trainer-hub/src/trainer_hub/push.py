"""Uploading ``output_dir`` and checkpoints to the Hub, in the foreground or in the background.

Background uploads return ``concurrent.futures.Future`` objects. The ones started for a trainer
are kept on it as ``trainer.push_in_progress`` (a :class:`PushInProgress`), which is how a new
checkpoint push knows the previous one has not finished, and how the end of training waits.
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
from .repo import init_repo

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


def _track(trainer: Any, jobs: list[concurrent.futures.Future]) -> PushInProgress:
    current = getattr(trainer, "push_in_progress", None)
    if current is None or current.is_done():
        current = PushInProgress(jobs)
        trainer.push_in_progress = current
    else:
        current.jobs.extend(jobs)
    return current


def _upload(
    trainer: Any,
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
    secrets = secrets_of(trainer.args, token)
    patterns = safe_ignore_patterns(folder, secrets, ignore_patterns or [])
    what = path_in_repo or "the output folder"
    repo_id, folder = trainer.hub_model_id, os.path.abspath(folder)

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


def _ensure_repo(trainer: Any, token: str | None) -> None:
    if getattr(trainer, "hub_model_id", None) is None:
        trainer.hub_model_id = init_repo(trainer.args, token=token)


def _notify_push_begin(trainer: Any) -> None:
    handler = getattr(trainer, "callback_handler", None)
    if handler is None:
        return
    control = handler.on_push_begin(trainer.args, trainer.state, trainer.control)
    if control is not None:
        trainer.control = control


def push_folder(
    trainer: Any,
    commit_message: str | None = "End of training",
    blocking: bool = True,
    token: str | None = None,
    revision: str | None = None,
    **kwargs: Any,
) -> CommitInfo | concurrent.futures.Future:
    """Write the model card, then upload ``args.output_dir`` to the trainer's repository.

    The model must already be saved in ``output_dir``. Checkpoint folders and private
    (``_*``) entries are left out. Pushes still running in the background are waited for first,
    so this commit lands after them.

    Args:
        trainer: the trainer (duck-typed: ``args``, ``state``, ``model``, ``hub_model_id``).
        commit_message: summary of the commit.
        blocking: when ``False``, return at once with a ``Future`` of the commit (also tracked
            in ``trainer.push_in_progress``).
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
    _ensure_repo(trainer, token)

    model_tags = getattr(getattr(trainer, "model", None), "model_tags", None)
    if model_tags is not None:
        tags = kwargs.get("tags") or []
        tags = [tags] if isinstance(tags, str) else list(tags)
        kwargs["tags"] = tags + [t for t in model_tags if t not in tags]

    write_model_card(trainer, model_name=model_name, **kwargs)
    if revision is None:
        revision = args.hub_revision
    wait_for_pushes(trainer)
    result = _upload(
        trainer,
        args.output_dir,
        commit_message=commit_message,
        token=token,
        revision=revision,
        background=not blocking,
        ignore_patterns=list(IGNORE_PATTERNS),
    )
    if not blocking:
        _track(trainer, [result])
    return result


def push_checkpoint(trainer: Any, checkpoint_folder: str) -> PushInProgress | None:
    """Push a freshly saved checkpoint in the background, as ``args.hub_strategy`` asks.

    - ``"end"``: nothing (only ``push_to_hub`` uploads).
    - ``"every_save"``: the model files and ``training_args.bin`` of the checkpoint are copied to
      ``output_dir`` and ``output_dir`` is uploaded (checkpoint folders left out).
    - ``"checkpoint"``: the same, plus the checkpoint folder uploaded as ``last-checkpoint/``,
      from which training can resume.
    - ``"all_checkpoints"``: the same, with the checkpoint uploaded under its own name.

    When the previous push is still running, this one is skipped unless
    ``args.hub_always_push``. Commits go to ``args.hub_revision`` when set.

    Returns:
        The trainer's :class:`PushInProgress`, or ``None`` when nothing was pushed.
    """
    args = trainer.args
    strategy = _value(args.hub_strategy)
    if strategy == "end":
        return None
    pending = getattr(trainer, "push_in_progress", None)
    if not args.hub_always_push and pending is not None and not pending.is_done():
        logger.info(
            "Not pushing %s: the previous push to the Hub is still running "
            "(set hub_always_push=True to push every checkpoint).",
            os.path.basename(checkpoint_folder),
        )
        return None

    token = resolve_token(None, args)
    _ensure_repo(trainer, token)
    _notify_push_begin(trainer)

    output_dir = args.output_dir
    copy_model_files(checkpoint_folder, output_dir)
    processor = getattr(trainer, "processing_class", None)
    if processor is not None and hasattr(processor, "save_pretrained"):
        processor.save_pretrained(output_dir)

    if _value(args.save_strategy) == "steps":
        message = f"Training in progress, step {trainer.state.global_step}"
    else:
        message = f"Training in progress, epoch {int(trainer.state.epoch or 0)}"

    model_copy = snapshot_top_level(output_dir)  # the next save rewrites these files
    jobs = [
        _upload(
            trainer,
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
                trainer,
                copy,
                commit_message=f"{message}, checkpoint",
                token=token,
                revision=args.hub_revision,
                background=True,
                path_in_repo=LAST_CHECKPOINT_DIR if strategy == "checkpoint" else name,
                cleanup=copy,
            )
        )
    return _track(trainer, jobs)


def wait_for_pushes(trainer: Any) -> None:
    """Block until the trainer's background pushes have finished (failures were logged)."""
    pending = getattr(trainer, "push_in_progress", None)
    if pending is None or pending.is_done():
        return
    logger.info("Waiting for the push to the Hub to finish; this can take a few minutes.")
    pending.wait_until_done()
