"""Comet (``report_to="comet_ml"``, ``pip install "trainer-loop[comet_ml]"``)."""

from __future__ import annotations

import logging
import os
from typing import Any

from trainer_args.report_to import comet_configured

from ..callbacks.base import TrainerCallback
from .base import env_flag, has_module, import_client, model_config_dict, rewrite_logs

logger = logging.getLogger(__name__)

_MODES = ("get", "get_or_create", "create")


def is_comet_installed() -> bool:
    """Whether the comet_ml client is installed."""
    return has_module("comet_ml")


def is_comet_configured() -> bool:
    """Whether an API key is set (``COMET_API_KEY`` or comet's config file) or runs are offline.

    ``report_to="all"`` includes comet only then, as an experiment could not start otherwise.
    """
    return comet_configured()


class CometCallback(TrainerCallback):
    """Logs parameters and metrics to a Comet experiment.

    Environment: ``COMET_MODE`` (``"get_or_create"``, ``"create"`` or ``"get"``; a search trial
    always creates), ``COMET_START_ONLINE`` (``false`` writes an offline archive to
    ``COMET_OFFLINE_DIRECTORY``), ``COMET_PROJECT_NAME``, ``COMET_API_KEY``, and
    ``COMET_LOG_ASSETS`` (``true`` uploads ``output_dir`` at the end). Parameters are logged as
    ``args/<field>`` and ``config/<key>``; metrics under ``train/``, ``eval/``, ``test/`` at
    ``state.global_step``.
    """

    def __init__(self) -> None:
        self._comet = import_client("comet_ml", "CometCallback", "comet_ml")
        self._initialized = False
        self._log_assets = False
        self._experiment: Any = None

    def setup(self, args: Any, state: Any, model: Any) -> None:
        """Start the Comet experiment and log the parameters; main process only."""
        self._initialized = True
        self._log_assets = env_flag("COMET_LOG_ASSETS")
        if not state.is_world_process_zero:
            return
        mode = os.getenv("COMET_MODE")
        if mode is not None:
            mode = mode.lower()
            if mode and mode not in _MODES:
                logger.warning(
                    "COMET_MODE=%r is not one of %s; Comet logging is off.", mode, _MODES
                )
                return
            mode = mode or None
        if state.is_hyper_param_search:
            if mode is not None:
                logger.warning(
                    "A search trial always creates a Comet experiment; COMET_MODE ignored."
                )
            mode = "create"
        comet_ml = self._comet
        config = comet_ml.ExperimentConfig(name=args.run_name)
        self._experiment = comet_ml.start(mode=mode, experiment_config=config)
        if model is not None:
            self._experiment.__internal_api__set_model_graph__(model, framework="transformers")
        params: dict[str, Any] = {"args": args.to_dict()}
        model_config = model_config_dict(model)
        if model_config is not None:
            params["config"] = model_config
        peft_config = getattr(model, "peft_config", None)
        if peft_config is not None:
            params["peft_config"] = peft_config
        self._experiment.__internal_api__log_parameters__(
            params, framework="transformers", source="manual", flatten_nested=True
        )
        if state.is_hyper_param_search:
            self._experiment.log_optimization(
                optimization_id=state.trial_name, parameters=state.trial_params
            )

    def _log(self, state: Any, values: dict[str, Any]) -> None:
        self._experiment.__internal_api__log_metrics__(
            rewrite_logs(values),
            step=state.global_step,
            epoch=state.epoch,
            framework="transformers",
        )

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if not self._initialized:
            self.setup(args, state, model)

    def on_log(self, args, state, control, model=None, logs=None, **kwargs):
        if not self._initialized:
            self.setup(args, state, model)
        if state.is_world_process_zero and self._experiment is not None and logs:
            self._log(state, logs)

    def on_predict(self, args, state, control, metrics=None, **kwargs):
        if not self._initialized:
            self.setup(args, state, None)
        if state.is_world_process_zero and self._experiment is not None and metrics:
            self._log(state, metrics)

    def on_train_end(self, args, state, control, **kwargs):
        if not (self._initialized and state.is_world_process_zero):
            return
        if self._experiment is not None and self._log_assets:
            self._experiment.log_asset_folder(
                args.output_dir, recursive=True, log_file_name=True, step=state.global_step
            )
        if state.is_hyper_param_search and self._experiment is not None:
            self._experiment.end()
            self._experiment = None
            self._initialized = False
