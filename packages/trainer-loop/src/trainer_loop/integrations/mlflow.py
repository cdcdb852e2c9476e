"""MLflow (``report_to="mlflow"``) and DagsHub, which logs through MLflow (``report_to="dagshub"``)."""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from ..callbacks.base import TrainerCallback
from .base import checkpoint_path, env_flag, has_module, import_client, numeric_items, run_config

logger = logging.getLogger(__name__)

_UNSAFE_KEY_CHARS = re.compile(r"[^0-9A-Za-z_\-\.\ :/]")


def is_mlflow_available() -> bool:
    """Whether mlflow is installed and not switched off with ``DISABLE_MLFLOW_INTEGRATION``."""
    if os.getenv("DISABLE_MLFLOW_INTEGRATION", "FALSE").upper() == "TRUE":
        return False
    return has_module("mlflow")


def flatten(data: dict[str, Any], prefix: str = "", sep: str = ".") -> dict[str, Any]:
    """Nested dicts as one level, keys joined with ``sep``."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{sep}{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            flat.update(flatten(value, name, sep))
        else:
            flat[name] = value
    return flat


class MLflowCallback(TrainerCallback):
    """Logs parameters, metrics and (optionally) checkpoints to MLflow.

    Environment: ``MLFLOW_TRACKING_URI`` (where runs are stored; unset leaves mlflow's default),
    ``MLFLOW_EXPERIMENT_NAME`` (experiment, created when missing), ``MLFLOW_TAGS`` (a JSON dict of
    run tags), ``MLFLOW_NESTED_RUN`` (start the run nested in the active one), ``MLFLOW_RUN_ID``
    (attach to an existing run), ``MLFLOW_FLATTEN_PARAMS`` (flatten nested parameters),
    ``MLFLOW_MAX_LOG_PARAMS`` (log at most this many), ``HF_MLFLOW_LOG_ARTIFACTS`` (log each saved
    checkpoint as an artifact) and ``DISABLE_MLFLOW_INTEGRATION=TRUE`` (leave mlflow out of
    ``report_to="all"``). Metric names keep the Trainer's keys (``loss``, ``eval_loss``) with
    characters mlflow rejects replaced by ``_``; each is logged at ``state.global_step``.
    """

    def __init__(self) -> None:
        mlflow = import_client("mlflow", "MLflowCallback", "mlflow")
        from mlflow.utils import validation

        self._ml_flow = mlflow
        self._MAX_PARAM_VAL_LENGTH = validation.MAX_PARAM_VAL_LENGTH
        self._MAX_PARAMS_TAGS_PER_BATCH = validation.MAX_PARAMS_TAGS_PER_BATCH
        self._initialized = False
        self._auto_end_run = False
        self._log_artifacts = False

    def setup(self, args: Any, state: Any, model: Any) -> None:
        """Read the environment, start the run and log the parameters (main process only)."""
        self._log_artifacts = env_flag("HF_MLFLOW_LOG_ARTIFACTS")
        self._nested_run = env_flag("MLFLOW_NESTED_RUN")
        self._tracking_uri = os.getenv("MLFLOW_TRACKING_URI")
        self._experiment_name = os.getenv("MLFLOW_EXPERIMENT_NAME")
        self._flatten_params = env_flag("MLFLOW_FLATTEN_PARAMS")
        self._run_id = os.getenv("MLFLOW_RUN_ID")
        self._max_log_params = os.getenv("MLFLOW_MAX_LOG_PARAMS")
        mlflow = self._ml_flow
        if state.is_world_process_zero:
            if not mlflow.is_tracking_uri_set() and self._tracking_uri:
                mlflow.set_tracking_uri(self._tracking_uri)
            if mlflow.active_run() is None or self._nested_run or self._run_id:
                if self._experiment_name:
                    mlflow.set_experiment(self._experiment_name)
                mlflow.start_run(run_name=args.run_name, nested=self._nested_run)
                self._auto_end_run = True
            self._log_parameters(args, model)
            tags = os.getenv("MLFLOW_TAGS")
            if tags:
                mlflow.set_tags(json.loads(tags))
        self._initialized = True

    def _log_parameters(self, args: Any, model: Any) -> None:
        params = run_config(args, model, with_peft=False)
        if self._flatten_params:
            params = flatten(params)
        for name, value in list(params.items()):
            if len(str(value)) > self._MAX_PARAM_VAL_LENGTH:
                logger.warning(
                    "MLflow: parameter %r is longer than %d characters and is not logged; set "
                    "MLFLOW_FLATTEN_PARAMS=1 to log nested values one by one.",
                    name,
                    self._MAX_PARAM_VAL_LENGTH,
                )
                del params[name]
        items = list(params.items())
        if self._max_log_params and self._max_log_params.isdigit():
            items = items[: int(self._max_log_params)]
        batch = self._MAX_PARAMS_TAGS_PER_BATCH
        for start in range(0, len(items), batch):
            self._ml_flow.log_params(dict(items[start : start + batch]), synchronous=False)

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if not self._initialized:
            self.setup(args, state, model)

    def on_log(self, args, state, control, logs=None, model=None, **kwargs):
        if not self._initialized:
            self.setup(args, state, model)
        if not state.is_world_process_zero or not logs:
            return
        metrics, dropped = numeric_items(logs)
        for key in dropped:
            logger.warning("MLflow: %r is not a number and is not logged as a metric.", key)
        safe = {_UNSAFE_KEY_CHARS.sub("_", k): v for k, v in metrics.items()}
        self._ml_flow.log_metrics(metrics=safe, step=state.global_step, synchronous=False)

    def on_save(self, args, state, control, **kwargs):
        if not (self._initialized and state.is_world_process_zero and self._log_artifacts):
            return
        folder = checkpoint_path(args, state)
        self._ml_flow.log_artifacts(folder, artifact_path=Path(folder).name)

    def on_train_end(self, args, state, control, **kwargs):
        if self._initialized and state.is_world_process_zero:
            if self._auto_end_run and self._ml_flow.active_run():
                self._ml_flow.end_run()
            # a search trial (or a second train() call) gets a run of its own
            self._initialized = False
            self._auto_end_run = False

    def __del__(self) -> None:
        mlflow = getattr(self, "_ml_flow", None)
        if (
            getattr(self, "_auto_end_run", False)
            and callable(getattr(mlflow, "active_run", None))
            and mlflow.active_run() is not None
        ):
            mlflow.end_run()


class DagsHubCallback(MLflowCallback):
    """MLflow logging to a DagsHub repository, plus the run's files when asked.

    Environment: ``MLFLOW_TRACKING_URI`` (the DagsHub repository's MLflow address, required; set by
    ``dagshub.init()``), ``HF_DAGSHUB_LOG_ARTIFACTS`` (upload ``output_dir`` at the end),
    ``HF_DAGSHUB_MODEL_NAME`` (default ``"main"``) and ``BRANCH`` (default ``"main"``).
    DagsHub is a hosted service: there is no offline mode.
    """

    def __init__(self) -> None:
        super().__init__()
        import_client("dagshub", "DagsHubCallback", "dagshub", package="dagshub")
        from dagshub.upload import Repo

        self.Repo = Repo

    def setup(self, args: Any, state: Any, model: Any) -> None:
        """Connect to the repository named by ``MLFLOW_TRACKING_URI``, then set up MLflow."""
        self.log_artifacts = env_flag("HF_DAGSHUB_LOG_ARTIFACTS")
        self.name = os.getenv("HF_DAGSHUB_MODEL_NAME") or "main"
        self.remote = os.getenv("MLFLOW_TRACKING_URI")
        if not self.remote:
            raise RuntimeError(
                "DagsHubCallback needs MLFLOW_TRACKING_URI set to the repository's MLflow address "
                "(dagshub.init() sets it)."
            )
        parts = self.remote.rstrip("/").split("/")
        self.repo = self.Repo(
            owner=parts[-2], name=parts[-1].split(".")[0], branch=os.getenv("BRANCH") or "main"
        )
        self.path = Path("artifacts")
        super().setup(args, state, model)

    def on_train_end(self, args, state, control, **kwargs):
        if getattr(self, "log_artifacts", False) and state.is_world_process_zero:
            self.repo.directory(str(self.path)).add_dir(args.output_dir)
        super().on_train_end(args, state, control, **kwargs)
