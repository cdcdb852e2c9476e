"""What one checkpoint holds and where it goes, worked out once per save.

The trainer builds a :class:`CheckpointRecipe` at each save and hands it to one of two writers:
the blocking one (the saving hooks, in the training thread) or the background one (host copies
written by a worker thread). Both then finish the same way (:func:`finish_checkpoint`): push per
``hub_strategy``, then rotate old folders, sparing the best checkpoint and the newest one with
finite weights. Nothing here reads the trainer: the recipe holds values.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from .folders import checkpoint_folder_name, rotate_checkpoints


class CheckpointRecipe:
    """One save's decisions, fixed before any file is written.

    ``final_dir`` is ``<run_dir>/checkpoint-<step>``; ``with_training_state`` is False with
    ``save_only_model`` (weights only); ``state_json`` is ``trainer_state.json``'s text (None on
    processes that do not save); ``best_model_checkpoint`` and ``keep`` are what rotation spares;
    ``push`` says whether the folder goes to the Hub once written; ``rank_files`` maps the names
    of this process's own small text files (``data_state.json``) to their content, written by
    both writers next to the RNG state.
    """

    __slots__ = (
        "run_dir",
        "final_dir",
        "with_training_state",
        "state_json",
        "save_total_limit",
        "best_model_checkpoint",
        "keep",
        "push",
        "rank_files",
    )

    def __init__(
        self,
        run_dir: str,
        global_step: int,
        with_training_state: bool,
        state_json: str | None,
        save_total_limit: int | None,
        best_model_checkpoint: str | None,
        keep: str | None,
        push: bool,
    ) -> None:
        self.run_dir = run_dir
        self.final_dir = os.path.join(run_dir, checkpoint_folder_name(global_step))
        self.with_training_state = with_training_state
        self.state_json = state_json
        self.save_total_limit = save_total_limit
        self.best_model_checkpoint = best_model_checkpoint
        self.keep = keep
        self.push = push
        self.rank_files: dict[str, str] = {}


def best_checkpoint_dir(run_dir: str, best_step: int | None, global_step: int) -> str | None:
    """The folder of the best checkpoint: the one being written, or an earlier one still there."""
    if not best_step:
        return None
    best_dir = os.path.join(run_dir, checkpoint_folder_name(best_step))
    return best_dir if best_step == global_step or os.path.exists(best_dir) else None


def finish_checkpoint(
    recipe: CheckpointRecipe, push: Callable[[str], None] | None, rotate: bool
) -> list[str]:
    """After the folder is in place: push it (when asked), then rotate; returns deleted folders."""
    if recipe.push and push is not None:
        push(recipe.final_dir)
    if not rotate:
        return []
    return rotate_checkpoints(
        recipe.run_dir,
        recipe.save_total_limit,
        recipe.best_model_checkpoint,
        keep=recipe.keep,
    )
