"""While installed as transformers, the project's log records go out through transformers' loggers.

Code written against transformers configures and watches its loggers: ``transformers.logging``'s
verbosity and handlers, ``CaptureLogger(logging.get_logger())``, ``assertLogs("transformers.trainer")``,
``patch("transformers.trainer_callback.logger.warning")``. :func:`route_to_transformers` makes each
record of this project's loggers a call to the ``debug``/``info``/``warning``/... method of the
transformers logger that logs the same thing there (``trainer_loop.*`` as ``transformers.trainer``,
callbacks as ``transformers.trainer_callback``, arguments as ``transformers.training_args``, ...),
with the formatted message. transformers' verbosity then decides what shows, and a ``Trainer``'s
``log_level`` sets that verbosity, as transformers' own ``Trainer`` does.

:func:`stop_routing` puts the project's loggers back as they were.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["route_to_transformers", "stop_routing", "transformers_logger_name"]

#: Prefixes of this project's logger names and the transformers logger that logs the same
#: things; the longest matching prefix wins.
_NAMES = {
    "trainer": "transformers",
    "trainer_args": "transformers.training_args",
    "trainer_data": "transformers.trainer",  # column dropping, samplers: logged by the trainer
    "trainer_dist": "transformers.trainer",
    "trainer_hub": "transformers.trainer",
    "trainer_hub.model_card": "transformers.modelcard",
    "trainer_optim": "transformers.optimization",
    "trainer_loop": "transformers.trainer",
    "trainer_loop.callbacks": "transformers.trainer_callback",
    "trainer_loop.callbacks.jit_checkpoint": "transformers.trainer_jit_checkpoint",
    "trainer_loop.integrations": "transformers.integrations.integration_utils",
    "trainer_seq2seq": "transformers.trainer_seq2seq",
}

_METHODS = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warning",
    logging.ERROR: "error",
    logging.CRITICAL: "critical",
}


def transformers_logger_name(name: str) -> str:
    """The transformers logger that logs what this project's logger ``name`` logs."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        found = _NAMES.get(".".join(parts[:end]))
        if found is not None:
            return found
    return "transformers"


class _ToTransformers(logging.Handler):
    """Re-logs each record with the matching transformers logger's method of its level."""

    #: Read by ``trainer_loop.reporting.log_setup``: a Trainer's ``log_level`` is set on this
    #: logger (transformers' library logger) instead of the project's.
    routes_to = "transformers"

    def emit(self, record: logging.LogRecord) -> None:
        target = logging.getLogger(transformers_logger_name(record.name))
        method = _METHODS.get(record.levelno)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let logging report it, as it would have
            self.handleError(record)
            return
        extra = {"exc_info": record.exc_info, "stack_info": record.stack_info}
        if method is None:
            target.log(record.levelno, message, **extra)
        else:
            getattr(target, method)(message, **extra)


_saved: dict[str, tuple[int, bool, list[logging.Handler]]] = {}


def route_to_transformers(names: Any) -> None:
    """Send the records of loggers ``names`` (and their children) to transformers' loggers.

    Each of these loggers lets every record through to the router (transformers' logger levels
    decide), stops passing records to the root logger (transformers' library logger does not
    either) and keeps its own handlers aside until :func:`stop_routing`.
    """
    for name in names:
        if name in _saved:
            continue
        log = logging.getLogger(name)
        _saved[name] = (log.level, log.propagate, list(log.handlers))
        log.handlers[:] = [_ToTransformers()]
        log.setLevel(1)
        log.propagate = False


def stop_routing() -> None:
    """Put the loggers :func:`route_to_transformers` changed back as they were."""
    for name, (level, propagate, handlers) in list(_saved.items()):
        log = logging.getLogger(name)
        log.handlers[:] = handlers
        log.setLevel(level)
        log.propagate = propagate
        del _saved[name]
