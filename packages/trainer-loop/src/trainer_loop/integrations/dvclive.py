"""DVCLive (``report_to="dvclive"``, ``pip install "trainer-loop[dvclive]"``)."""

from __future__ import annotations

import logging
import os
from typing import Any

from ..callbacks.base import TrainerCallback
from .base import TRUE_VALUES, has_module, import_client, save_model_files

logger = logging.getLogger(__name__)


def is_dvclive_available() -> bool:
    """Whether the dvclive client is installed."""
    return has_module("dvclive")


class DVCLiveCallback(TrainerCallback):
    """Logs parameters and metrics with DVCLive (plain files under ``dvclive/`` by default).

    Pass ``live`` (a ``dvclive.Live``) to choose the folder and options, or leave it out for
    ``Live()``. ``log_model`` (or ``HF_DVCLIVE_LOG_MODEL``): ``True`` logs the final model as an
    artifact named ``"best"`` or ``"last"``; ``"all"`` logs ``output_dir`` at every save. Metric
    names are DVCLive's Hugging Face names (``loss``, ``eval/loss``, ``train/runtime``); each log
    call is one DVCLive step.
    """

    def __init__(self, live: Any = None, log_model: str | bool | None = None, **kwargs: Any):
        dvclive = import_client("dvclive", "DVCLiveCallback", "dvclive")
        self._initialized = False
        self.live = None
        if isinstance(live, dvclive.Live):
            self.live = live
        elif live is not None:
            raise RuntimeError(
                f"DVCLiveCallback: live must be a dvclive.Live, got {type(live).__name__}."
            )
        self._log_model = log_model
        if self._log_model is None:
            value = os.getenv("HF_DVCLIVE_LOG_MODEL", "FALSE")
            if value.upper() in TRUE_VALUES:
                self._log_model = True
            elif value.lower() == "all":
                self._log_model = "all"

    def setup(self, args: Any, state: Any, model: Any) -> None:
        """Create the ``Live`` (unless one was given) and log the arguments; main process only."""
        self._initialized = True
        if state.is_world_process_zero:
            if self.live is None:
                from dvclive import Live

                self.live = Live()
            self.live.log_params(args.to_dict())

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if not self._initialized:
            self.setup(args, state, model)

    def on_log(self, args, state, control, model=None, logs=None, **kwargs):
        if not self._initialized:
            self.setup(args, state, model)
        if not state.is_world_process_zero or logs is None:
            return
        from dvclive.plots import Metric
        from dvclive.utils import standardize_metric_name

        for key, value in logs.items():
            if Metric.could_log(value):
                self.live.log_metric(standardize_metric_name(key, "dvclive.huggingface"), value)
            else:
                logger.warning("DVCLive: %r is not a number and is not logged.", key)
        self.live.next_step()

    def on_save(self, args, state, control, **kwargs):
        if self._log_model == "all" and self._initialized and state.is_world_process_zero:
            self.live.log_artifact(args.output_dir)

    def on_train_end(self, args, state, control, model=None, processing_class=None, **kwargs):
        if not (self._initialized and state.is_world_process_zero):
            return
        if self._log_model is True and model is not None:
            name = "best" if args.load_best_model_at_end else "last"
            folder = os.path.join(args.output_dir, name)
            save_model_files(model, processing_class, folder)
            self.live.log_artifact(folder, name=name, type="model", copy=True)
        self.live.end()
