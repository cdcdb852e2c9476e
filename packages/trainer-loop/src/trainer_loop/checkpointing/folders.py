"""The one place that names, lists, orders, chooses and rotates ``checkpoint-<step>`` folders.

Every caller that needs "the checkpoints of this run" (resume with ``True``, rotation by
``save_total_limit``, keeping only the best at the end, ``get_last_checkpoint``) goes through
here, so one pattern decides what counts as a checkpoint folder: ``<prefix>-<step>``, a folder,
never a ``.staging-`` one still being written.
"""

from __future__ import annotations

import logging
import os
import re
import shutil

from ..results import PREFIX_CHECKPOINT_DIR, TRAINER_STATE_NAME
from .checks import checkpoint_problems, inexact_resume_files

logger = logging.getLogger(__name__)


def _step_pattern(prefix: str = PREFIX_CHECKPOINT_DIR) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(prefix)}-(\d+)$")


_CHECKPOINT_RE = _step_pattern()


def checkpoint_folder_name(global_step: int) -> str:
    return f"{PREFIX_CHECKPOINT_DIR}-{global_step}"


def _step_folders(run_dir: str | os.PathLike[str], prefix: str = PREFIX_CHECKPOINT_DIR):
    """``(step, path)`` of every ``<prefix>-<step>`` folder of ``run_dir``, in no order."""
    if not os.path.isdir(run_dir):
        return []
    pattern = _CHECKPOINT_RE if prefix == PREFIX_CHECKPOINT_DIR else _step_pattern(prefix)
    found = []
    for name in os.listdir(run_dir):
        match = pattern.match(name)
        path = os.path.join(run_dir, name)
        if match and os.path.isdir(path):
            found.append((int(match.group(1)), path))
    return found


def list_checkpoints(run_dir: str) -> list[str]:
    """Finished checkpoint folders of ``run_dir``, oldest step first."""
    return [path for _, path in sorted(_step_folders(run_dir))]


def resolve_resume_checkpoint(
    resume_from_checkpoint: str | bool | None, output_dir: str
) -> str | None:
    """Turn ``train(resume_from_checkpoint=...)`` into a checked checkpoint folder.

    A path must be a usable checkpoint (``ValueError`` naming what is wrong otherwise). ``True``
    takes the newest usable checkpoint of ``output_dir``, warning about each newer one it skips.
    Either way a warning names the optional files whose absence makes the resume inexact.
    """
    if resume_from_checkpoint is None or resume_from_checkpoint is False:
        return None
    if resume_from_checkpoint is True:
        chosen = _newest_usable_checkpoint(output_dir)
    else:
        chosen = os.fspath(resume_from_checkpoint)
        if not os.path.isdir(chosen):
            raise ValueError(
                f"Can't find a valid checkpoint at {chosen}: resume_from_checkpoint={chosen!r} "
                "does not exist or is not a folder. Pass a "
                f"checkpoint folder such as "
                f"'{os.path.join(output_dir, checkpoint_folder_name(500))}', or True to resume "
                "from the latest one in output_dir."
            )
        problems = checkpoint_problems(chosen)
        if problems:
            raise ValueError(
                f"Can't find a valid checkpoint at {chosen}: {'; '.join(problems)}. Pass another checkpoint (or True for the newest usable "
                "one in output_dir); to start a new run from these weights, load them into the "
                "model and call train() without resume_from_checkpoint."
            )
    missing = inexact_resume_files(chosen)
    if missing:
        logger.warning(
            "Resuming from %s without %s: the resume is not exact (what those files hold starts "
            "afresh: optimizer moments, learning-rate schedule or random state).",
            chosen,
            ", ".join(missing),
        )
    return chosen


def _newest_usable_checkpoint(output_dir: str) -> str:
    skipped = []
    for folder in reversed(list_checkpoints(output_dir)):
        problems = checkpoint_problems(folder)
        if not problems:
            return folder
        skipped.append(f"{os.path.basename(folder)} ({'; '.join(problems)})")
        logger.warning(
            "Skipping checkpoint %s for resume_from_checkpoint=True: %s. Trying the previous one.",
            folder,
            "; ".join(problems),
        )
    found = f" Skipped: {', '.join(skipped)}." if skipped else ""
    raise ValueError(
        f"No valid checkpoint found in output directory ({output_dir}): "
        f"resume_from_checkpoint=True looks for a '{PREFIX_CHECKPOINT_DIR}-<step>' folder holding "
        f"{TRAINER_STATE_NAME} and model weights, and there is no valid checkpoint there.{found} "
        "Train without resuming, or pass the checkpoint's path."
    )


def get_last_checkpoint(folder: str | os.PathLike[str]) -> str | None:
    """Path of the ``checkpoint-<N>`` folder with the largest ``N`` in ``folder``, or ``None``."""
    found = _step_folders(folder)
    return max(found)[1] if found else None


def sorted_checkpoints(
    output_dir: str | os.PathLike[str],
    checkpoint_prefix: str = PREFIX_CHECKPOINT_DIR,
    use_mtime: bool = False,
    best_model_checkpoint: str | None = None,
) -> list[str]:
    """``<prefix>-<N>`` folders of ``output_dir``, oldest first.

    Ordered by step number (or modification time with ``use_mtime``). When
    ``best_model_checkpoint`` is among them and is not the newest, it is moved just before the
    newest one, so that rotating old checkpoints away keeps both the best and the latest.
    """
    found: list[tuple[float, str]] = [
        (os.path.getmtime(path) if use_mtime else step, path)
        for step, path in _step_folders(output_dir, checkpoint_prefix)
    ]
    if use_mtime and len(found) > 1:
        times = [key for key, _ in found]
        if max(times) - min(times) < 1.0:  # coarse or fake mtimes: fall back to step numbers
            return sorted_checkpoints(output_dir, checkpoint_prefix, False, best_model_checkpoint)
    ordered = [path for _, path in sorted(found)]
    if best_model_checkpoint is not None:
        best = os.path.normpath(best_model_checkpoint)
        normalised = [os.path.normpath(p) for p in ordered]
        if best in normalised and normalised[-1] != best:
            best_path = ordered[normalised.index(best)]
            newest = ordered[-1]
            ordered = [p for p in ordered if p not in (best_path, newest)] + [best_path, newest]
    return ordered


def rotate_checkpoints(
    run_dir: str,
    save_total_limit: int | None,
    best_model_checkpoint: str | None,
    keep: str | None = None,
) -> list[str]:
    """Delete the oldest checkpoints beyond ``save_total_limit``; the best one is never deleted.

    Neither is ``keep`` (the newest checkpoint with finite weights, see ``nonfinite``), even when
    that leaves one checkpoint more than the limit.

    The best checkpoint is moved to the most recent end of the ordering so it survives, as in
    transformers (with a limit of 1 and a best checkpoint that is not the latest, two are kept so
    training can still resume from the latest).
    """
    if save_total_limit is None or save_total_limit <= 0:
        return []
    checkpoints = list_checkpoints(run_dir)
    if best_model_checkpoint is not None:
        absolute = [os.path.abspath(c) for c in checkpoints]
        best = os.path.abspath(best_model_checkpoint)
        if best in absolute and absolute.index(best) < len(checkpoints) - 2:
            # Keep the best checkpoint just before the newest so it outlives older ones.
            checkpoints.insert(len(checkpoints) - 2, checkpoints.pop(absolute.index(best)))
    if len(checkpoints) <= save_total_limit:
        return []
    limit = save_total_limit
    if (
        limit == 1
        and best_model_checkpoint is not None
        and os.path.abspath(checkpoints[-1]) != os.path.abspath(best_model_checkpoint)
    ):
        limit = 2
    doomed = checkpoints[: max(len(checkpoints) - limit, 0)]
    if keep is not None:
        doomed = [c for c in doomed if os.path.abspath(c) != os.path.abspath(keep)]
    for folder in doomed:
        logger.info(
            "Deleting older checkpoint [%s] due to save_total_limit=%s", folder, save_total_limit
        )
        shutil.rmtree(folder, ignore_errors=True)
    return doomed


def keep_only(run_dir: str, spared: list[str]) -> None:
    """Delete every checkpoint of ``run_dir`` but ``spared`` (``save_total_limit=1`` at the end)."""
    keep = {os.path.abspath(path) for path in spared}
    for folder in list_checkpoints(run_dir):
        if os.path.abspath(folder) not in keep:
            logger.info("Deleting older checkpoint [%s] due to save_total_limit=1", folder)
            shutil.rmtree(folder, ignore_errors=True)
