"""Trackio (``report_to="trackio"``, ``pip install "trainer-loop[trackio]"``)."""

from __future__ import annotations

import logging
import os
from typing import Any

from ..callbacks.base import TrainerCallback
from .base import SUMMARY_KEYS, has_module, import_client, num_parameters, rewrite_logs, run_config

logger = logging.getLogger(__name__)

_DEFAULT_PROJECT = "huggingface"


def is_trackio_available() -> bool:
    """Whether the trackio client is installed."""
    return has_module("trackio")


class TrackioCallback(TrainerCallback):
    """Logs the run configuration and metrics to Trackio.

    The project is ``args.project`` (``$TRACKIO_PROJECT`` when ``project`` is left at its default
    ``"huggingface"``), the run name ``args.run_name``, and ``args.trackio_space_id`` the
    Hugging Face Space that receives the logs (``None`` keeps them in the local database under
    ``$TRACKIO_DIR``); ``hub_private_repo`` makes a new Space private. Metrics go under
    ``train/``, ``eval/`` and ``test/`` with ``train/global_step``; the end-of-training totals are
    not logged as series.
    """

    SPACE_URL = "https://huggingface.co/spaces/{space_id}"

    def __init__(self) -> None:
        self._trackio = import_client("trackio", "TrackioCallback", "trackio")
        self._initialized = False

    def setup(self, args: Any, state: Any, model: Any, **kwargs: Any) -> None:
        """Start the trackio run and record the configuration; main process only."""
        if state.is_world_process_zero:
            project = args.project
            if project == _DEFAULT_PROJECT:
                project = os.getenv("TRACKIO_PROJECT", project)
            self._trackio.init(
                project=project,
                name=args.run_name,
                space_id=args.trackio_space_id,
                resume="allow",
                private=args.hub_private_repo,
            )
            self._trackio.config.update(run_config(args, model), allow_val_change=True)
            count = num_parameters(model) if model is not None else None
            if count is not None:
                self._trackio.config["model/num_parameters"] = count
        self._initialized = True

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if not self._initialized:
            self.setup(args, state, model, **kwargs)

    def on_log(self, args, state, control, model=None, logs=None, **kwargs):
        if not self._initialized:
            self.setup(args, state, model)
        if not state.is_world_process_zero or logs is None:
            return
        series = rewrite_logs({k: v for k, v in logs.items() if k not in SUMMARY_KEYS})
        self._trackio.log({**series, "train/global_step": state.global_step})

    def on_predict(self, args, state, control, metrics=None, **kwargs):
        if not self._initialized:
            self.setup(args, state, kwargs.get("model"))
        if state.is_world_process_zero and metrics:
            self._trackio.log(rewrite_logs(metrics))

    def on_train_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero and self._initialized:
            self._trackio.finish()
        # the next train() (a search trial) starts a run of its own
        self._initialized = False

    def on_push_begin(self, args, state, control, model=None, **kwargs):
        if not state.is_world_process_zero:
            return
        project = self._trackio.context_vars.current_project.get()
        if project is None:
            return
        space_id = self._trackio.context_vars.current_space_id.get()
        if space_id is None:
            space_id = self._trackio.sync(project, force=True)
        space_url = self.SPACE_URL.format(space_id=space_id)
        tags = ["trackio", f"trackio:{space_url}"]
        existing = getattr(model, "model_tags", None)
        if existing is not None:
            if "trackio" not in existing:
                existing.extend(tags)
        elif model is not None:
            model.model_tags = tags
