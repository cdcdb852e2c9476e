"""ClearML (``report_to="clearml"``, ``pip install "trainer-loop[clearml]"``)."""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import Any

from ..callbacks.base import TrainerCallback
from .base import (
    TRUE_VALUES,
    checkpoint_path,
    env_flag,
    has_module,
    import_client,
    numeric_items,
)

logger = logging.getLogger(__name__)

#: Logged keys reported as single values rather than series.
_SINGLE_VALUES = (
    "train_runtime",
    "train_samples_per_second",
    "train_steps_per_second",
    "train_loss",
    "total_flos",
    "epoch",
)


def is_clearml_available() -> bool:
    """Whether the clearml client is installed."""
    return has_module("clearml")


class ClearMLCallback(TrainerCallback):
    """Reports hyperparameters, the model configuration, scalars and checkpoints to ClearML.

    Environment: ``CLEARML_PROJECT`` (default ``"HuggingFace Transformers"``), ``CLEARML_TASK``
    (default ``"Trainer"``), ``CLEARML_LOG_MODEL`` (upload each checkpoint; on by default for a task
    this callback creates, off for one you started yourself) and ClearML's own variables
    (``CLEARML_OFFLINE_MODE=1`` keeps everything in a local session folder). A task that is already
    running is reused. Scalars are reported with titles ``train``, ``eval`` and ``test`` and the
    Trainer's keys (without their prefix) as series, at ``state.global_step``; the totals at the
    end are single values. The arguments go in the ``Transformers`` section, without any
    ``*_token`` field. A second ``train()`` in the same process gets a ``_<n>`` suffix.
    """

    log_suffix = ""
    _hparams_section = "Transformers"
    _model_config_section = "Model Configuration"
    _ignore_hparams_overrides = "_ignore_hparams_ui_overrides_"
    _ignore_model_config_overrides = "_ignore_model_config_ui_overrides_"
    _train_run_counter = 0
    _model_connect_counter = 0
    _task_created_in_callback = False
    _should_close_on_train_end: bool | None = None

    def __init__(self) -> None:
        self._clearml = import_client("clearml", "ClearMLCallback", "clearml")
        self._initialized = False
        self._clearml_task: Any = None
        self._log_model = False
        self._checkpoints_saved: list[Any] = []

    def setup(self, args: Any, state: Any, model: Any, processing_class: Any, **kwargs: Any):
        """Connect to (or create) the ClearML task and record arguments and model configuration."""
        if self._initialized:
            return
        cls = ClearMLCallback
        cls._train_run_counter += 1
        cls._model_connect_counter += 1
        cls.log_suffix = "" if cls._train_run_counter == 1 else f"_{cls._train_run_counter}"
        if not state.is_world_process_zero:
            return
        Task = self._clearml.Task
        if self._clearml_task is None:
            if cls._should_close_on_train_end is None:
                cls._should_close_on_train_end = bool(
                    Task.running_locally() and not Task.current_task()
                )
            if Task.running_locally() and Task.current_task():
                self._clearml_task = Task.current_task()
                default = "TRUE" if cls._task_created_in_callback else "FALSE"
                self._log_model = os.getenv("CLEARML_LOG_MODEL", default).upper() in TRUE_VALUES
            else:
                if env_flag("CLEARML_OFFLINE_MODE") and not Task.is_offline():
                    # clearml reads the variable once, at import: honour a later setting too
                    Task.set_offline(True)
                self._clearml_task = Task.init(
                    project_name=os.getenv("CLEARML_PROJECT", "HuggingFace Transformers"),
                    task_name=os.getenv("CLEARML_TASK", "Trainer"),
                    auto_connect_frameworks={"tensorboard": False, "pytorch": False},
                    output_uri=True,
                )
                self._log_model = os.getenv("CLEARML_LOG_MODEL", "TRUE").upper() in TRUE_VALUES
                cls._task_created_in_callback = True
            self._initialized = True
        section = cls._hparams_section + cls.log_suffix
        ignore_hparams = f"{section}/{cls._ignore_hparams_overrides}"
        task = self._clearml_task
        if Task.running_locally():
            self._copy_training_args_as_hparams(args, section)
            task.set_parameter(
                name=ignore_hparams,
                value=True,
                value_type=bool,
                description="If True, hyperparameters edited in the ClearML UI are ignored when "
                "the task runs remotely.",
            )
        elif not task.get_parameter(ignore_hparams, default=True, cast=True):
            task.connect(args, section)
        else:
            self._copy_training_args_as_hparams(args, section)
        config = getattr(model, "config", None)
        if config is not None and hasattr(config, "to_dict"):
            self._connect_model_config(model, section)

    def _connect_model_config(self, model: Any, section: str) -> None:
        cls = ClearMLCallback
        task = self._clearml_task
        ignore_config = f"{section}/{cls._ignore_model_config_overrides}"
        name = cls._model_config_section + cls.log_suffix
        description = f"The configuration of model number {cls._model_connect_counter}."
        if self._clearml.Task.running_locally():
            task.set_parameter(
                name=ignore_config,
                value=True,
                value_type=bool,
                description="If True, model configuration edited in the ClearML UI is ignored "
                "when the task runs remotely.",
            )
            task.set_configuration_object(
                name=name, config_dict=model.config.to_dict(), description=description
            )
        elif not task.get_parameter(ignore_config, default=True, cast=True):
            model.config = model.config.from_dict(task.get_configuration_object_as_dict(name))
        else:
            task.set_configuration_object(
                name=name, config_dict=model.config.to_dict(), description=description
            )

    def _copy_training_args_as_hparams(self, args: Any, prefix: str) -> None:
        values = {
            f.name: getattr(args, f.name)
            for f in dataclasses.fields(args)
            if f.init and not f.name.endswith("_token")
        }
        flatten = self._clearml.utilities.proxy_object.flatten_dictionary
        flat = {str(k): v for k, v in flatten(values).items()}
        self._clearml_task._arguments.copy_from_dict(flat, prefix=prefix)

    def on_train_begin(self, args, state, control, model=None, processing_class=None, **kwargs):
        self._checkpoints_saved = []
        if state.is_hyper_param_search:
            self._initialized = False
        if not self._initialized:
            self.setup(args, state, model, processing_class, **kwargs)

    def on_log(self, args, state, control, model=None, processing_class=None, logs=None, **kwargs):
        if not self._initialized:
            self.setup(args, state, model, processing_class, **kwargs)
        if not state.is_world_process_zero or not logs or self._clearml_task is None:
            return
        reporter = self._clearml_task.get_logger()
        suffix = ClearMLCallback.log_suffix
        values, dropped = numeric_items(logs)
        for key in dropped:
            logger.warning("ClearML: %r is not a number and is not reported.", key)
        for key, value in values.items():
            if key in _SINGLE_VALUES:
                reporter.report_single_value(name=key + suffix, value=value)
                continue
            title, series = "train", key
            for prefix in ("eval", "test"):
                if key.startswith(prefix + "_"):
                    title, series = prefix, key[len(prefix) + 1 :]
            reporter.report_scalar(
                title=title + suffix, series=series, value=value, iteration=state.global_step
            )

    def on_save(self, args, state, control, **kwargs):
        if not (self._log_model and self._clearml_task and state.is_world_process_zero):
            return
        folder = checkpoint_path(args, state)
        name = os.path.basename(folder) + ClearMLCallback.log_suffix
        output_model = self._clearml.OutputModel(task=self._clearml_task, name=name)
        output_model.connect(task=self._clearml_task, name=name)
        output_model.update_weights_package(
            weights_path=folder,
            target_filename=os.path.basename(folder),
            iteration=state.global_step,
            auto_delete_file=False,
        )
        self._checkpoints_saved.append(output_model)
        while args.save_total_limit and args.save_total_limit < len(self._checkpoints_saved):
            oldest = self._checkpoints_saved[0]
            try:
                self._clearml.model.Model.remove(
                    oldest, delete_weights_file=True, force=True, raise_on_errors=True
                )
            except Exception as error:  # noqa: BLE001 - removal is best effort
                logger.warning("ClearML: could not remove checkpoint %s: %s", oldest.name, error)
                break
            self._checkpoints_saved = self._checkpoints_saved[1:]

    def on_train_end(self, args, state, control, **kwargs):
        if ClearMLCallback._should_close_on_train_end and self._clearml_task is not None:
            self._clearml_task.close()
            ClearMLCallback._train_run_counter = 0
