"""Flyte (``report_to="flyte"``): checkpoints synced to a Flyte task, log history as a Deck."""

from __future__ import annotations

import logging
from typing import Any

from ..callbacks.base import TrainerCallback
from .base import checkpoint_path, has_module, import_client

logger = logging.getLogger(__name__)


def is_flytekit_available() -> bool:
    """Whether flytekit is installed."""
    return has_module("flytekit")


class FlyteCallback(TrainerCallback):
    """Syncs each checkpoint with the running Flyte task and shows the log history as a Deck.

    Works only inside a Flyte ``@task`` (it reads ``flytekit.current_context().checkpoint``).
    ``save_log_history`` needs flytekitplugins-deck-standard and pandas; without them it is turned
    off with a warning. Needs ``pip install flytekit``.
    """

    def __init__(self, save_log_history: bool = True, sync_checkpoints: bool = True) -> None:
        flytekit = import_client("flytekit", "FlyteCallback", "flyte", "flytekit")
        if save_log_history and not (has_module("flytekitplugins.deck") and has_module("pandas")):
            logger.warning(
                "FlyteCallback: saving the log history needs flytekitplugins-deck-standard and "
                "pandas (pip install flytekitplugins-deck-standard pandas); it is turned off."
            )
            save_log_history = False
        self.cp: Any = flytekit.current_context().checkpoint
        self.save_log_history = save_log_history
        self.sync_checkpoints = sync_checkpoints

    def on_save(self, args, state, control, **kwargs):
        if self.sync_checkpoints and state.is_world_process_zero:
            self.cp.save(checkpoint_path(args, state))

    def on_train_end(self, args, state, control, **kwargs):
        if not self.save_log_history:
            return
        import pandas as pd
        from flytekit import Deck
        from flytekitplugins.deck.renderer import TableRenderer

        Deck("Log History", TableRenderer().to_html(pd.DataFrame(state.log_history)))
