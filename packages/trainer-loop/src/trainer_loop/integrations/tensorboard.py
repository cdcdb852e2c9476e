"""TensorBoard: scalars and texts written to event files (``report_to="tensorboard"``)."""

from __future__ import annotations

import logging
import os
from typing import Any

from ..callbacks.base import TrainerCallback
from .base import default_logdir, has_module, rewrite_logs

logger = logging.getLogger(__name__)

_TENSORBOARD_HINT = 'pip install "trainer-loop[tensorboard]"'


def is_tensorboard_available() -> bool:
    """Whether ``tensorboard`` (used through ``torch.utils.tensorboard``) or tensorboardX is installed."""
    return has_module("tensorboard") or has_module("tensorboardX")


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
