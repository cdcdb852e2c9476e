"""SwanLab (``report_to="swanlab"``, ``pip install "trainer-loop[swanlab]"``)."""

from __future__ import annotations

import inspect
import logging
import os
from typing import Any

from ..callbacks.base import TrainerCallback
from .base import SUMMARY_KEYS, has_module, import_client, num_parameters, rewrite_logs, run_config

logger = logging.getLogger(__name__)


def is_swanlab_available() -> bool:
    """Whether the swanlab client is installed."""
    return has_module("swanlab")


def _takes(function: Any, name: str) -> bool:
    try:
        return name in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return True


class SwanLabCallback(TrainerCallback):
    """Logs the run configuration and metrics to SwanLab.

    Environment: ``SWANLAB_PROJECT`` (project), ``SWANLAB_MODE`` (``"cloud"``, ``"local"``,
    ``"offline"`` or ``"disabled"``), ``SWANLAB_LOG_DIR`` (where local runs are written),
    ``SWANLAB_RUN_ID`` and ``SWANLAB_RESUME`` (continue a run; resuming from a checkpoint implies
    ``"allow"``), ``SWANLAB_API_KEY`` and the other variables swanlab reads. The experiment is
    named after ``run_name`` and, in a search, the trial. Metrics go under ``train/``, ``eval/`` and
    ``test/`` at ``state.global_step``; the totals at the end under ``single_value/``.
    """

    def __init__(self) -> None:
        self._swanlab = import_client("swanlab", "SwanLabCallback", "swanlab")
        self._initialized = False
        self._log_model = os.getenv("SWANLAB_LOG_MODEL")

    def _has_run(self) -> bool:
        # ``get_run()`` as transformers asks (``None`` without a run; swanlab >= 0.10 raises).
        get_run = getattr(self._swanlab, "get_run", None)
        if callable(get_run):
            try:
                return get_run() is not None
            except RuntimeError:
                return False
        return bool(self._swanlab.has_run())

    def setup(self, args: Any, state: Any, model: Any, **kwargs: Any) -> None:
        """Start the SwanLab experiment and record the configuration; main process only."""
        self._initialized = True
        if not state.is_world_process_zero:
            return
        init_args: dict[str, Any] = {}
        trial = state.trial_name
        if trial is not None and args.run_name is not None:
            init_args["experiment_name"] = f"{args.run_name}-{trial}"
        elif args.run_name is not None or trial is not None:
            init_args["experiment_name"] = args.run_name or trial
        init_args["project"] = os.getenv("SWANLAB_PROJECT")
        if os.getenv("SWANLAB_RUN_ID") is not None:
            init_args["id"] = os.getenv("SWANLAB_RUN_ID")
        resume = os.getenv("SWANLAB_RESUME")
        if resume is not None:
            init_args["resume"] = resume
        elif args.resume_from_checkpoint:
            init_args["resume"] = "allow"
        if "experiment_name" in init_args and not _takes(self._swanlab.init, "experiment_name"):
            init_args["name"] = init_args.pop("experiment_name")  # swanlab >= 0.10
        if not self._has_run():
            self._swanlab.init(**init_args)
        config = self._swanlab.config
        config["FRAMEWORK"] = "🤗transformers"
        config.update(run_config(args, model))
        count = num_parameters(model) if model is not None else None
        if count is not None:
            config.update({"model_num_parameters": count})
        counter = getattr(model, "get_nb_trainable_parameters", None)
        if callable(counter):
            trainable, total = counter()
            config.update({"peft_model_trainable_params": trainable})
            config.update({"peft_model_all_param": total})
        if self._log_model is not None:
            logger.warning("SwanLab: SWANLAB_LOG_MODEL is not supported by swanlab yet; ignored.")

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if state.is_hyper_param_search and self._initialized:
            # one experiment per trial
            if state.is_world_process_zero and self._has_run():
                self._swanlab.finish()
            self._initialized = False
        if not self._initialized:
            self.setup(args, state, model, **kwargs)

    def on_log(self, args, state, control, model=None, logs=None, **kwargs):
        if not self._initialized:
            self.setup(args, state, model)
        if not state.is_world_process_zero or logs is None:
            return
        for key, value in logs.items():
            if key in SUMMARY_KEYS:
                self._swanlab.log({f"single_value/{key}": value}, step=state.global_step)
        series = rewrite_logs({k: v for k, v in logs.items() if k not in SUMMARY_KEYS})
        self._swanlab.log(
            {**series, "train/global_step": state.global_step}, step=state.global_step
        )

    def on_predict(self, args, state, control, metrics=None, **kwargs):
        if not self._initialized:
            self.setup(args, state, kwargs.get("model"))
        if state.is_world_process_zero and metrics:
            self._swanlab.log(rewrite_logs(metrics))
