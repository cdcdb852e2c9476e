"""Callback events, the ``TrainerCallback`` base class and the handler that dispatches events.

The handler works out once, per event, which callbacks actually override that event and calls only
those: an event nobody listens to costs one attribute lookup and one empty-tuple check.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from enum import Enum
from typing import Any

from ..state import ExportableState, TrainerControl, TrainerState

logger = logging.getLogger(__name__)

__all__ = [
    "CallbackHandler",
    "Event",
    "ExportableState",
    "TrainerCallback",
    "TrainerControl",
    "TrainerState",
]


class Event(str, Enum):
    """The events a ``TrainerCallback`` can react to, listed in the order they fire.

    One ``Trainer.train`` call fires::

        on_init_end                      (once, at the end of Trainer.__init__)
        on_train_begin
          on_epoch_begin                 (each epoch)
            on_step_begin                (each optimizer step, before its first batch)
            on_substep_end               (after each accumulated batch but the last)
            on_pre_optimizer_step        (gradients ready and clipped)
            on_optimizer_step            (after optimizer.step, before zero_grad)
            on_step_end                  (global_step was incremented)
            on_log                       (when control.should_log)
            on_non_finite                (after that on_log, once per run: the first step whose
                                          loss or gradient norm was NaN or inf)
            on_prediction_step ...       (each evaluation batch, when control.should_evaluate)
            on_evaluate
            on_save                      (when control.should_save)
          on_epoch_end                   (then on_log / on_evaluate / on_save again)
        on_train_end

    ``Trainer.evaluate`` fires ``on_prediction_step`` per batch, ``on_log`` then ``on_evaluate``;
    ``Trainer.predict`` fires ``on_prediction_step`` per batch then ``on_predict``; pushing to the
    Hub fires ``on_push_begin`` first. ``on_non_finite`` is this library's own event (not in
    transformers): it also fires at the end of ``train()`` when no logging step came after the
    non-finite step. Members compare equal to their method names.
    """

    on_init_end = "on_init_end"
    on_train_begin = "on_train_begin"
    on_epoch_begin = "on_epoch_begin"
    on_step_begin = "on_step_begin"
    on_substep_end = "on_substep_end"
    on_pre_optimizer_step = "on_pre_optimizer_step"
    on_optimizer_step = "on_optimizer_step"
    on_step_end = "on_step_end"
    on_log = "on_log"
    on_prediction_step = "on_prediction_step"
    on_evaluate = "on_evaluate"
    on_save = "on_save"
    on_epoch_end = "on_epoch_end"
    on_train_end = "on_train_end"
    on_predict = "on_predict"
    on_push_begin = "on_push_begin"
    on_non_finite = "on_non_finite"

    def __str__(self) -> str:
        return self.value


class TrainerCallback:
    """Base class for objects that watch the training loop and may steer it.

    Every event method receives ``args`` (the ``TrainingArguments``), ``state`` (the
    ``TrainerState``) and ``control`` (the ``TrainerControl``) positionally, and as keyword
    arguments: ``model``, ``processing_class``, ``optimizer``, ``lr_scheduler``,
    ``train_dataloader`` and ``eval_dataloader``, plus ``metrics`` for ``on_evaluate`` and
    ``on_predict`` and ``logs`` for ``on_log``. Name the ones you need and keep ``**kwargs`` for
    the rest.

    Only ``control`` should be changed; return it (or ``None``, which keeps the current one).
    Override only the events you need: the handler never calls an event you did not override.
    """

    # True on the callback that decides when the loop logs, evaluates and saves; the handler
    # warns when none of its callbacks does.
    _drives_flow = False

    def on_init_end(self, args: Any, state: TrainerState, control: TrainerControl, **kwargs: Any):
        """The Trainer finished ``__init__``."""

    def on_train_begin(
        self, args: Any, state: TrainerState, control: TrainerControl, **kwargs: Any
    ):
        """Training is about to start (state already holds ``max_steps`` and friends)."""

    def on_train_end(self, args: Any, state: TrainerState, control: TrainerControl, **kwargs: Any):
        """Training finished (normally or because ``should_training_stop`` was set)."""

    def on_epoch_begin(
        self, args: Any, state: TrainerState, control: TrainerControl, **kwargs: Any
    ):
        """An epoch is about to start."""

    def on_epoch_end(self, args: Any, state: TrainerState, control: TrainerControl, **kwargs: Any):
        """An epoch ended; set ``control`` flags to log, evaluate or save now."""

    def on_step_begin(self, args: Any, state: TrainerState, control: TrainerControl, **kwargs: Any):
        """An optimizer step is about to start (before its first accumulated batch)."""

    def on_pre_optimizer_step(
        self, args: Any, state: TrainerState, control: TrainerControl, **kwargs: Any
    ):
        """Gradients are complete and clipped; the optimizer has not stepped yet."""

    def on_optimizer_step(
        self, args: Any, state: TrainerState, control: TrainerControl, **kwargs: Any
    ):
        """The optimizer stepped; gradients are still there (not yet zeroed)."""

    def on_substep_end(
        self, args: Any, state: TrainerState, control: TrainerControl, **kwargs: Any
    ):
        """One accumulated batch (not the last of its step) was processed."""

    def on_step_end(self, args: Any, state: TrainerState, control: TrainerControl, **kwargs: Any):
        """An optimizer step finished and ``state.global_step`` counts it."""

    def on_evaluate(self, args: Any, state: TrainerState, control: TrainerControl, **kwargs: Any):
        """An evaluation finished; its results are in ``metrics``."""

    def on_predict(
        self, args: Any, state: TrainerState, control: TrainerControl, metrics: Any, **kwargs: Any
    ):
        """``Trainer.predict`` finished; its results are in ``metrics``."""

    def on_save(self, args: Any, state: TrainerState, control: TrainerControl, **kwargs: Any):
        """A checkpoint was written."""

    def on_log(self, args: Any, state: TrainerState, control: TrainerControl, **kwargs: Any):
        """``Trainer.log`` recorded the dict passed as ``logs``."""

    def on_prediction_step(
        self, args: Any, state: TrainerState, control: TrainerControl, **kwargs: Any
    ):
        """One evaluation or prediction batch was processed."""

    def on_push_begin(self, args: Any, state: TrainerState, control: TrainerControl, **kwargs: Any):
        """The model or a checkpoint is about to be pushed to the Hub."""

    def on_non_finite(self, args: Any, state: TrainerState, control: TrainerControl, **kwargs: Any):
        """A loss or gradient norm was NaN or inf; ``step`` (a keyword) is the first such step."""


EVENT_NAMES: tuple[str, ...] = tuple(e.value for e in Event)

# The do-nothing defaults: a callback whose method resolves to one of these does not listen.
_NOOP_FUNCTIONS: set[Any] = {getattr(TrainerCallback, name) for name in EVENT_NAMES}


def _foreign_noops() -> set[Any]:
    """transformers' own no-op defaults, when that library is already loaded (never imported)."""
    module = sys.modules.get("transformers.trainer_callback")
    base = getattr(module, "TrainerCallback", None) if module is not None else None
    if base is None:
        return set()
    return {getattr(base, name, None) for name in EVENT_NAMES} - {None}


def listens_to(callback: Any, event: str | Event, noops: set[Any] | None = None) -> bool:
    """Whether ``callback`` overrides ``event`` (an instance attribute counts as an override)."""
    method = getattr(callback, str(event), None)
    if method is None:
        return False
    function = getattr(method, "__func__", method)
    return function not in (noops if noops is not None else _NOOP_FUNCTIONS | _foreign_noops())


class CallbackHandler:
    """Holds the Trainer's callbacks and fires events at those that listen.

    Each event method takes ``(args, state, control, **kwargs)``, clears the ``control`` flags
    transformers clears for that event, calls every listening callback in order with the shared
    objects as keyword arguments, and returns the (possibly replaced) ``control``.
    """

    def __init__(
        self,
        callbacks: Iterable[Any],
        model: Any,
        processing_class: Any,
        optimizer: Any,
        lr_scheduler: Any,
    ) -> None:
        self.callbacks: list[Any] = []
        self._listeners: dict[str, tuple[Any, ...]] = {}
        for callback in callbacks:
            self._add(callback)
        self._refresh()
        self.model = model
        self.processing_class = processing_class
        self.optimizer = optimizer
        self.lr_scheduler = lr_scheduler
        self.train_dataloader: Any = None
        self.eval_dataloader: Any = None

        if not any(getattr(cb, "_drives_flow", False) for cb in self.callbacks):
            logger.warning(
                "The Trainer will not log, evaluate, save or stop on its own without a "
                "DefaultFlowCallback; add one with `trainer.add_callback(DefaultFlowCallback)`. "
                "Current callbacks:\n%s",
                self.callback_list,
            )

    # -- managing the list ---------------------------------------------------------------

    def _add(self, callback: Any) -> None:
        if not _looks_like_callback(callback):
            raise TypeError(
                f"callbacks: {callback!r} ({type(callback).__name__}) is not a TrainerCallback; "
                "pass an instance or a subclass of TrainerCallback (or an object with on_* "
                "event methods)."
            )
        instance = callback() if isinstance(callback, type) else callback
        cls = callback if isinstance(callback, type) else type(callback)
        if any(type(existing) is cls for existing in self.callbacks):
            logger.warning(
                "Adding a %s to the callbacks of this Trainer, but there is already one. "
                "Current callbacks:\n%s",
                cls,
                self.callback_list,
            )
        self.callbacks.append(instance)

    def _refresh(self) -> None:
        """Recompute, for every event, the callbacks that override it."""
        noops = _NOOP_FUNCTIONS | _foreign_noops()
        self._listeners = {
            name: tuple(cb for cb in self.callbacks if listens_to(cb, name, noops))
            for name in EVENT_NAMES
        }

    def add_callback(self, callback: Any) -> None:
        """Append a callback instance, or instantiate and append a callback class."""
        self._add(callback)
        self._refresh()

    def pop_callback(self, callback: Any) -> Any:
        """Remove and return the first callback matching ``callback`` (a class or an instance).

        Returns ``None`` when nothing matches.
        """
        for existing in self.callbacks:
            matches = (
                isinstance(existing, callback)
                if isinstance(callback, type)
                else existing == callback
            )
            if matches:
                self.callbacks.remove(existing)
                self._refresh()
                return existing
        return None

    def remove_callback(self, callback: Any) -> None:
        """Remove the first callback matching ``callback`` (a class or an instance).

        An instance that is not registered raises ``ValueError``, like ``list.remove``.
        """
        if isinstance(callback, type):
            self.pop_callback(callback)
        else:
            self.callbacks.remove(callback)
            self._refresh()

    @property
    def callback_list(self) -> str:
        """Class names of the registered callbacks, one per line."""
        return "\n".join(type(cb).__name__ for cb in self.callbacks)

    def listeners(self, event: str | Event) -> tuple[Any, ...]:
        """The callbacks that will be called for ``event``, in call order."""
        return self._listeners[str(event)]

    # -- dispatch --------------------------------------------------------------------------

    def call_event(
        self, event: str | Event, args: Any, state: TrainerState, control: TrainerControl, **kwargs
    ) -> TrainerControl:
        """Call ``event`` on each listening callback; a non-``None`` return replaces ``control``."""
        listeners = self._listeners[str(event)]
        if not listeners:
            return control
        name = str(event)
        for callback in listeners:
            result = getattr(callback, name)(
                args,
                state,
                control,
                model=self.model,
                processing_class=self.processing_class,
                optimizer=self.optimizer,
                lr_scheduler=self.lr_scheduler,
                train_dataloader=self.train_dataloader,
                eval_dataloader=self.eval_dataloader,
                **kwargs,
            )
            if result is not None:
                control = result
        return control

    def on_init_end(self, args, state, control, **kwargs) -> TrainerControl:
        return self.call_event("on_init_end", args, state, control, **kwargs)

    def on_train_begin(self, args, state, control, **kwargs) -> TrainerControl:
        control.should_training_stop = False
        return self.call_event("on_train_begin", args, state, control, **kwargs)

    def on_train_end(self, args, state, control, **kwargs) -> TrainerControl:
        return self.call_event("on_train_end", args, state, control, **kwargs)

    def on_epoch_begin(self, args, state, control, **kwargs) -> TrainerControl:
        control.should_epoch_stop = False
        return self.call_event("on_epoch_begin", args, state, control, **kwargs)

    def on_epoch_end(self, args, state, control, **kwargs) -> TrainerControl:
        return self.call_event("on_epoch_end", args, state, control, **kwargs)

    def on_step_begin(self, args, state, control, **kwargs) -> TrainerControl:
        control.should_log = False
        control.should_evaluate = False
        control.should_save = False
        return self.call_event("on_step_begin", args, state, control, **kwargs)

    def on_pre_optimizer_step(self, args, state, control, **kwargs) -> TrainerControl:
        return self.call_event("on_pre_optimizer_step", args, state, control, **kwargs)

    def on_optimizer_step(self, args, state, control, **kwargs) -> TrainerControl:
        return self.call_event("on_optimizer_step", args, state, control, **kwargs)

    def on_substep_end(self, args, state, control, **kwargs) -> TrainerControl:
        return self.call_event("on_substep_end", args, state, control, **kwargs)

    def on_step_end(self, args, state, control, **kwargs) -> TrainerControl:
        return self.call_event("on_step_end", args, state, control, **kwargs)

    def on_evaluate(self, args, state, control, metrics=None, **kwargs) -> TrainerControl:
        control.should_evaluate = False
        return self.call_event("on_evaluate", args, state, control, metrics=metrics, **kwargs)

    def on_predict(self, args, state, control, metrics=None, **kwargs) -> TrainerControl:
        return self.call_event("on_predict", args, state, control, metrics=metrics, **kwargs)

    def on_save(self, args, state, control, **kwargs) -> TrainerControl:
        control.should_save = False
        return self.call_event("on_save", args, state, control, **kwargs)

    def on_log(self, args, state, control, logs=None, **kwargs) -> TrainerControl:
        control.should_log = False
        return self.call_event("on_log", args, state, control, logs=logs, **kwargs)

    def on_prediction_step(self, args, state, control, **kwargs) -> TrainerControl:
        return self.call_event("on_prediction_step", args, state, control, **kwargs)

    def on_push_begin(self, args, state, control, **kwargs) -> TrainerControl:
        return self.call_event("on_push_begin", args, state, control, **kwargs)

    def on_non_finite(self, args, state, control, **kwargs) -> TrainerControl:
        return self.call_event("on_non_finite", args, state, control, **kwargs)


def _looks_like_callback(callback: Any) -> bool:
    """A TrainerCallback (class or instance), or a duck-typed object with ``on_*`` methods."""
    if isinstance(callback, TrainerCallback) or (
        isinstance(callback, type) and issubclass(callback, TrainerCallback)
    ):
        return True
    if isinstance(callback, (str, bytes, int, float)) or callback is None:
        return False
    return any(
        name.startswith("on_") and callable(getattr(callback, name)) for name in dir(callback)
    )
