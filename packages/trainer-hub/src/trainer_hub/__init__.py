"""Model cards and pushing checkpoints to the Hugging Face Hub.

``trainer_loop.Trainer`` reaches this package lazily (``pip install "trainer-loop[hub]"``) for
``init_hf_repo``, ``create_model_card``, ``push_to_hub`` and the per-``hub_strategy`` checkpoint
pushes. Pushing functions take values and return what they started or decided; the trainer
keeps the pushes in progress and fires ``on_push_begin``. The model card reads a duck-typed
trainer (``args``, ``state``, ``model``, datasets).
"""

from ._files import IGNORE_PATTERNS
from .history import EvalHistory, markdown_table, parse_log_history
from .model_card import build_model_card, render_model_card, write_model_card
from .push import (
    PushInProgress,
    checkpoint_push_skipped,
    push_checkpoint,
    push_folder,
    track,
    wait_for,
)
from .repo import init_repo, repo_name
from .run_summary import RunSummary, summarize_run, training_hyperparameters

__version__ = "0.1.0"

__all__ = [
    "IGNORE_PATTERNS",
    "EvalHistory",
    "PushInProgress",
    "RunSummary",
    "build_model_card",
    "checkpoint_push_skipped",
    "init_repo",
    "markdown_table",
    "parse_log_history",
    "push_checkpoint",
    "push_folder",
    "render_model_card",
    "repo_name",
    "summarize_run",
    "track",
    "training_hyperparameters",
    "wait_for",
    "write_model_card",
]
