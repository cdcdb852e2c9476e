"""The callbacks the Trainer installs by default, plus early stopping."""

from __future__ import annotations

import logging
from typing import Any

from ..state import ExportableState, TrainerControl, TrainerState
from .base import TrainerCallback

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_CALLBACKS",
    "DEFAULT_PROGRESS_CALLBACK",
    "DefaultFlowCallback",
    "EarlyStoppingCallback",
    "PrinterCallback",
    "ProgressCallback",
]


def _strategy(value: Any) -> str:
    """A strategy as a string, whichever enum class (or a bare string) holds it."""
    # The strategy enums are str subclasses and compare equal to their values as they are;
    # reading ``.value`` (an enum descriptor) on every step costs more than the comparison.
    return value if isinstance(value, str) else str(getattr(value, "value", value))


def _format_value(value: Any) -> Any:
    return f"{value:.4g}" if isinstance(value, float) else value


class DefaultFlowCallback(TrainerCallback):
    """Decides when the loop logs, evaluates, saves and stops.

    After each step: log on step 1 with ``logging_first_step`` and every ``state.logging_steps``
    steps with the ``"steps"`` logging strategy; evaluate every ``state.eval_steps`` steps with the
    ``"steps"`` eval strategy once ``global_step >= eval_delay``; save every ``state.save_steps``
    steps with the ``"steps"`` save strategy; stop at ``max_steps`` (saving then too with the
    ``"steps"`` save strategy). After each epoch: the same for the ``"epoch"`` strategies, with
    ``eval_delay`` counted in epochs. The ``"best"`` save strategy is handled by the Trainer when it
    finds a new best metric.
    """

    _drives_flow = True

    def on_step_end(
        self, args: Any, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        step = state.global_step
        if step == 1 and args.logging_first_step:
            control.should_log = True
        if _strategy(args.logging_strategy) == "steps" and step % state.logging_steps == 0:
            control.should_log = True
        if (
            _strategy(args.eval_strategy) == "steps"
            and step % state.eval_steps == 0
            and args.eval_delay <= step
        ):
            control.should_evaluate = True
        save_by_steps = _strategy(args.save_strategy) == "steps"
        if save_by_steps and state.save_steps > 0 and step % state.save_steps == 0:
            control.should_save = True
        if step >= state.max_steps:
            control.should_training_stop = True
            if save_by_steps:
                control.should_save = True
        return control

    def on_epoch_end(
        self, args: Any, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        if _strategy(args.logging_strategy) == "epoch":
            control.should_log = True
        if _strategy(args.eval_strategy) == "epoch" and args.eval_delay <= state.epoch:
            control.should_evaluate = True
        if _strategy(args.save_strategy) == "epoch":
            control.should_save = True
        return control


class ProgressCallback(TrainerCallback):
    """Shows tqdm progress bars for training and for evaluation/prediction.

    Bars and log lines appear only on the main process (``state.is_world_process_zero``) and bars
    are hidden when ``args.disable_tqdm`` is true. Logged dicts are written above the training bar
    with ``tqdm.write``; floats are shown with 4 significant digits and strings longer than
    ``max_str_len`` are replaced by a note giving their length.
    """

    def __init__(self, max_str_len: int = 100) -> None:
        self.training_bar: Any = None
        self.prediction_bar: Any = None
        self.max_str_len = max_str_len
        self.current_step = 0

    @staticmethod
    def _bar(args: Any, **kwargs: Any) -> Any:
        from tqdm.auto import tqdm

        return tqdm(
            dynamic_ncols=True, disable=bool(getattr(args, "disable_tqdm", False)), **kwargs
        )

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self.training_bar = self._bar(args, total=state.max_steps)
        self.current_step = 0

    def on_step_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero and self.training_bar is not None:
            self.training_bar.update(state.global_step - self.current_step)
            self.current_step = state.global_step

    def on_prediction_step(self, args, state, control, eval_dataloader=None, **kwargs):
        if not state.is_world_process_zero:
            return
        try:
            total = len(eval_dataloader)  # type: ignore[arg-type]
        except (TypeError, NotImplementedError):
            return
        if self.prediction_bar is None:
            self.prediction_bar = self._bar(args, total=total, leave=self.training_bar is None)
        self.prediction_bar.update(1)

    def _close_prediction_bar(self, state: TrainerState) -> None:
        if state.is_world_process_zero and self.prediction_bar is not None:
            self.prediction_bar.close()
        self.prediction_bar = None

    def on_evaluate(self, args, state, control, **kwargs):
        self._close_prediction_bar(state)

    def on_predict(self, args, state, control, metrics=None, **kwargs):
        self._close_prediction_bar(state)

    def _shorten(self, value: Any) -> Any:
        if isinstance(value, str) and len(value) > self.max_str_len:
            return (
                f"[String too long to display, length: {len(value)} > {self.max_str_len}. "
                "Consider increasing `max_str_len` if needed.]"
            )
        return _format_value(value)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or self.training_bar is None or logs is None:
            return
        shown = {k: self._shorten(v) for k, v in logs.items() if k != "total_flos"}
        self.training_bar.write(str(shown))

    def on_train_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero and self.training_bar is not None:
            self.training_bar.close()
        self.training_bar = None


class PrinterCallback(TrainerCallback):
    """Prints each logged dict (without ``total_flos``) on the local main process."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        # Removed in place, as transformers does: train() metrics then lack total_flos when
        # progress bars are disabled (it stays in state.log_history).
        if logs is not None:
            logs.pop("total_flos", None)
        if state.is_local_process_zero:
            print(None if logs is None else {k: _format_value(v) for k, v in logs.items()})


class EarlyStoppingConfigError(ValueError, AssertionError):
    """The arguments cannot drive early stopping (also an ``AssertionError``, as in transformers)."""


class EarlyStoppingCallback(TrainerCallback, ExportableState):
    """Stops training when ``metric_for_best_model`` stops improving.

    After each evaluation the metric is compared with ``state.best_metric`` (kept up to date by the
    Trainer): it counts as an improvement when it is better in the direction of
    ``greater_is_better`` by more than ``early_stopping_threshold``. After
    ``early_stopping_patience`` evaluations in a row without improvement, training stops.

    Needs ``metric_for_best_model`` and an evaluation strategy other than ``"no"``; without
    ``load_best_model_at_end`` it warns that the final model will be the last one, not the best.
    The patience counter is saved in checkpoints (``state()``), so a resumed run continues counting.
    """

    def __init__(
        self, early_stopping_patience: int = 1, early_stopping_threshold: float | None = 0.0
    ) -> None:
        self.early_stopping_patience = early_stopping_patience
        self.early_stopping_threshold = early_stopping_threshold
        self.early_stopping_patience_counter = 0

    def check_metric_value(
        self, args: Any, state: TrainerState, control: TrainerControl, metric_value: float
    ) -> None:
        """Reset the counter on an improvement, otherwise count one more miss."""
        best = state.best_metric
        if best is None:
            self.early_stopping_patience_counter = 0
            return
        threshold = self.early_stopping_threshold or 0.0
        better = metric_value > best if args.greater_is_better else metric_value < best
        if better and abs(metric_value - best) > threshold:
            self.early_stopping_patience_counter = 0
        else:
            self.early_stopping_patience_counter += 1

    def on_train_begin(self, args, state, control, **kwargs):
        if not args.load_best_model_at_end:
            logger.warning(
                "EarlyStoppingCallback is used without load_best_model_at_end=True: the model "
                "left at the end of training will be the last one, not the best one."
            )
        if args.metric_for_best_model is None:
            raise EarlyStoppingConfigError(
                "EarlyStoppingCallback requires metric_for_best_model to be defined"
            )
        if _strategy(args.eval_strategy) == "no":
            raise EarlyStoppingConfigError(
                "EarlyStoppingCallback requires an eval_strategy of 'steps' or 'epoch'"
            )

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        name = args.metric_for_best_model
        if not name.startswith("eval_"):
            name = f"eval_{name}"
        value = None if metrics is None else metrics.get(name)
        if value is None:
            logger.warning(
                "Early stopping needs the metric %s, which the evaluation did not return; "
                "early stopping is disabled for this evaluation.",
                name,
            )
            return
        self.check_metric_value(args, state, control, value)
        if self.early_stopping_patience_counter >= self.early_stopping_patience:
            control.should_training_stop = True

    def state(self) -> dict[str, Any]:
        """Constructor arguments and the current patience counter."""
        return {
            "args": {
                "early_stopping_patience": self.early_stopping_patience,
                "early_stopping_threshold": self.early_stopping_threshold,
            },
            "attributes": {"early_stopping_patience_counter": self.early_stopping_patience_counter},
        }


# What the Trainer installs before user callbacks: the flow callback, then ProgressCallback
# (PrinterCallback instead when ``args.disable_tqdm`` is true), then the report_to integrations.
DEFAULT_CALLBACKS: list[type[TrainerCallback]] = [DefaultFlowCallback]
DEFAULT_PROGRESS_CALLBACK: type[TrainerCallback] = ProgressCallback
