"""Reporting integrations chosen with ``TrainingArguments.report_to``.

trainer-loop ships a TensorBoard callback. The other names transformers accepts are recognised so
that a script using them gets a precise message: install the package, or (when it is installed)
pass your own callback, since no built-in one exists for it here yet.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import socket
from datetime import datetime
from typing import Any

from .callbacks import TrainerCallback

logger = logging.getLogger(__name__)

__all__ = [
    "INTEGRATION_PACKAGES",
    "TensorBoardCallback",
    "default_logdir",
    "get_available_reporting_integrations",
    "get_reporting_integration_callbacks",
    "is_tensorboard_available",
    "rewrite_logs",
]

# Every integration name transformers knows, with the package that provides it.
INTEGRATION_PACKAGES: dict[str, str] = {
    "azure_ml": "azureml",
    "clearml": "clearml",
    "codecarbon": "codecarbon",
    "comet_ml": "comet_ml",
    "dagshub": "dagshub",
    "dvclive": "dvclive",
    "flyte": "flytekit",
    "mlflow": "mlflow",
    "neptune": "neptune",
    "swanlab": "swanlab",
    "tensorboard": "tensorboard",
    "trackio": "trackio",
    "wandb": "wandb",
}

_TENSORBOARD_HINT = 'pip install "trainer-loop[tensorboard]"'


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def is_tensorboard_available() -> bool:
    """Whether ``tensorboard`` (used through ``torch.utils.tensorboard``) or tensorboardX is installed."""
    return _has_module("tensorboard") or _has_module("tensorboardX")


def rewrite_logs(logs: dict[str, Any]) -> dict[str, Any]:
    """Group log keys for dashboards: ``eval_x`` -> ``eval/x``, ``test_x`` -> ``test/x``, else ``train/x``."""
    grouped: dict[str, Any] = {}
    for key, value in logs.items():
        if key.startswith("eval_"):
            grouped["eval/" + key[5:]] = value
        elif key.startswith("test_"):
            grouped["test/" + key[5:]] = value
        else:
            grouped["train/" + key] = value
    return grouped


def default_logdir() -> str:
    """``runs/<Mon DD_HH-MM-SS>_<hostname>``, the folder name PyTorch's SummaryWriter picks."""
    stamp = datetime.now().strftime("%b%d_%H-%M-%S")
    return os.path.join("runs", f"{stamp}_{socket.gethostname()}")


class TensorBoardCallback(TrainerCallback):
    """Writes logged scalars and texts to TensorBoard event files.

    The folder is, in order of preference: ``$TENSORBOARD_LOGGING_DIR``, ``args.logging_dir``,
    then ``<output_dir>/runs/<date>_<host>``; during a hyperparameter search the trial name is
    appended. Only the main process writes. Pass ``tb_writer`` to use a writer of your own.
    """

    def __init__(self, tb_writer: Any = None) -> None:
        if tb_writer is None and not is_tensorboard_available():
            raise ImportError(
                f"TensorBoardCallback (report_to='tensorboard') needs the tensorboard package: "
                f"{_TENSORBOARD_HINT}"
            )
        self.tb_writer = tb_writer
        env_dir = os.environ.get("TENSORBOARD_LOGGING_DIR")
        self._env_dir = os.path.expanduser(env_dir) if env_dir else None
        self.logging_dir: str | None = self._env_dir

    @staticmethod
    def _writer_class() -> Any:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            try:
                from tensorboardX import SummaryWriter
            except ImportError as error:
                raise ImportError(
                    f"TensorBoardCallback needs the tensorboard package: {_TENSORBOARD_HINT}"
                ) from error
        return SummaryWriter

    def _resolve_logging_dir(self, args: Any, state: Any) -> str:
        base = self._env_dir or getattr(args, "logging_dir", None)
        if base is None:
            base = os.path.join(args.output_dir, default_logdir())
        if state.is_hyper_param_search and state.trial_name is not None:
            base = os.path.join(base, state.trial_name)
        return base

    def _ensure_writer(self, args: Any, state: Any) -> None:
        if self.tb_writer is None:
            self.logging_dir = self._resolve_logging_dir(args, state)
            self.tb_writer = self._writer_class()(log_dir=self.logging_dir)

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        self._ensure_writer(args, state)
        to_json = getattr(args, "to_json_string", None)
        if callable(to_json):
            self.tb_writer.add_text("args", to_json())
        model = kwargs.get("model")
        config = getattr(model, "config", None)
        if config is not None and hasattr(config, "to_json_string"):
            self.tb_writer.add_text("model_config", config.to_json_string())

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        self._ensure_writer(args, state)
        for key, value in rewrite_logs(logs).items():
            if isinstance(value, (int, float)):
                self.tb_writer.add_scalar(key, value, state.global_step)
            elif isinstance(value, str):
                self.tb_writer.add_text(key, value, state.global_step)
            else:
                logger.warning(
                    "TensorBoard: dropping log entry %r of type %s (only numbers and strings "
                    "can be written).",
                    key,
                    type(value).__name__,
                )
        self.tb_writer.flush()

    def on_train_end(self, args, state, control, **kwargs):
        if self.tb_writer is not None:
            self.tb_writer.close()
            self.tb_writer = None


# Integrations that have a built-in callback in this package.
INTEGRATION_TO_CALLBACK: dict[str, type[TrainerCallback]] = {"tensorboard": TensorBoardCallback}


def _is_installed(name: str) -> bool:
    if name == "tensorboard":
        return is_tensorboard_available()
    return _has_module(INTEGRATION_PACKAGES[name])


def get_available_reporting_integrations() -> list[str]:
    """Integration names whose package is installed and that have a built-in callback here."""
    return [name for name in INTEGRATION_TO_CALLBACK if _is_installed(name)]


def _normalise(report_to: str | list[str] | tuple[str, ...] | None) -> list[str]:
    if report_to is None:
        return []
    names = [report_to] if isinstance(report_to, str) else list(report_to)
    result: list[str] = []
    for name in names:
        if name == "none":
            continue
        if name == "all":
            result.extend(get_available_reporting_integrations())
        else:
            result.append(name)
    return list(dict.fromkeys(result))


def get_reporting_integration_callbacks(
    report_to: str | list[str] | tuple[str, ...] | None,
) -> list[type[TrainerCallback]]:
    """The callback classes to install for ``report_to``.

    ``None``, ``"none"`` and ``[]`` give no callback; ``"all"`` gives every supported integration
    whose package is installed. An unknown name raises ``ValueError`` listing the known ones; a
    known integration whose package is missing raises ``ImportError`` saying what to install; a
    known integration without a built-in callback here raises ``NotImplementedError``.
    """
    names = _normalise(report_to)
    for name in names:
        if name not in INTEGRATION_PACKAGES:
            raise ValueError(
                f"report_to={name!r} is not supported; known integrations are "
                f"{', '.join(sorted(INTEGRATION_PACKAGES))} (plus 'all' and 'none')."
            )
    callbacks: list[type[TrainerCallback]] = []
    for name in names:
        if not _is_installed(name):
            hint = (
                _TENSORBOARD_HINT
                if name == "tensorboard"
                else f"pip install {INTEGRATION_PACKAGES[name]}"
            )
            raise ImportError(
                f"report_to={name!r} needs the {INTEGRATION_PACKAGES[name]} package: {hint}"
            )
        if name not in INTEGRATION_TO_CALLBACK:
            raise NotImplementedError(
                f"trainer-loop has no built-in callback for report_to={name!r} yet. Pass your own "
                f"TrainerCallback with `callbacks=[...]` and drop {name!r} from report_to."
            )
        callbacks.append(INTEGRATION_TO_CALLBACK[name])
    return callbacks
