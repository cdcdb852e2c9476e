"""Neptune (``report_to="neptune"``, ``pip install "trainer-loop[neptune]"``)."""

from __future__ import annotations

import contextlib
import logging
import operator
import os
import shutil
import tempfile
from importlib.metadata import version
from typing import Any

from ..callbacks.base import TrainerCallback
from .base import has_module, import_client, rewrite_logs

logger = logging.getLogger(__name__)


def is_neptune_available() -> bool:
    """Whether the neptune client (1.x, ``neptune.init_run``) is installed."""
    return has_module("neptune")


def _run_id(run: Any) -> Any:
    """The run's ``sys/id``; offline runs have none on record, so their local id stands in."""
    from neptune.exceptions import MissingFieldException

    try:
        return run["sys/id"].fetch()
    except MissingFieldException:
        return getattr(run, "_sys_id", None) or getattr(run, "_id", None)


class NeptuneMissingConfiguration(Exception):
    """A run given to ``NeptuneCallback`` cannot be reopened: no API token or project is known."""

    def __init__(self) -> None:
        super().__init__(
            "NeptuneCallback could not create a run: set NEPTUNE_API_TOKEN and NEPTUNE_PROJECT "
            "(or pass api_token and project), or use NEPTUNE_MODE=offline."
        )


class NeptuneCallback(TrainerCallback):
    """Logs arguments, model configuration, metrics and (optionally) checkpoints to Neptune.

    Args:
        api_token, project, name: passed to ``neptune.init_run`` (``NEPTUNE_API_TOKEN`` and
            ``NEPTUNE_PROJECT`` are read when left out; ``NEPTUNE_MODE=offline`` needs neither).
        base_namespace: the namespace under which everything is logged (``"finetuning"``).
        run: an existing ``neptune.Run`` to log to.
        log_parameters: log the arguments (``to_sanitized_dict``) and the model configuration.
        log_checkpoints: ``"same"`` uploads every checkpoint, ``"last"`` keeps only the latest,
            ``"best"`` only the best (needs ``load_best_model_at_end``); ``None`` uploads none.
        **neptune_run_kwargs: further ``neptune.init_run`` arguments.

    Metrics go to ``<base_namespace>/train/...``, ``.../eval/...`` as series stepped by
    ``state.global_step``; ``train/epoch`` is a single value.
    """

    integration_version_key = "source_code/integrations/trainer"
    model_parameters_key = "model_parameters"
    trial_name_key = "trial"
    trial_params_key = "trial_params"
    trainer_parameters_key = "trainer_parameters"
    flat_metrics = {"train/epoch"}

    def __init__(
        self,
        *,
        api_token: str | None = None,
        project: str | None = None,
        name: str | None = None,
        base_namespace: str = "finetuning",
        run: Any = None,
        log_parameters: bool = True,
        log_checkpoints: str | None = None,
        **neptune_run_kwargs: Any,
    ) -> None:
        neptune = import_client("neptune", "NeptuneCallback", "neptune")
        for field, value, kinds in (
            ("api_token", api_token, (str, type(None))),
            ("project", project, (str, type(None))),
            ("name", name, (str, type(None))),
            ("base_namespace", base_namespace, (str,)),
            ("run", run, (neptune.Run, type(None))),
            ("log_parameters", log_parameters, (bool,)),
            ("log_checkpoints", log_checkpoints, (str, type(None))),
        ):
            if not isinstance(value, kinds):
                raise TypeError(
                    f"NeptuneCallback: {field}={value!r} must be of type "
                    f"{' or '.join(k.__name__ for k in kinds)}."
                )
        if log_checkpoints not in (None, "same", "last", "best"):
            raise ValueError(
                f"NeptuneCallback: log_checkpoints={log_checkpoints!r}; allowed values are "
                "'same', 'last', 'best' and None."
            )
        self._neptune = neptune
        self._base_namespace_path = base_namespace
        self._log_parameters = log_parameters
        self._log_checkpoints = log_checkpoints
        self._initial_run = run
        self._run: Any = None
        self._is_monitoring_run = False
        self._run_id = None
        self._force_reset_monitoring_run = False
        self._init_run_kwargs = {"api_token": api_token, "project": project, "name": name}
        self._init_run_kwargs.update(neptune_run_kwargs)
        self._volatile_checkpoints_dir: str | None = None
        self._should_upload_checkpoint = log_checkpoints is not None
        self._recent_checkpoint_path: str | None = None
        if log_checkpoints in ("last", "best"):
            self._target_checkpoints_namespace = f"checkpoints/{log_checkpoints}"
            self._should_clean_recently_uploaded_checkpoint = True
        else:
            self._target_checkpoints_namespace = "checkpoints"
            self._should_clean_recently_uploaded_checkpoint = False

    # -- the run -----------------------------------------------------------------------

    def _stop_run_if_exists(self) -> None:
        if self._run is not None:
            self._run.stop()
            self._run = None

    def _initialize_run(self, **extra: Any) -> None:
        from neptune.exceptions import (
            NeptuneMissingApiTokenException,
            NeptuneMissingProjectNameException,
        )

        self._stop_run_if_exists()
        try:
            params = {**extra, **self._init_run_kwargs}
            self._run = self._neptune.init_run(**params)
            self._run_id = _run_id(self._run)
        except (NeptuneMissingProjectNameException, NeptuneMissingApiTokenException) as error:
            raise NeptuneMissingConfiguration() from error

    def _use_initial_run(self) -> None:
        self._run = self._initial_run
        self._is_monitoring_run = True
        self._run_id = _run_id(self._run)
        self._initial_run = None

    def _ensure_run_with_monitoring(self) -> None:
        if self._initial_run is not None:
            self._use_initial_run()
            return
        if not self._force_reset_monitoring_run and self._is_monitoring_run:
            return
        if (
            self._run is not None
            and not self._is_monitoring_run
            and not self._force_reset_monitoring_run
        ):
            # reopen the run made without monitoring, this time with it
            self._initialize_run(with_id=self._run_id)
            self._is_monitoring_run = True
            return
        self._initialize_run()
        self._force_reset_monitoring_run = False

    def _ensure_at_least_run_without_monitoring(self) -> None:
        if self._initial_run is not None:
            self._use_initial_run()
        elif self._run is None:
            self._initialize_run(
                with_id=self._run_id,
                capture_stdout=False,
                capture_stderr=False,
                capture_hardware_metrics=False,
                capture_traceback=False,
            )
            self._is_monitoring_run = False

    @property
    def run(self) -> Any:
        """The Neptune run, opened (without monitoring) if none is open yet."""
        if self._run is None:
            self._ensure_at_least_run_without_monitoring()
        return self._run

    @property
    def _metadata_namespace(self) -> Any:
        return self.run[self._base_namespace_path]

    @classmethod
    def get_run(cls, trainer: Any) -> Any:
        """The run of the ``NeptuneCallback`` installed on ``trainer``."""
        for callback in trainer.callback_handler.callbacks:
            if isinstance(callback, cls):
                return callback.run
        raise RuntimeError("The trainer has no NeptuneCallback.")

    # -- what is logged ----------------------------------------------------------------

    def _log_model_checkpoint(self, source_directory: str, checkpoint: str) -> None:
        target = relative = os.path.join(source_directory, checkpoint)
        if self._volatile_checkpoints_dir is not None:
            stable = os.path.join(self._volatile_checkpoints_dir, checkpoint)
            try:
                copy = os.path.join(stable, relative.replace("..", "").lstrip(os.path.sep))
                shutil.copytree(relative, copy)
                target = stable
            except OSError as error:
                logger.warning("NeptuneCallback could not copy the checkpoint: %s", error)
        namespace = self._metadata_namespace[self._target_checkpoints_namespace]
        namespace.upload_files(target)
        if self._should_clean_recently_uploaded_checkpoint and self._recent_checkpoint_path:
            namespace.delete_files(self._recent_checkpoint_path)
        self._recent_checkpoint_path = relative

    def on_init_end(self, args, state, control, **kwargs):
        self._volatile_checkpoints_dir = None
        if self._log_checkpoints and args.save_total_limit is not None:
            self._volatile_checkpoints_dir = tempfile.mkdtemp()
        if self._log_checkpoints == "best" and not args.load_best_model_at_end:
            raise ValueError(
                "NeptuneCallback(log_checkpoints='best') needs load_best_model_at_end=True."
            )

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if not state.is_world_process_zero:
            return
        self._ensure_run_with_monitoring()
        self._force_reset_monitoring_run = True
        self.run[self.integration_version_key] = version("trainer-loop")
        if self._log_parameters:
            namespace = self._metadata_namespace
            namespace[self.trainer_parameters_key] = args.to_sanitized_dict()
            config = getattr(model, "config", None)
            if config is not None and hasattr(config, "to_dict"):
                from neptune.utils import stringify_unsupported

                namespace[self.model_parameters_key] = stringify_unsupported(config.to_dict())
        if state.is_hyper_param_search:
            if state.trial_name is not None:
                self._metadata_namespace[self.trial_name_key] = state.trial_name
            if state.trial_params is not None:
                self._metadata_namespace[self.trial_params_key] = state.trial_params

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or logs is None:
            return
        for name, value in rewrite_logs(logs).items():
            if isinstance(value, (int, float)):
                if name in self.flat_metrics:
                    self._metadata_namespace[name] = value
                else:
                    self._metadata_namespace[name].append(value, step=state.global_step)

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if self._log_checkpoints != "best" or not metrics:
            return
        name = args.metric_for_best_model
        if not name.startswith("eval_"):
            name = f"eval_{name}"
        value = metrics.get(name)
        better = operator.gt if args.greater_is_better else operator.lt
        self._should_upload_checkpoint = state.best_metric is None or better(
            value, state.best_metric
        )

    def on_save(self, args, state, control, **kwargs):
        if self._should_upload_checkpoint and state.is_world_process_zero:
            self._log_model_checkpoint(args.output_dir, f"checkpoint-{state.global_step}")

    def on_train_end(self, args, state, control, **kwargs):
        self._stop_run_if_exists()

    def __del__(self) -> None:
        folder = getattr(self, "_volatile_checkpoints_dir", None)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        with contextlib.suppress(Exception):  # the interpreter may be shutting down
            self._stop_run_if_exists()
