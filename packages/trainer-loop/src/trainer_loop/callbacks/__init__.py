"""Callbacks: the event vocabulary (``Event``), ``TrainerCallback``, the handler that dispatches
events to the callbacks that listen, and the built-in callbacks the loop relies on."""

from .base import CallbackHandler, Event, TrainerCallback, listens_to
from .builtin import DefaultFlowCallback, EarlyStoppingCallback, PrinterCallback, ProgressCallback
from .nonfinite import StopOnNonFiniteCallback

__all__ = [
    "CallbackHandler",
    "DefaultFlowCallback",
    "EarlyStoppingCallback",
    "Event",
    "PrinterCallback",
    "ProgressCallback",
    "StopOnNonFiniteCallback",
    "TrainerCallback",
    "listens_to",
]
