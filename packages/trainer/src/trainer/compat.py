"""Run libraries written against transformers' Trainer (TRL, sentence-transformers, setfit) on ours.

Such libraries subclass ``transformers.Trainer`` and ``transformers.TrainingArguments`` at import
time. :func:`install_as_transformers` puts this project's classes under transformers' names, in the
top-level package and in the submodules those names are imported from, so a library imported
*after* the call builds its trainers on this loop with no change to its code::

    import trainer
    trainer.install_as_transformers()

    from trl import SFTConfig, SFTTrainer  # SFTTrainer now subclasses trainer.Trainer

transformers itself is imported here, and only when the call is made; the rest of this project
never imports it. :func:`restore_transformers` puts the original classes back (for tests and for
code that needs both in one process).
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

from ._log_route import route_to_transformers, stop_routing

logger = logging.getLogger(__name__)

#: The names replaced: each resolves to the ``trainer`` export of the same name.
_REPLACED = (
    "Trainer",
    "TrainingArguments",
    "Seq2SeqTrainer",
    "Seq2SeqTrainingArguments",
    "TrainerCallback",
    "TrainerState",
    "TrainerControl",
    "CallbackHandler",
    "DefaultFlowCallback",
    "PrinterCallback",
    "ProgressCallback",
    "EarlyStoppingCallback",
    "ExportableState",
    "EvalPrediction",
    "EvalLoopOutput",
    "PredictionOutput",
    "TrainOutput",
    "BestRun",
    "HPSearchBackend",
    "IntervalStrategy",
    "SaveStrategy",
    "HubStrategy",
    "SchedulerType",
    "OptimizerNames",
    "ParallelMode",
)

#: transformers modules whose attributes of these names are replaced (where the module has them).
_TRANSFORMERS_MODULES = (
    "transformers",
    "transformers.trainer",
    "transformers.training_args",
    "transformers.training_args_seq2seq",
    "transformers.trainer_seq2seq",
    "transformers.trainer_callback",
    "transformers.trainer_utils",
)

#: Libraries whose classes are bound at import time: imported before the call, they keep
#: transformers' classes.
_DEPENDENT_LIBRARIES = ("trl", "sentence_transformers", "setfit")

_originals: dict[tuple[int, str], tuple[Any, str, Any]] = {}


def install_as_transformers() -> None:
    """Make transformers' Trainer, argument, callback and result names resolve to this project's.

    Call it before importing the library that subclasses them. Calling it again does nothing.
    Afterwards ``isinstance(trainer, transformers.Trainer)`` holds for this project's trainers, and
    ``from transformers import Trainer`` returns :class:`trainer.Trainer`. The project's log records
    then go out through the matching transformers loggers (``transformers.trainer``,
    ``transformers.trainer_callback``, ...), so ``transformers.logging``'s verbosity, handlers and
    captures apply to them, and a Trainer's ``log_level`` sets transformers' verbosity.
    """
    try:
        importlib.import_module("transformers")
    except ImportError as err:
        raise ImportError(
            "install_as_transformers() needs transformers installed (`pip install transformers`): "
            "it replaces transformers' classes for libraries that import them from there."
        ) from err
    early = [name for name in _DEPENDENT_LIBRARIES if name in sys.modules]
    if early:
        logger.warning(
            "%s was imported before install_as_transformers(); classes it already defined keep "
            "subclassing transformers.Trainer. Call install_as_transformers() first.",
            ", ".join(early),
        )
    package = importlib.import_module("trainer")
    ours = {name: getattr(package, name) for name in _REPLACED}
    modules = []
    for module_name in _TRANSFORMERS_MODULES:
        try:
            modules.append(importlib.import_module(module_name))
        except ImportError:  # a submodule this transformers version does not have
            continue
    # Importing a submodule may put a new top-level module object in sys.modules (some packages'
    # import hooks do): patch the one `import transformers` returns from now on, too.
    modules.append(sys.modules["transformers"])
    for module in modules:
        for name, replacement in ours.items():
            key = (id(module), name)
            if key in _originals:
                continue
            current = module.__dict__.get(name, _MISSING)
            if current is _MISSING and module.__name__ != "transformers":
                continue
            _originals[key] = (module, name, current)
            setattr(module, name, replacement)
    _use_transformers_jit_callback_name()
    _set_up_process_state_with_arguments(ours["TrainingArguments"])
    from trainer_loop.reporting.log_setup import PACKAGE_LOGGERS

    route_to_transformers(PACKAGE_LOGGERS)


def _set_up_process_state_with_arguments(arguments_class: type) -> None:
    """Building arguments sets up accelerate's process state, as transformers' arguments do
    (sentence-transformers builds a second set with ``use_configured_state=True`` and relies on
    the first having done it)."""
    key = (id(arguments_class), "_process_state_on_init")
    if key not in _originals:
        _originals[key] = (arguments_class, "_process_state_on_init", False)
        arguments_class._process_state_on_init = True


def _use_transformers_jit_callback_name() -> None:
    """``enable_jit_checkpoint=True`` adds a callback that is also a
    ``transformers.trainer_jit_checkpoint.JITCheckpointCallback`` (what code written against
    transformers looks for), while it behaves as ours: it saves at a step boundary."""
    try:
        theirs = importlib.import_module(
            "transformers.trainer_jit_checkpoint"
        ).JITCheckpointCallback
    except (ImportError, AttributeError):  # a transformers version without it
        return
    module = importlib.import_module("trainer_loop.callbacks.jit_checkpoint")
    key = (id(module), "JITCheckpointCallback")
    if key in _originals:
        return
    ours = module.JITCheckpointCallback
    # Events transformers' callback handles and ours does not stay no-ops (our base class's).
    base = importlib.import_module("trainer_loop.callbacks.base").TrainerCallback
    kept = {
        name: getattr(base, name)
        for name in vars(theirs)
        if name.startswith("on_") and name not in vars(ours) and hasattr(base, name)
    }
    both = type(
        "JITCheckpointCallback",
        (ours, theirs),
        {**kept, "__module__": ours.__module__, "__doc__": ours.__doc__, "__init__": ours.__init__},
    )
    _originals[key] = (module, "JITCheckpointCallback", ours)
    module.JITCheckpointCallback = both


def restore_transformers() -> None:
    """Put back the classes :func:`install_as_transformers` replaced."""
    for key, (module, name, original) in list(_originals.items()):
        if original is _MISSING:
            module.__dict__.pop(name, None)
        else:
            setattr(module, name, original)
        del _originals[key]
    stop_routing()


def is_installed() -> bool:
    """Whether :func:`install_as_transformers` is in effect."""
    return bool(_originals)


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()
