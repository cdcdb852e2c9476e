"""A callback that records every event it sees, usable with our Trainer and transformers'."""

from __future__ import annotations

EVENTS = (
    "on_init_end",
    "on_train_begin",
    "on_train_end",
    "on_epoch_begin",
    "on_epoch_end",
    "on_step_begin",
    "on_pre_optimizer_step",
    "on_optimizer_step",
    "on_substep_end",
    "on_step_end",
    "on_evaluate",
    "on_predict",
    "on_save",
    "on_log",
    "on_prediction_step",
    "on_push_begin",
)


def make_recorder(base: type):
    """Build a recording subclass of ``base`` (a ``TrainerCallback`` class from either library)."""

    class EventRecorder(base):
        def __init__(self):
            self.events: list[str] = []

    def _make(name):
        def handler(self, args, state, control, **kwargs):
            self.events.append(name)

        return handler

    # This library's own on_non_finite is recorded too when the base class has it.
    own = ("on_non_finite",) if hasattr(base, "on_non_finite") else ()
    for name in EVENTS + own:
        setattr(EventRecorder, name, _make(name))
    return EventRecorder
