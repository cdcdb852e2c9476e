"""Weights & Biases (``report_to="wandb"``, ``pip install "trainer-loop[wandb]"``)."""

from __future__ import annotations

import logging
import numbers
import os
import tempfile
from enum import Enum
from pathlib import Path
from typing import Any

from ..callbacks.base import TrainerCallback
from .base import (
    SUMMARY_KEYS,
    checkpoint_path,
    has_module,
    import_client,
    model_config_dict,
    num_parameters,
    rewrite_logs,
    run_config,
    save_model_files,
)

logger = logging.getLogger(__name__)


def is_wandb_available() -> bool:
    """Whether the wandb client is installed."""
    return has_module("wandb")


class WandbLogModel(str, Enum):
    """What ``WANDB_LOG_MODEL`` asks for: each checkpoint, the final model, or nothing."""

    CHECKPOINT = "checkpoint"
    END = "end"
    FALSE = "false"

    @property
    def is_enabled(self) -> bool:
        """True when some model files are uploaded."""
        return self in (WandbLogModel.CHECKPOINT, WandbLogModel.END)

    @classmethod
    def _missing_(cls, value: Any) -> WandbLogModel:
        if not isinstance(value, str):
            raise TypeError(f"WANDB_LOG_MODEL must be a string, got {type(value).__name__}.")
        logger.warning(
            "WANDB_LOG_MODEL=%r is not one of 'checkpoint', 'end', 'false'; no model is logged.",
            value,
        )
        return cls.FALSE


class WandbCallback(TrainerCallback):
    """Logs the run configuration, metrics and (optionally) models to Weights & Biases.

    Environment: ``WANDB_PROJECT`` (project, default ``"huggingface"``), ``WANDB_LOG_MODEL``
    (``"end"``: upload the final model, ``"checkpoint"``: upload every checkpoint, default
    ``"false"``), ``WANDB_WATCH`` (``"gradients"``, ``"parameters"`` or ``"all"`` to watch the
    model, default ``"false"``), and every variable wandb itself reads (``WANDB_MODE=offline``,
    ``WANDB_DIR``, ...). Metrics go under ``train/``, ``eval/`` and ``test/`` with
    ``train/global_step`` as their x axis; the end-of-training totals go to the run summary. Each
    hyperparameter-search trial is a run of its own, grouped under ``run_name``.
    """

    def __init__(self) -> None:
        self._wandb = import_client("wandb", "WandbCallback", "wandb")
        self._initialized = False
        self._log_model = WandbLogModel(os.getenv("WANDB_LOG_MODEL", "false"))

    def _model_name(self, args: Any) -> str:
        run = self._wandb.run
        if args.run_name is None or args.run_name == args.output_dir:
            return f"model-{run.id}"
        return f"model-{run.name}"

    def setup(self, args: Any, state: Any, model: Any, **kwargs: Any) -> None:
        """Start (or join) the wandb run and record the configuration; main process only."""
        self._initialized = True
        if not state.is_world_process_zero:
            return
        wandb = self._wandb
        init_args: dict[str, Any] = {}
        if state.trial_name is not None:
            init_args["name"] = state.trial_name
            init_args["group"] = args.run_name or args.output_dir
        elif args.run_name is not None:
            init_args["name"] = args.run_name
        if wandb.run is None:
            wandb.init(project=os.getenv("WANDB_PROJECT", "huggingface"), **init_args)
        wandb.config.update(run_config(args, model), allow_val_change=True)
        if getattr(wandb, "define_metric", None):
            wandb.define_metric("train/global_step")
            wandb.define_metric("*", step_metric="train/global_step", step_sync=True)
        watch = os.getenv("WANDB_WATCH", "false")
        if watch in ("all", "parameters", "gradients") and model is not None:
            wandb.watch(model, log=watch, log_freq=max(100, state.logging_steps))
        count = num_parameters(model) if model is not None else None
        if count is not None:
            wandb.config["model/num_parameters"] = count
        if self._log_model.is_enabled and model is not None:
            self._log_architecture(args, model)

    def _log_architecture(self, args: Any, model: Any) -> None:
        wandb = self._wandb
        artifact = wandb.Artifact(
            name=self._model_name(args),
            type="model",
            metadata={
                "model_config": model_config_dict(model),
                "num_parameters": wandb.config.get("model/num_parameters"),
                "initial_model": True,
            },
        )
        with artifact.new_file("model_architecture.txt", mode="w") as handle:
            print(model, file=handle)
        wandb.run.log_artifact(artifact, aliases=["base_model"])

    def _numeric_summary(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in dict(self._wandb.summary).items()
            if isinstance(v, numbers.Number) and not k.startswith("_")
        }

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if state.is_hyper_param_search:
            # one run per trial
            if state.is_world_process_zero:
                self._wandb.finish()
            self._initialized = False
            args.run_name = None
        if not self._initialized:
            self.setup(args, state, model, **kwargs)

    def on_log(self, args, state, control, model=None, logs=None, **kwargs):
        if not self._initialized:
            self.setup(args, state, model)
        if not state.is_world_process_zero or logs is None:
            return
        run = self._wandb.run
        for key, value in logs.items():
            if key in SUMMARY_KEYS:
                run.summary[key] = value
        series = rewrite_logs({k: v for k, v in logs.items() if k not in SUMMARY_KEYS})
        self._wandb.log({**series, "train/global_step": state.global_step})

    def on_save(self, args, state, control, **kwargs):
        if not (
            self._log_model == WandbLogModel.CHECKPOINT
            and self._initialized
            and state.is_world_process_zero
        ):
            return
        metadata = self._numeric_summary()
        metadata["model/num_parameters"] = self._wandb.config.get("model/num_parameters")
        artifact = self._wandb.Artifact(
            name=self._model_name(args), type="model", metadata=metadata
        )
        artifact.add_dir(checkpoint_path(args, state))
        epoch = round(state.epoch, 2) if state.epoch is not None else 0
        self._wandb.log_artifact(
            artifact,
            aliases=[f"epoch_{epoch}", f"checkpoint_global_step_{state.global_step}"],
        )

    def on_train_end(self, args, state, control, model=None, processing_class=None, **kwargs):
        if not (self._log_model.is_enabled and self._initialized and state.is_world_process_zero):
            return
        if model is None:
            return
        if args.load_best_model_at_end:
            metadata = {
                f"eval/{args.metric_for_best_model}": state.best_metric,
                "train/total_floss": state.total_flos,
                "model/num_parameters": self._wandb.config.get("model/num_parameters"),
            }
        else:
            metadata = self._numeric_summary()
        metadata["final_model"] = True
        artifact = self._wandb.Artifact(
            name=self._model_name(args), type="model", metadata=metadata
        )
        with tempfile.TemporaryDirectory() as folder:
            save_model_files(model, processing_class, folder)
            for path in Path(folder).iterdir():
                if path.is_file():
                    artifact.add_file(str(path), name=path.name)
            self._wandb.run.log_artifact(artifact, aliases=["final_model"])

    def on_predict(self, args, state, control, metrics=None, **kwargs):
        if not self._initialized:
            self.setup(args, state, kwargs.get("model"))
        if state.is_world_process_zero and metrics:
            self._wandb.log(rewrite_logs(metrics))
