"""Training state and control flags shared between the Trainer and its callbacks.

``TrainerState`` is what a checkpoint's ``trainer_state.json`` holds; its JSON layout uses the same
keys as transformers' file, so a checkpoint written by either library resumes in the other.
``TrainerControl`` carries the switches callbacks flip to steer the loop.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import tempfile
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

logger = logging.getLogger(__name__)

__all__ = ["ExportableState", "TrainerControl", "TrainerState"]


@runtime_checkable
class ExportableState(Protocol):
    """Something whose state can be stored in a checkpoint and rebuilt from it.

    ``state()`` returns ``{"args": {...}, "attributes": {...}}``: ``args`` are passed to the
    constructor when restoring and ``attributes`` are set on the new object afterwards. Both must
    hold plain JSON values, because they end up in ``trainer_state.json``.

    The check is structural: any object with ``state`` and ``from_state`` counts (including
    transformers' stateful callbacks). Subclassing this class explicitly gives the default
    ``from_state`` below.
    """

    def state(self) -> dict[str, Any]:
        """Return ``{"args": ..., "attributes": ...}`` describing this object."""
        raise NotImplementedError(f"{type(self).__name__} must implement `state()` to be saved.")

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Any:
        """Build an instance from the output of ``state()``."""
        instance = cls(**state.get("args", {}))
        for name, value in state.get("attributes", {}).items():
            setattr(instance, name, value)
        return instance


def _collect_callback_states(callbacks: Any) -> dict[str, Any]:
    """Turn a list of stateful objects into the ``{class name: state or [states]}`` mapping."""
    collected: dict[str, Any] = {}
    for callback in callbacks:
        if not isinstance(callback, ExportableState):
            raise TypeError(
                "Every callback whose state is saved must provide `state()` and `from_state()` "
                f"(see ExportableState); got {type(callback).__name__}."
            )
        name = type(callback).__name__
        exported = callback.state()
        if name not in collected:
            collected[name] = exported
        else:
            if not isinstance(collected[name], list):
                collected[name] = [collected[name]]
            collected[name].append(exported)
    return collected


@dataclass
class TrainerState:
    """Where training stands; saved as ``trainer_state.json`` in every checkpoint.

    A "step" is one optimizer update: with ``gradient_accumulation_steps=n`` it covers ``n``
    batches. ``epoch`` is fractional during training (``1.5`` is half way through the second
    epoch). ``logging_steps``, ``eval_steps`` and ``save_steps`` hold absolute step counts after
    ``compute_steps`` turned fractional arguments into them. ``log_history`` lists every dict
    passed to ``Trainer.log``. ``best_metric``, ``best_global_step`` and ``best_model_checkpoint``
    track the best evaluation when a ``metric_for_best_model`` is set. ``stateful_callbacks`` maps a
    callback class name to its ``state()`` (a list of them when several callbacks share a class);
    a list of callback objects may be passed instead and is converted on construction.
    """

    epoch: float = 0
    global_step: int = 0
    max_steps: int = 0
    logging_steps: int = 500
    eval_steps: int = 500
    save_steps: int = 500
    train_batch_size: int | None = None
    num_train_epochs: int = 0
    num_input_tokens_seen: int = 0
    total_flos: float = 0
    log_history: list[dict[str, float]] = None  # type: ignore[assignment]
    best_metric: float | None = None
    best_global_step: int | None = None
    best_model_checkpoint: str | None = None
    is_local_process_zero: bool = True
    is_world_process_zero: bool = True
    is_hyper_param_search: bool = False
    trial_name: str | None = None
    trial_params: dict[str, str | float | int | bool] | None = None
    stateful_callbacks: Any = None

    def __post_init__(self) -> None:
        if self.log_history is None:
            self.log_history = []
        if self.stateful_callbacks is None:
            self.stateful_callbacks = {}
        elif not isinstance(self.stateful_callbacks, dict):
            self.stateful_callbacks = _collect_callback_states(self.stateful_callbacks)

    def to_json_string(self) -> str:
        """The JSON text written by ``save_to_json`` (sorted keys, two-space indent)."""
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    def save_to_json(self, json_path: str | os.PathLike[str]) -> None:
        """Write this state to ``json_path``, replacing any existing file in one step."""
        text = self.to_json_string()
        directory = os.path.dirname(os.path.abspath(json_path))
        fd, tmp = tempfile.mkstemp(prefix=".trainer_state.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, json_path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    @classmethod
    def load_from_json(cls, json_path: str | os.PathLike[str]) -> TrainerState:
        """Read a state written by ``save_to_json`` (or by transformers).

        Keys this version does not know are dropped with a warning instead of failing, so files
        from newer releases still load.
        """
        with open(json_path, encoding="utf-8") as handle:
            data = json.load(handle)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            logger.warning("Ignoring unknown keys in %s: %s", json_path, ", ".join(unknown))
        return cls(**{k: v for k, v in data.items() if k in known})

    def compute_steps(self, args: Any, max_steps: int) -> None:
        """Store absolute logging/eval/save intervals from ``args``.

        An interval below 1 is a fraction of ``max_steps`` and is rounded up; ``None`` leaves the
        current value untouched.
        """
        for kind in ("logging", "eval", "save"):
            value = getattr(args, f"{kind}_steps", None)
            if value is None:
                continue
            if value < 1:
                value = math.ceil(max_steps * value)
            setattr(self, f"{kind}_steps", value)

    def init_training_references(
        self, trainer: Any, max_steps: int, num_train_epochs: float, trial: Any
    ) -> None:
        """Record run-wide facts at the start of ``train``: length, trial and process roles."""
        hp_name = getattr(trainer, "hp_name", None)
        if hp_name is not None and trial is not None:
            self.trial_name = hp_name(trial)
        self.trial_params = None if trial is None else _trial_params(trial)
        self.max_steps = max_steps
        self.num_train_epochs = num_train_epochs
        self.is_local_process_zero = _call_or_value(trainer, "is_local_process_zero")
        self.is_world_process_zero = _call_or_value(trainer, "is_world_process_zero")


def _call_or_value(obj: Any, name: str) -> bool:
    """Read ``obj.name``, calling it when it is a method (the Trainer exposes methods)."""
    value = getattr(obj, name, True)
    return bool(value() if callable(value) else value)


def _trial_params(trial: Any) -> dict[str, Any]:
    """The hyperparameters of a search trial: an optuna trial's ``params`` or a plain dict."""
    if isinstance(trial, dict):
        return dict(trial)
    params = getattr(trial, "params", None)
    if params is not None:
        return dict(params)
    raise TypeError(f"Cannot read hyperparameters from a trial of type {type(trial).__name__}.")


@dataclass
class TrainerControl(ExportableState):
    """Switches that callbacks set to steer the training loop.

    ``should_training_stop`` ends training and stays set; ``should_epoch_stop`` ends the current
    epoch and is cleared when the next one starts; ``should_log``, ``should_evaluate`` and
    ``should_save`` ask for that action after the current step and are cleared when the next
    step begins (and each one when its action ran).
    """

    should_training_stop: bool = False
    should_epoch_stop: bool = False
    should_save: bool = False
    should_evaluate: bool = False
    should_log: bool = False

    def _new_training(self) -> None:
        """Clear the stop flag before a new ``train`` call."""
        self.should_training_stop = False

    def _new_epoch(self) -> None:
        """Clear the epoch stop flag before a new epoch."""
        self.should_epoch_stop = False

    def _new_step(self) -> None:
        """Clear the per-step requests before a new step."""
        self.should_save = False
        self.should_evaluate = False
        self.should_log = False

    def state(self) -> dict[str, Any]:
        """All five flags as constructor arguments."""
        return {"args": dataclasses.asdict(self), "attributes": {}}
